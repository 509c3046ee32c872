"""Celery application of the workers: `celery -A tasks:celery_app worker` (and `beat`).

Tasks are thin wrappers around `webapp.services`; each carries only ids (the lost-link and
password-reset tasks: the address typed in the form) and is safe to run twice.
"""
from webapp import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

from . import accounts, mail, mailings, registrations, reminders, seats, surveys  # noqa: E402,F401  (register the tasks)
