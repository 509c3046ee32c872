"""Who may open which back-office page.

- every page: a logged-in, active account (the blueprint's `before_request`); anonymous visitors
  are sent to the login page, then back (`next`, a back-office path only: no open redirect);
- event pages: `@with_event` on a route with `<int:event_id>` gives the view the event, or
  answers 404 unless the account is an admin or one of the event's organisers (`event_for`);
- admin pages: `@admin_required`, 404 for the other accounts.
"""
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db, login_manager
from ..models import Event
from ..services import accounts

login_manager.user_loader(accounts.user_for_session)


@login_manager.unauthorized_handler
def _to_login_page():
    """The login page, then back to the page asked for (for a GET; after a refused POST, the dashboard)."""
    flash(_("Connectez-vous pour accéder à cette page."), "info")
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("organiser.login", next=next_path))


def safe_next(target):
    """`target` when it is a back-office path of this site, else None."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target if parts.path.startswith(url_for("organiser.dashboard")) else None


def admin_required(view):
    """The view is for admins; other accounts get a 404."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def event_for(user, event_id):
    """The event, when `user` may see it (admin, or one of its organisers); otherwise 404, the
    same answer as for an event that does not exist."""
    event = db.session.get(Event, event_id)
    if event is None or not accounts.may_see_event(user, event):
        abort(404)
    return event


def with_event(view):
    """For routes with `<int:event_id>`: the view receives `event` instead (see `event_for`)."""
    @wraps(view)
    def wrapper(event_id, **kwargs):
        return view(event_for(current_user, event_id), **kwargs)

    return wrapper
