"""Reminder task: queue the mails of the reminders that are due (Celery beat, every minute)."""
from webapp.services import reminders
from webapp.services.dispatch import QUEUE_DUE_REMINDERS

from . import celery_app


@celery_app.task(name=QUEUE_DUE_REMINDERS)
def queue_due_reminders():
    reminders.queue_due_reminders()
