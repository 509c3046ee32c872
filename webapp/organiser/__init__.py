"""The back office, under /organiser/: accounts, the events each account may see, their journal.

Every page needs a logged-in, active account (`_require_login` below), except those listed in
PUBLIC_ENDPOINTS; event pages also need the right to see the event (`access.with_event`), admin
pages the admin role (`access.admin_required`). Both answer 404, never a hint that the page exists.
Views are split per concern: `auth` (log in and out, forgotten password), `account` (one's own
account), `events` (dashboard, event home), `event_admin` (create, edit, publish, copy, cancel an event;
its workshops), `reminders` (an event's reminders), `mailings` (its mailings to registered people),
`suppression_lists` (the unsubscribe and undeliverable lists), `questions` (its registration
questions), `surveys` (its survey), `checkin` (the day itself), `dashboards` (an event's figures and
charts, the network's view), `admin` (accounts, who runs which event).
"""
from flask import Blueprint, request
from flask_login import current_user

from ..extensions import login_manager

bp = Blueprint("organiser", __name__)

# What anonymous visitors may open: logging in and getting a new password.
PUBLIC_ENDPOINTS = {"organiser.login", "organiser.forgot_password", "organiser.reset_password"}


@bp.before_request
def _require_login():
    """Anonymous visitors (and disabled accounts, whose session no longer loads) go to the login page."""
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.after_request
def _not_stored_by_caches(response):
    """Back-office pages show personal data, and some carry a token: no cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


from . import (  # noqa: E402,F401
    access,
    account,
    admin,
    auth,
    checkin,
    dashboards,
    event_admin,
    events,
    mailings,
    mails,
    navigation,
    questions,
    registrations,
    reminders,
    suppression_lists,
    surveys,
)
