"""Calendar data: invites for a registration (METHOD:REQUEST / CANCEL) and public event files.

An invite has one VEVENT whose UID is the registration's `uid` at the host of BASE_URL: it
never changes, so calendar programs update or remove the same entry when SEQUENCE rises.
Times are written in the event's own zone, with its VTIMEZONE. Descriptions are plain text
(`rich_text.to_text`). Links point at BASE_URL
(`links.absolute_url`), whatever the request's Host header.
"""
from datetime import date
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress

from ..formatting import venue_line, workshop_line
from ..links import absolute_url
from ..models import BookingStatus, EventStatus
from ..models.base import utcnow
from ..rich_text import to_text

PRODID = "-//Emgav//Emgav//FR"


def uid_host():
    """Host part of every calendar UID (and Message-ID): the host of BASE_URL."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "emgav.localhost"


def build_invite(registration, method="REQUEST", sequence=None):
    """The .ics (bytes) sent to one participant; see DESIGN.md "Calendar invites".

    `method` is "REQUEST" (the person holds a seat) or "CANCEL" (registration or event
    cancelled); `sequence` defaults to the registration's current invite sequence.
    """
    event = registration.event
    cancelled = method == "CANCEL"
    vevent = _event_component(
        event,
        uid=f"{registration.uid}@{uid_host()}",
        sequence=registration.invite_sequence if sequence is None else sequence,
        description=_invite_description(registration, cancelled),
        status="CANCELLED" if cancelled else "CONFIRMED",
    )
    vevent.add("organizer", vCalAddress.new(f"mailto:{event.contact_email}", cn=event.title or "Emgav"))
    vevent.add("attendee", vCalAddress.new(
        f"mailto:{registration.email}", cn=registration.full_name,
        role="REQ-PARTICIPANT", partstat="ACCEPTED", rsvp=False,
    ))
    return _calendar(method, [vevent])


def build_event_calendar(events):
    """Public calendar (bytes, METHOD:PUBLISH) for one or several events: no attendees."""
    components = [
        _event_component(
            event,
            uid=f"event-{event.id}@{uid_host()}",
            sequence=event.revision,
            description=_public_description(event),
            status="CANCELLED" if event.status == EventStatus.cancelled else "CONFIRMED",
        )
        for event in events
    ]
    return _calendar("PUBLISH", components)


def _event_component(event, *, uid, sequence, description, status):
    location = venue_line(event.venue_name, event.venue_address)
    return Event.new(
        uid=uid,
        sequence=sequence,
        stamp=utcnow(),
        start=event.local_start,
        end=event.local_end,
        summary=event.title,
        description=description,
        location=location or event.online_url or None,
        url=absolute_url("public.event", slug=event.slug),
        status=status,
    )


def _calendar(method, components):
    calendar = Calendar.new(prodid=PRODID, method=method, subcomponents=components)
    # VTIMEZONE blocks covering the events' years only (the default range is 1970-2038).
    if components:
        years = [c.start.year for c in components] + [c.end.year for c in components]
        calendar.add_missing_timezones(first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1))
    return calendar.to_ical()


def _workshop_list(heading, workshops):
    return heading + "\n" + "\n".join(f"- {workshop_line(workshop)}" for workshop in workshops)


def _description_parts(event):
    """The event's description as plain text (it is written in a Markdown subset), if any."""
    text = to_text(event.description)
    return [text] if text else []


def _invite_description(registration, cancelled):
    event = registration.event
    parts = _description_parts(event)
    if cancelled:
        return "\n\n".join(parts)
    booked = [b.workshop for b in registration.bookings if b.status == BookingStatus.booked]
    if booked:
        parts.append(_workshop_list(_("Vos ateliers :"), booked))
    # Calendars are often shared: the public event page, never the personal manage link.
    parts.append(absolute_url("public.event", slug=event.slug))
    return "\n\n".join(parts)


def _public_description(event):
    parts = _description_parts(event)
    if event.workshops:
        parts.append(_workshop_list(_("Ateliers :"), event.workshops))
    parts.append(absolute_url("public.event", slug=event.slug))
    return "\n\n".join(parts)
