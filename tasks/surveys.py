"""Survey task: send the invitations and the reminders that are due (Celery beat, every minute)."""
from webapp.services import survey_invitations
from webapp.services.dispatch import QUEUE_DUE_SURVEY_MAILS

from . import celery_app


@celery_app.task(name=QUEUE_DUE_SURVEY_MAILS)
def queue_due_survey_mails():
    survey_invitations.queue_due_invitations()
    survey_invitations.queue_due_reminders()
