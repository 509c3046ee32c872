"""Organiser mailing tasks: queue the rows of a mailing sent now, and (Celery beat) of the mailings
whose moment has come; both safe to run twice."""
from webapp.services import mailings
from webapp.services.dispatch import FAN_OUT_MAILING, QUEUE_DUE_MAILINGS

from . import celery_app


@celery_app.task(name=FAN_OUT_MAILING)
def fan_out_mailing(mailing_id):
    mailings.fan_out(mailing_id)


@celery_app.task(name=QUEUE_DUE_MAILINGS)
def queue_due_mailings():
    mailings.queue_due_mailings()
