"""Calendar invites and public calendar files, parsed back with icalendar."""
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from webapp.extensions import db
from webapp.mail.rendering import rendering_context
from webapp.models import BookingStatus, Event, EventStatus, Registration, RegistrationStatus, WorkshopBooking
from webapp.models.base import utcnow
from webapp.services.calendar import build_event_calendar, build_invite

from .support import plain

# A summer day in Rennes: 09:00-17:30 local time is 07:00-15:30 UTC.
SUMMER_START = datetime(2031, 7, 3, 7, 0, tzinfo=UTC)
SUMMER_END = datetime(2031, 7, 3, 15, 30, tzinfo=UTC)


@pytest.fixture
def ctx(app):
    """What the mail worker has: BASE_URL links (http://emgav.test in the tests), French."""
    with app.app_context(), rendering_context("fr"):
        yield


@pytest.fixture
def event(ctx, make_event):
    workshops = [
        dict(key="agro", title="Réseau RIAA : agroécologie", starts_at=SUMMER_START + timedelta(hours=6),
             ends_at=SUMMER_START + timedelta(hours=7, minutes=30), room="Salle Vilaine"),
        dict(key="togo", title="Xylm–STADD : Bretagne et Togo", starts_at=SUMMER_START + timedelta(hours=6),
             ends_at=SUMMER_START + timedelta(hours=7, minutes=30), room="Salle Rance"),
    ]
    event_id = make_event(starts_at=SUMMER_START, ends_at=SUMMER_END, workshops=workshops,
                          description="Trois initiatives de coopération.")
    event = db.session.get(Event, event_id)
    db.session.commit()  # end the transaction: on SQLite it holds the write lock make_event needs
    return event


def add_registration(event, first_name="Anne", last_name="Le Goff", booked=(), waiting=()):
    registration = Registration(
        event=event, first_name=first_name, last_name=last_name, email="anne@example.org",
        actor_type="asi", language="fr", status=RegistrationStatus.confirmed, privacy_consent_at=utcnow(),
    )
    registration.bookings = (
        [WorkshopBooking(workshop=w, status=BookingStatus.booked) for w in booked]
        + [WorkshopBooking(workshop=w, status=BookingStatus.waiting) for w in waiting]
    )
    db.session.add(registration)
    db.session.commit()
    return registration


def parse(ics):
    calendar = Calendar.from_ical(ics)
    assert len(calendar.events) == len(calendar.walk("VEVENT"))
    return calendar


def test_request_invite_has_every_field(event):
    agro, togo = event.workshops
    registration = add_registration(event, booked=[agro], waiting=[togo])
    registration.revision = 2
    event.revision = 1
    db.session.commit()

    ics = build_invite(registration)
    assert b"\r\n" in ics and b"\n" not in ics.replace(b"\r\n", b"")  # RFC 5545 line ends
    calendar = parse(ics)
    assert calendar["METHOD"] == "REQUEST"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    [vevent] = calendar.events

    assert vevent["UID"] == f"{registration.uid}@emgav.test"
    assert vevent["SEQUENCE"] == 3  # event.revision + registration.revision
    assert vevent.stamp.tzinfo is not None and abs(vevent.stamp - utcnow()) < timedelta(minutes=5)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert vevent.start == SUMMER_START and vevent.end == SUMMER_END
    assert str(vevent.start.tzinfo) == "Europe/Paris"
    assert (vevent.start.hour, vevent.start.minute, vevent.end.hour, vevent.end.minute) == (9, 0, 17, 30)
    assert vevent["SUMMARY"] == event.title
    assert vevent["LOCATION"] == "Espace Anne de Bretagne, 15 rue Martenot, 35000 Rennes"
    assert vevent["URL"] == f"http://emgav.test/events/{event.slug}"
    assert vevent["STATUS"] == "CONFIRMED"

    description = plain(vevent["DESCRIPTION"])
    assert "Trois initiatives de coopération." in description
    assert "Réseau RIAA : agroécologie (de 15:00 à 16:30), salle : Salle Vilaine" in description
    assert "Xylm–STADD" not in description  # only workshops the person has a seat in
    # Calendars are often shared: the public event page, never the link that can cancel the registration.
    assert description.endswith(f"http://emgav.test/events/{event.slug}")
    assert "/manage/" not in description

    organizer = vevent["ORGANIZER"]
    assert str(organizer) == "mailto:contact@bretagne-solidaire.bzh"
    assert organizer.params["CN"] == event.title
    [attendee] = vevent.attendees
    assert str(attendee) == "mailto:anne@example.org"
    assert attendee.params["CN"] == "Anne Le Goff"
    assert attendee.params["RSVP"] == "FALSE"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"


def test_cancel_invite_keeps_the_uid_and_cancels(event):
    registration = add_registration(event)
    request = parse(build_invite(registration)).events[0]
    cancel = parse(build_invite(registration, method="CANCEL", sequence=7))

    assert cancel["METHOD"] == "CANCEL"
    [vevent] = cancel.events
    assert vevent["UID"] == request["UID"]
    assert vevent["SEQUENCE"] == 7
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent.start == SUMMER_START
    assert [str(a) for a in vevent.attendees] == ["mailto:anne@example.org"]
    assert "/manage/" not in vevent["DESCRIPTION"]


def test_uid_never_changes_while_sequence_follows_changes(event):
    agro, _ = event.workshops
    registration = add_registration(event)
    first = parse(build_invite(registration)).events[0]

    registration.first_name = "Annaig"
    registration.bookings.append(WorkshopBooking(workshop=agro, status=BookingStatus.booked))
    registration.revision += 1
    event.starts_at += timedelta(hours=1)
    event.revision += 1
    db.session.commit()
    second = parse(build_invite(registration)).events[0]

    assert second["UID"] == first["UID"]
    assert second["SEQUENCE"] == first["SEQUENCE"] + 2
    assert second.start == SUMMER_START + timedelta(hours=1)
    assert second.attendees[0].params["CN"] == "Annaig Le Goff"
    assert "Réseau RIAA" in second["DESCRIPTION"]


def test_winter_event_is_in_paris_winter_time(ctx, make_event):
    start = datetime(2031, 1, 15, 8, 0, tzinfo=UTC)
    event = db.session.get(Event, make_event(starts_at=start, ends_at=start + timedelta(hours=2)))
    vevent = parse(build_invite(add_registration(event))).events[0]
    assert (vevent.start.hour, vevent.start.utcoffset()) == (9, timedelta(hours=1))


def test_hostile_names_cannot_add_properties(event):
    event.title = "Journée\r\nMETHOD:PUBLISH\r\nATTENDEE:mailto:evil@example.com"
    registration = add_registration(
        event, first_name="Anne\r\nATTENDEE:mailto:evil@example.com", last_name='<script>alert("x")</script>;"',
    )
    ics = build_invite(registration)
    lines = ics.decode().split("\r\n")
    assert not any(line.startswith(("ATTENDEE:mailto:evil", "METHOD:PUBLISH")) for line in lines)

    calendar = parse(ics)
    assert calendar["METHOD"] == "REQUEST"
    [vevent] = calendar.events
    assert [str(a) for a in vevent.attendees] == ["mailto:anne@example.org"]
    assert vevent["SUMMARY"] == event.title.replace("\r\n", "\n")  # kept as text, escaped on the wire
    cn = vevent.attendees[0].params["CN"]
    assert cn.startswith("Anne") and cn.endswith('<script>alert("x")</script>;"')


def test_public_calendar_publishes_events_without_attendees(ctx, make_event, event):
    cancelled = db.session.get(Event, make_event(status=EventStatus.cancelled, title="Webinaire annulé"))
    add_registration(event)

    ics = build_event_calendar([event, cancelled])
    calendar = parse(ics)
    assert calendar["METHOD"] == "PUBLISH"
    assert {tz["TZID"] for tz in calendar.walk("VTIMEZONE")} == {"Europe/Paris"}
    by_summary = {vevent["SUMMARY"]: vevent for vevent in calendar.events}
    assert set(by_summary) == {event.title, "Webinaire annulé"}
    assert all("ATTENDEE" not in vevent for vevent in calendar.events)

    published = by_summary[event.title]
    assert published["STATUS"] == "CONFIRMED"
    assert published.start == SUMMER_START and str(published.start.tzinfo) == "Europe/Paris"
    assert published["URL"] == f"http://emgav.test/events/{event.slug}"
    assert "Réseau RIAA : agroécologie" in published["DESCRIPTION"]
    assert by_summary["Webinaire annulé"]["STATUS"] == "CANCELLED"

    # Stable UIDs: a calendar that subscribes to the feed updates the same entries.
    again = parse(build_event_calendar([event])).events[0]
    assert again["UID"] == published["UID"] == f"event-{event.id}@emgav.test"


def test_descriptions_are_plain_text_without_markup(event):
    """The description is written in a Markdown subset: calendars get it as clean plain text."""
    event.description = ("## Programme\n\n**Matin** : plénière, [le site](https://example.org).\n\n"
                         "- accueil\n- <b>ateliers</b>\n\n<script>alert(1)</script>")
    db.session.commit()
    expected = "Programme\n\nMatin : plénière, le site (https://example.org).\n\n- accueil\n- ateliers"
    invite = parse(build_invite(add_registration(event))).events[0]
    published = parse(build_event_calendar([event])).events[0]
    for description in (invite["DESCRIPTION"], published["DESCRIPTION"]):
        assert description.startswith(expected + "\n\n")
        assert not any(mark in description for mark in ("**", "##", "<", "[le site]", "alert"))
