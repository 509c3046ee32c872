"""The events of the back office: the dashboard, and each event's home page."""
from flask import render_template
from flask_login import current_user

from ..services import accounts, events, journal, registrations
from . import bp
from .access import with_event


@bp.get("/")
def dashboard():
    """The events this account may see, with their registrations counted by status."""
    visible = accounts.events_visible_to(current_user)
    counts = registrations.counts_by_status([event.id for event in visible])
    return render_template("organiser/dashboard.html", events=visible, counts=counts)


@bp.get("/events/<int:event_id>")
@with_event
def event_home(event):
    """An event's summary, its actions, the people who run it, and its journal."""
    counts = registrations.counts_by_status([event.id])[event.id]
    return render_template("organiser/event.html", event=event, counts=counts,
                           registered=events.active_registration_count(event), entries=journal.entries(event))
