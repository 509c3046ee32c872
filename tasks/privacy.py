"""Personal-data task: anonymise and delete what has passed its retention period (Celery beat, hourly)."""
from webapp.services import privacy
from webapp.services.dispatch import APPLY_RETENTION

from . import celery_app


@celery_app.task(name=APPLY_RETENTION)
def apply_retention():
    privacy.apply_retention()
