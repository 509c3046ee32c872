"""Automatic reminders: each event has reminder offsets (« 7 days before », « 1 day before »), each
a `Reminder` row whose moment is `days_before` days before the event's start date, at 09:00 on the
event's clock (DST-safe: the wall-clock time in the event's zone, whatever its UTC offset).

- The rules of events (`services.events`) call `schedule` after every change of an event that is
  not cancelled, so a moved event moves its pending reminders. A reminder not sent yet whose
  moment has passed by more than MOVED_GRACE at that point (the event was moved, or the reminder
  added or switched on, too late) is skipped: it is never sent late. A reminder already sent stays
  sent.
- The beat task runs `queue_due_reminders` every minute: each due reminder of a published event
  with reminders on is marked sent by one conditional UPDATE (of two runs at once, one wins), in
  the transaction that queues one outbox row per person confirmed at its moment (people confirmed
  later do not get it), de-duplicated by `reminder:<reminder id>:<moment>:<registration id>`.
  Running it twice, or in two beat processes, queues each mail once.
- At sending time, the mail kind (`event_reminder`, `MailKind.withdrawn_if`) withdraws a reminder
  whose registration or event was cancelled meanwhile, or whose event has started: the worker
  cancels its outbox row instead of sending it.
"""
import logging
from datetime import UTC, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ..database import update_where
from ..extensions import db
from ..mail.outbox import queue_registration_mail
from ..models import Event, EventStatus, Registration, RegistrationStatus, Reminder, ReminderStatus
from ..models.base import utcnow

log = logging.getLogger(__name__)

DEFAULT_DAYS = (7, 1)
MAX_DAYS_BEFORE = 365
SEND_AT = time(9, 0)  # on the event's clock
# How late a reminder may still be when its moment is set (the event moved at 09:20 so that a
# reminder falls on 09:00 today: it is sent at once); later than that, it is skipped.
MOVED_GRACE = timedelta(hours=1)
REMINDER_MAIL = "event_reminder"


def moment(event, days_before):
    """When the reminder `days_before` days before `event` is due (UTC)."""
    day = event.local_start.date() - timedelta(days=days_before)
    return datetime.combine(day, SEND_AT, tzinfo=event.tz).astimezone(UTC)


def offset_problems(days):
    """What is wrong with a list of offsets (days before the event): each a whole number from 1 to
    MAX_DAYS_BEFORE, each once. Returns the list of problems."""
    errors = []
    if not isinstance(days, list | tuple):
        return [_("Les rappels sont une liste de nombres de jours, par exemple [7, 1].")]
    for value in days:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS_BEFORE:
            errors.append(_("Un rappel se donne en jours avant l'événement, de 1 à %(max)s, pas « %(value)s ».",
                            max=MAX_DAYS_BEFORE, value=value))
    if not errors and len(set(days)) != len(days):
        errors.append(_("Deux rappels ont le même nombre de jours."))
    return errors


def schedule(event, days=None, now=None):
    """Set the offsets of `event` to `days` (when given) and the moment of each reminder not sent
    yet; one whose moment passed more than MOVED_GRACE ago is skipped. Called by the rules of
    events after each change; the caller commits."""
    now = now or utcnow()
    if days is not None:
        for reminder in [r for r in event.reminders if r.days_before not in days]:
            event.reminders.remove(reminder)
        existing = {r.days_before for r in event.reminders}
        for days_before in sorted(set(days) - existing, reverse=True):
            event.reminders.append(Reminder(days_before=days_before, due_at=moment(event, days_before)))
    for reminder in event.reminders:
        if reminder.status == ReminderStatus.sent:
            continue
        reminder.due_at = moment(event, reminder.days_before)
        late = reminder.due_at < now - MOVED_GRACE
        reminder.status = ReminderStatus.skipped if late else ReminderStatus.planned


def due_reminders(now):
    """The reminders to send at `now`: planned, moment reached, of a published event whose
    reminders are on."""
    return db.session.scalars(
        select(Reminder).join(Reminder.event)
        .where(Reminder.status == ReminderStatus.planned, Reminder.due_at <= now,
               Event.status == EventStatus.published, Event.reminders_enabled.is_(True))
        .order_by(Reminder.due_at, Reminder.id)
    ).all()


def queue_due_reminders(now=None):
    """Queue the mails of every due reminder (the beat task); returns how many were queued.
    Safe to run twice, or in two processes at once. Commits each reminder on its own."""
    now = now or utcnow()
    due = [(reminder.id, reminder.due_at) for reminder in due_reminders(now)]
    db.session.rollback()
    return sum(_send(reminder_id, due_at, now) for reminder_id, due_at in due)


def _send(reminder_id, due_at, now):
    """Mark the reminder sent at `due_at` (one conditional UPDATE: if another run or a move
    changed it meanwhile, nothing happens) and queue its mails in the same transaction."""
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None:  # removed by an organiser meanwhile
        return 0
    event = reminder.event
    if now >= event.starts_at:  # the beat did not run before the event: too late to remind
        update_where(Reminder, Reminder.id == reminder_id, Reminder.status == ReminderStatus.planned,
                     Reminder.due_at == due_at, status=ReminderStatus.skipped)
        db.session.commit()
        return 0
    if not update_where(Reminder, Reminder.id == reminder_id, Reminder.status == ReminderStatus.planned,
                        Reminder.due_at == due_at, status=ReminderStatus.sent, sent_at=now):
        db.session.rollback()
        return 0
    people = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.confirmed,
            Registration.confirmed_at <= due_at)
        .order_by(Registration.id)
    ).all()
    update_where(Reminder, Reminder.id == reminder_id, recipients=len(people))
    for registration in people:
        queue_registration_mail(REMINDER_MAIL, registration,
                                f"reminder:{reminder_id}:{due_at.isoformat()}:{registration.id}",
                                reminder_id=reminder_id)
    db.session.commit()
    log.info("reminder %s of event %s: %d mail(s) queued", reminder_id, event.id, len(people))
    return len(people)
