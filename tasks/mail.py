"""Mail delivery tasks: deliver one outbox row or a batch of them, sweep the outbox. After a
mail, the erasure of its person's data completes if it waited for that last mail."""
from webapp.mail import delivery, sweeper
from webapp.services import privacy
from webapp.services.dispatch import DELIVER_MAIL, DELIVER_MAIL_BATCH, SWEEP_OUTBOX

from . import celery_app


@celery_app.task(name=DELIVER_MAIL)
def deliver_mail(outbox_id):
    settled = delivery.deliver(outbox_id, with_waiting=delivery.TRANSACTIONAL_WAITING)
    privacy.complete_erasures_after_mail(settled)


@celery_app.task(name=DELIVER_MAIL_BATCH)
def deliver_mail_batch(outbox_ids):
    delivery.deliver_batch(outbox_ids)
    privacy.complete_erasures_after_mail(outbox_ids)


@celery_app.task(name=SWEEP_OUTBOX)
def sweep_outbox():
    sweeper.sweep_outbox()
