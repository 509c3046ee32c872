"""Automatic reminders: their moments (09:00 on the event's clock, across DST), the beat task run
twice or in several threads at once (SQLite and PostgreSQL), moved and cancelled events, cancelled
registrations, people confirmed too late, the mail itself, and the end-to-end path through the
real worker to the SMTP server. Time travels (time_machine); nothing sleeps."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.mail import delivery
from webapp.mail.message import build_message
from webapp.models import (
    Event,
    EventStatus,
    OutboxMail,
    OutboxStatus,
    Registration,
    Reminder,
    ReminderStatus,
    SeatOffer,
)
from webapp.models.base import utcnow
from webapp.services import event_files, events, reminders, seats, tokens
from webapp.services.registrations import confirm_address
from webapp.services.events import EventRuleError
from webapp.services.registrations import cancel_registration

from . import support
from .support import invite_of, mail_text, person, plain_list, text_and_html
from .test_concurrency import run_together, target  # noqa: F401  (the fixture: SQLite and PostgreSQL)

PARIS = ZoneInfo("Europe/Paris")


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


# Wednesday 12 June 2030, 09:30 in Paris: reminders on Wednesday 5 June and Tuesday 11 June at 09:00.
START = paris(2030, 6, 12, 9, 30)
SEVEN_DAYS = paris(2030, 6, 5, 9, 0)
ONE_DAY = paris(2030, 6, 11, 9, 0)


def at(moment):
    """Travel to `moment` and stay there (the clock does not tick)."""
    return time_machine.travel(moment, tick=False)


def new_event(start=START, slug="journee", **values):
    """A published event created through the rules (so with the default reminders), on 1 June 2030."""
    values = dict(title="Journée régionale", starts_at=start, ends_at=start + timedelta(hours=8),
                  contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published,
                  venue_name="Espace Anne de Bretagne", practical_info="Apportez **votre repas**.") | values
    with at(paris(2030, 6, 1, 12, 0)):
        return events.create_event(slug=slug, **values)


def reminder(event, days_before):
    db.session.expire_all()
    return db.session.scalars(select(Reminder).where(Reminder.event_id == event.id,
                                                     Reminder.days_before == days_before)).one()


def reminder_rows():
    return db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "event_reminder")
                              .order_by(OutboxMail.id)).all()


def people_at(moment, event, *names, **fields):
    with at(moment):
        return [person(event, name, **fields) for name in names]


# --- Moments ---

@pytest.mark.parametrize(("start", "days", "expected_utc"), [
    # 31 March 2030: summer time starts in Paris (02:00 → 03:00).
    (paris(2030, 3, 31, 10, 0), 1, datetime(2030, 3, 30, 8, 0, tzinfo=UTC)),   # winter: UTC+1
    (paris(2030, 4, 2, 10, 0), 1, datetime(2030, 4, 1, 7, 0, tzinfo=UTC)),     # summer: UTC+2
    (paris(2030, 4, 2, 10, 0), 7, datetime(2030, 3, 26, 8, 0, tzinfo=UTC)),    # the week before: winter
    (paris(2030, 10, 28, 8, 0), 1, datetime(2030, 10, 27, 8, 0, tzinfo=UTC)),  # 27 October: back to winter
    # Late in the evening, the start's date is the one on the event's clock, not UTC's.
    (paris(2030, 6, 13, 0, 30), 1, datetime(2030, 6, 12, 7, 0, tzinfo=UTC)),
])
def test_a_reminder_is_due_at_nine_on_the_event_clock_whatever_the_daylight_saving_time(
        app_ctx, start, days, expected_utc):
    event = Event(starts_at=start, ends_at=start + timedelta(hours=2), timezone="Europe/Paris")
    assert reminders.moment(event, days) == expected_utc
    assert reminders.moment(event, days).astimezone(PARIS).hour == 9


def test_an_event_gets_the_default_reminders_at_nine_in_its_own_zone(app_ctx):
    event = new_event(start=datetime(2030, 6, 12, 14, 0, tzinfo=ZoneInfo("America/Cayenne")), timezone="America/Cayenne")
    assert [(r.days_before, r.due_at, r.status) for r in event.reminders] == [
        (7, datetime(2030, 6, 5, 12, 0, tzinfo=UTC), ReminderStatus.planned),  # 09:00 in Cayenne (UTC-3)
        (1, datetime(2030, 6, 11, 12, 0, tzinfo=UTC), ReminderStatus.planned),
    ]


# --- The beat task ---

def test_a_reminder_becomes_due_and_two_runs_queue_one_mail_per_confirmed_person(app_ctx):
    event = new_event()
    anne, bleuenn = people_at(paris(2030, 6, 2, 10, 0), event, "Anne", "Bleuenn")
    db.session.get(Registration, bleuenn.id).language = "en"
    db.session.commit()

    with at(SEVEN_DAYS - timedelta(seconds=1)):
        assert reminders.due_reminders(utcnow()) == []
        assert reminders.queue_due_reminders() == 0
    with at(SEVEN_DAYS + timedelta(seconds=20)):
        assert reminders.queue_due_reminders() == 2
        assert reminders.queue_due_reminders() == 0  # the second run finds nothing to do

    rows = reminder_rows()
    seven = reminder(event, 7)
    moment = SEVEN_DAYS.astimezone(UTC).isoformat()
    assert [(row.recipient, row.language, row.dedup_key) for row in rows] == [
        ("anne@example.org", "fr", f"reminder:{seven.id}:{moment}:{anne.id}"),
        ("bleuenn@example.org", "en", f"reminder:{seven.id}:{moment}:{bleuenn.id}"),
    ]
    assert (seven.status, seven.recipients) == (ReminderStatus.sent, 2)
    assert reminder(event, 1).status == ReminderStatus.planned
    with at(ONE_DAY):
        assert reminders.queue_due_reminders() == 2
    assert len(reminder_rows()) == 4


def test_only_people_holding_a_seat_since_before_the_moment_are_reminded(app_ctx):
    event = new_event(capacity=3)
    anne, yann, corentin, erwan, deniz = people_at(paris(2030, 6, 2, 10, 0), event, "Anne", "Yann", "Corentin",
                                                   "Erwan", "Deniz", confirm=False)
    with at(paris(2030, 6, 3, 10, 0)):
        for registration in (anne, corentin, deniz, erwan):  # Erwan comes fourth: the waiting list
            confirm_address(tokens.confirm_token(registration))
        cancel_registration(db.session.get(Registration, corentin.id))
    with at(SEVEN_DAYS + timedelta(seconds=10)):  # a seat for Erwan, just after the moment
        seats.offer_free_seats(event.id)
        seats.accept_offer(db.session.scalars(select(SeatOffer)).one())
    assert db.session.get(Registration, erwan.id).status == "confirmed"

    with at(SEVEN_DAYS + timedelta(seconds=30)):
        assert reminders.queue_due_reminders() == 2
    assert sorted(row.recipient for row in reminder_rows()) == ["anne@example.org", "deniz@example.org"]
    with at(ONE_DAY):  # the next reminder: Erwan too
        assert reminders.queue_due_reminders() == 3
