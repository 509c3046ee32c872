"""Back-office account tasks: mail a "forgotten password" link."""
from webapp.services import accounts
from webapp.services.dispatch import SEND_PASSWORD_RESET

from . import celery_app


@celery_app.task(name=SEND_PASSWORD_RESET)
def send_password_reset(email, language):
    accounts.request_password_reset(email, language)
