"""Registration tasks: mail a person the links of their registrations."""
from webapp.services import registrations
from webapp.services.dispatch import SEND_LOST_LINKS

from . import celery_app


@celery_app.task(name=SEND_LOST_LINKS)
def send_lost_links(email):
    registrations.send_lost_links(email)
