"""Automatic reminders: their moments (09:00 on the event's clock, across DST), the beat task run
twice or in several threads at once (SQLite and PostgreSQL), moved and cancelled events, cancelled
registrations, people confirmed too late, the mail itself, and the end-to-end path through the
real worker to the SMTP server. Time travels (time_machine); nothing sleeps."""
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
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
from webapp.services.events import EventRuleError
from webapp.services.registrations import cancel_registration, confirm_address

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
    cayenne = ZoneInfo("America/Cayenne")
    event = new_event(start=datetime(2030, 6, 12, 14, 0, tzinfo=cayenne), timezone="America/Cayenne")
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


def test_two_beat_processes_at_once_queue_each_reminder_once(target, monkeypatch):  # noqa: F811
    """Four runs released together (own sessions and connections), each finding the reminder due
    before any of them goes on: the conditional UPDATE lets one of them queue its mails; the others
    find it sent and queue nothing."""
    _env, app = target
    found = threading.Barrier(4)
    due_reminders = reminders.due_reminders

    def due_then_wait(now):
        due = [(reminder.id, reminder.due_at) for reminder in due_reminders(now)]
        db.session.rollback()  # SQLite: release the write lock the others need to look
        found.wait()
        return [SimpleNamespace(id=reminder_id, due_at=due_at) for reminder_id, due_at in due]

    monkeypatch.setattr(reminders, "due_reminders", due_then_wait)
    with app.test_request_context():
        event = new_event()
        event_id = event.id
        people_at(paris(2030, 6, 2, 10, 0), event, "Anne", "Bleuenn", "Corentin")
    with at(SEVEN_DAYS + timedelta(seconds=5)):
        queued = run_together(app, [reminders.queue_due_reminders] * 4)
    assert sorted(queued) == [0, 0, 0, 3], queued
    with app.app_context():
        assert len(reminder_rows()) == 3
        assert reminder(db.session.get(Event, event_id), 7).recipients == 3


# --- Moves, cancellations, switching off ---

def test_moving_the_event_moves_the_pending_reminders_and_the_invite_follows(app_ctx):
    event = new_event()
    people_at(paris(2030, 6, 2, 10, 0), event, "Anne")
    with at(SEVEN_DAYS + timedelta(minutes=1)):
        assert reminders.queue_due_reminders() == 1
    with at(paris(2030, 6, 6, 15, 0)):  # a week later
        events.move_event(event, starts_at=START + timedelta(days=7), ends_at=START + timedelta(days=7, hours=8))
    seven, one = reminder(event, 7), reminder(event, 1)
    assert (seven.status, seven.due_at) == (ReminderStatus.sent, SEVEN_DAYS)  # sent stays sent
    assert (one.status, one.due_at) == (ReminderStatus.planned, ONE_DAY + timedelta(days=7))

    with at(ONE_DAY + timedelta(minutes=1)):
        assert reminders.queue_due_reminders() == 0  # the old moment: nothing
    with at(ONE_DAY + timedelta(days=7)):
        assert reminders.queue_due_reminders() == 1
        [_first, row] = reminder_rows()
        method, vevent = invite_of(build_message(row))
    registration = row.registration
    assert (method, str(vevent["UID"])) == ("REQUEST", f"{registration.uid}@emgav.test")
    assert vevent["SEQUENCE"] == registration.invite_sequence == 1  # the current one, after the move
    assert vevent.start == START + timedelta(days=7)


def test_a_reminder_whose_moment_passed_when_the_event_moved_is_not_sent_late(app_ctx):
    event = new_event()
    people_at(paris(2030, 6, 2, 10, 0), event, "Anne")
    with at(paris(2030, 6, 4, 11, 0)):  # two days earlier: the week-before moment was on 3 June
        events.move_event(event, starts_at=START - timedelta(days=2), ends_at=START - timedelta(days=2, hours=-8))
    assert reminder(event, 7).status == ReminderStatus.skipped
    assert reminder(event, 1).due_at == ONE_DAY - timedelta(days=2)
    with at(paris(2030, 6, 4, 11, 1)):
        assert reminders.queue_due_reminders() == 0
    with at(paris(2030, 6, 9, 9, 0)):
        assert reminders.queue_due_reminders() == 1
    assert reminder(event, 7).status == ReminderStatus.skipped


def test_within_the_grace_window_a_moved_reminder_is_still_sent(app_ctx):
    event = new_event()
    people_at(paris(2030, 6, 2, 10, 0), event, "Anne")
    moved_at = paris(2030, 6, 4, 9, 0) + reminders.MOVED_GRACE - timedelta(minutes=1)
    with at(moved_at):  # a day earlier, a few minutes after the new moment (4 June, 09:00)
        events.move_event(event, starts_at=START - timedelta(days=1), ends_at=START - timedelta(days=1, hours=-8))
        assert reminder(event, 7).status == ReminderStatus.planned
        assert reminders.queue_due_reminders() == 1


def test_cancelling_the_event_stops_its_reminders_even_queued_ones(app_ctx, smtp_server):
    event = new_event()
    people_at(paris(2030, 6, 2, 10, 0), event, "Anne")
    with at(SEVEN_DAYS):
        reminders.queue_due_reminders()
        [row] = reminder_rows()
        events.cancel_event(event)  # before the worker sent it
        delivery.deliver(row.id)
        db.session.refresh(row)
    assert (row.status, row.last_error) == (OutboxStatus.cancelled, "the registration or the event is cancelled")
    assert [m["X-Emgav-Kind"] for m in smtp_server.messages] == []
    with at(ONE_DAY):
        assert reminders.due_reminders(utcnow()) == [] and reminders.queue_due_reminders() == 0


def test_cancelling_a_registration_stops_its_reminder(app_ctx, smtp_server):
    event = new_event()
    anne, bleuenn = people_at(paris(2030, 6, 2, 10, 0), event, "Anne", "Bleuenn")
    with at(SEVEN_DAYS):
        reminders.queue_due_reminders()
        cancel_registration(db.session.get(Registration, anne.id))
        for row in reminder_rows():
            delivery.deliver(row.id)
    db.session.expire_all()
    assert {(row.recipient, row.status) for row in reminder_rows()} == {
        ("anne@example.org", OutboxStatus.cancelled), ("bleuenn@example.org", OutboxStatus.sent)}
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == ["bleuenn@example.org"]
    with at(ONE_DAY):
        assert reminders.queue_due_reminders() == 1  # Bleuenn only


def test_reminders_switched_off_are_not_sent_and_do_not_come_back_late(app_ctx):
    event = new_event()
    people_at(paris(2030, 6, 2, 10, 0), event, "Anne")
    with at(paris(2030, 6, 3, 10, 0)):
        events.update_event(event, reminders_enabled=False)
    with at(SEVEN_DAYS + timedelta(minutes=1)):
        assert reminders.queue_due_reminders() == 0
    with at(paris(2030, 6, 7, 10, 0)):  # on again: the week-before moment is long gone
        events.update_event(event, reminders_enabled=True)
    assert (reminder(event, 7).status, reminder(event, 1).status) == (ReminderStatus.skipped, ReminderStatus.planned)
    with at(ONE_DAY):
        assert reminders.queue_due_reminders() == 1


def test_the_offsets_follow_the_rules_of_events(app_ctx):
    event = new_event()
    with at(paris(2030, 6, 2, 10, 0)):
        events.update_event(event, reminders=[14, 1, 3])
    db.session.expire_all()
    assert [(r.days_before, r.status) for r in event.reminders] == [
        (14, ReminderStatus.skipped), (3, ReminderStatus.planned), (1, ReminderStatus.planned)]
    with pytest.raises(EventRuleError) as refused:
        events.update_event(event, reminders=[0, 3, 3, 400])
    assert plain_list(refused.value.errors) == [
        "Un rappel se donne en jours avant l'événement, de 1 à 365, pas « 0 ».",
        "Un rappel se donne en jours avant l'événement, de 1 à 365, pas « 400 ».",
    ]
    with pytest.raises(EventRuleError, match="même nombre de jours"):
        events.update_event(event, reminders=[3, 3])
    db.session.expire_all()
    assert [r.days_before for r in event.reminders] == [14, 3, 1]

    with at(paris(2030, 6, 2, 10, 0)):
        next_year = START + timedelta(days=364)
        copy = events.copy_event(event, slug="journee-2031", title="Journée 2031", starts_at=next_year,
                                 ends_at=next_year + timedelta(hours=8))
    assert [(r.days_before, r.status) for r in copy.reminders] == [(14, ReminderStatus.planned),
                                                                   (3, ReminderStatus.planned),
                                                                   (1, ReminderStatus.planned)]
    assert copy.practical_info == "Apportez **votre repas**." and copy.reminders_enabled


def test_event_files_set_the_reminders_and_the_practical_information(app_ctx):
    data = {"slug": "journee-toml", "title": "Journée", "starts_at": "2030-06-12T09:30:00",
            "ends_at": "2030-06-12T17:30:00", "contact_email": "contact@bretagne-solidaire.bzh",
            "practical_info": "Salle B, premier étage."}
    with at(paris(2030, 6, 1, 12, 0)):
        event, created = event_files.import_event(data)
        assert created and [r.days_before for r in event.reminders] == [7, 1]  # the defaults
        assert event.practical_info == "Salle B, premier étage."
        event_files.import_event(dict(data, reminders=[3]))
        db.session.expire_all()
        assert [r.days_before for r in event.reminders] == [3]
        event_files.import_event(data)  # left out: unchanged
        db.session.expire_all()
        assert [r.days_before for r in event.reminders] == [3]
        event_files.import_event(dict(data, reminders=[]))  # none
        db.session.expire_all()
        assert event.reminders == []
        with pytest.raises(event_files.EventFileError) as refused:
            event_files.import_event(dict(data, reminders=["7"]))
    assert plain_list(refused.value.errors) == ["Un rappel se donne en jours avant l'événement, de 1 à 365, pas « 7 »."]


# --- The mail ---

def test_the_reminder_mail_in_each_language_with_workshops_practical_information_and_invite(app_ctx, smtp_server):
    workshop = dict(key="riaa", title="Réseau RIAA", starts_at=START + timedelta(hours=5),
                    ends_at=START + timedelta(hours=6), room="Salle 1")
    event = new_event(workshops=[workshop])
    with at(paris(2030, 6, 2, 10, 0)):
        person(event, "Anne", workshops=event.workshops)
        person(event, "Bleuenn", language="en")
    with at(SEVEN_DAYS):
        reminders.queue_due_reminders()
        for row in reminder_rows():
            delivery.deliver(row.id)
    [french] = smtp_server.wait_for("anne@example.org", kind="event_reminder")
    [english] = smtp_server.wait_for("bleuenn@example.org", kind="event_reminder")

    assert support.plain(french["Subject"]) == "Rappel : Journée régionale" and french["Content-Language"] == "fr"
    text, html = text_and_html(french)
    text = text.replace("\r\n", "\n")
    assert "L'événement a lieu dans 7 jours ; votre place est réservée :" in text
    assert "mercredi 12 juin 2030, de 09:30 à 17:30 (heure de Paris)" in text
    assert "Vos ateliers :\n- Réseau RIAA (de 14:30 à 15:30), salle : Salle 1" in text
    assert "Informations pratiques :\n\nApportez votre repas." in text
    assert "Apportez <strong>votre repas</strong>." in html
    assert "http://emgav.test/manage/" in text
    method, vevent = invite_of(french)
    registration = db.session.scalars(select(Registration).filter_by(email="anne@example.org")).one()
    assert (method, str(vevent["UID"]), vevent["SEQUENCE"]) == ("REQUEST", f"{registration.uid}@emgav.test", 0)

    assert english["Content-Language"] == "en"
    text = mail_text(english).replace("\r\n", "\n")
    assert english["Subject"] == "Reminder: Journée régionale"
    assert "The event takes place in 7 days; your seat is booked:" in text
    assert "Wednesday, June 12, 2030" in text and "Practical information:" in text
    assert invite_of(english)[0] == "REQUEST"
    with at(ONE_DAY):
        reminders.queue_due_reminders()
        delivery.deliver(reminder_rows()[-1].id)
    [tomorrow] = smtp_server.wait_for("bleuenn@example.org", count=2, kind="event_reminder")[1:]
    assert "The event takes place tomorrow; your seat is booked:" in mail_text(tomorrow)


# --- End to end: the real worker, the SMTP server ---

def test_a_due_reminder_reaches_each_confirmed_person_once_through_the_worker(app, worker, smtp_server):
    """Set up in the past (time travel back), so that the reminder is due now for the worker, which
    lives in real time: the beat task is run twice here (and the worker's own beat may run it too);
    each person holding a seat receives one reminder with the invite at its current SEQUENCE."""
    now = utcnow().replace(microsecond=0)
    start = now + timedelta(hours=2)  # the 1-day reminder was due yesterday (or the day before) at 09:00
    with app.test_request_context():
        with time_machine.travel(now - timedelta(days=3), tick=True):
            event = events.create_event(slug="journee-e2e", title="Journée régionale", starts_at=start,
                                        ends_at=start + timedelta(hours=6), contact_email="contact@example.org",
                                        status=EventStatus.published, reminders=[1])
            anne = person(event, "Anne")
            bleuenn = person(event, "Bleuenn", language="en")
            corentin = person(event, "Corentin")
            person(event, "Yann", confirm=False)
            cancel_registration(db.session.get(Registration, corentin.id))
            event = db.session.get(Event, event.id)
            events.move_event(event, starts_at=start - timedelta(minutes=30), ends_at=start + timedelta(hours=6))
        event_id, seated = event.id, {anne.id: "anne@example.org", bleuenn.id: "bleuenn@example.org"}
        runs = [reminders.queue_due_reminders(), reminders.queue_due_reminders()]
        assert sum(runs) <= 2 and 0 in runs

    for address in seated.values():
        smtp_server.wait_for(address, kind="event_reminder")
    support.wait_until_all_mail_sent(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.kind == "event_reminder")) == 2
        assert reminder(db.session.get(Event, event_id), 1).recipients == 2
        for registration_id, address in seated.items():
            [mail] = [m for m in smtp_server.to(address) if m["X-Emgav-Kind"] == "event_reminder"]
            method, vevent = invite_of(mail)
            registration = db.session.get(Registration, registration_id)
            assert (method, str(vevent["UID"])) == ("REQUEST", f"{registration.uid}@emgav.test")
            assert vevent["SEQUENCE"] == registration.invite_sequence == 1
    kinds = {(str(m["To"].addresses[0].addr_spec), m["X-Emgav-Kind"]) for m in smtp_server.messages}
    assert ("corentin@example.org", "event_reminder") not in kinds
    assert ("yann@example.org", "event_reminder") not in kinds
