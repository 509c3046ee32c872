"""Mail delivery tasks: deliver one outbox row, sweep the outbox."""
from webapp.services import mailing
from webapp.services.dispatch import DELIVER_MAIL, SWEEP_OUTBOX

from . import celery_app


@celery_app.task(name=DELIVER_MAIL)
def deliver_mail(outbox_id):
    mailing.deliver(outbox_id)


@celery_app.task(name=SWEEP_OUTBOX)
def sweep_outbox():
    mailing.sweep_outbox()
