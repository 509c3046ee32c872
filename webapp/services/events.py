"""The rules of events, whoever changes them: the import of event files (`event_files`), the
back office.

Plain functions taking plain values: `create_event`, `update_event` (any columns, and the whole
list of workshops at once), the narrower `publish_event`, `unpublish_event`, `move_event`,
`change_capacity` and `cancel_event`, and `copy_event` (next year's edition). Each checks every
rule before it changes anything and raises EventRuleError listing all the problems (French,
translatable messages), with nothing changed. Otherwise it makes the change and its effects on
the people registered:

- a new start, end, venue name or address of an event that is not cancelled raises its
  revision and sends an updated invite to every person holding a seat (`notify_event_changed`);
- a cancellation withdraws the open offers and sends every active registration the
  cancellation (with the CANCEL invite to seat holders);
- removing a workshop that people booked is refused unless the caller confirms it explicitly
  (`remove_booked_workshops`: the back office after its confirmation page, the import of a file
  with its command-line option); then each active booking ends (an open offer for it is
  withdrawn) and each person gets a mail that names the workshop, with an updated invite for
  those who hold a seat (`_remove_workshop`). The workshop row is deleted with its bookings:
  the journal and each person's mails keep the trace;
- after any change of an event that is not cancelled, a task offers the free seats to the
  people waiting (a raised capacity, a reopened registration window or a new publication may
  have freed some; the task does nothing otherwise).
- after any change of an event that is not cancelled, its reminders not sent yet follow its start
  (`reminders.schedule`): a moved event moves them, and one whose new moment has passed is skipped.

Transactions: each of these functions is one operation and commits (after an EventRuleError it
rolls back, which releases the locks). `notify_event_changed`, an effect inside an operation,
leaves the commit to its caller.
"""
import re

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..mail.outbox import queue_registration_mail
from ..models import (
    BookingStatus,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    Workshop,
    WorkshopBooking,
)
from ..models.registrations import ACTIVE_STATUSES
from . import questions as registration_questions
from . import reminders as reminder_rules
from . import seats
from .dispatch import OFFER_FREE_SEATS, enqueue_after_commit

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Columns the rules change. The slug, the event's address, is only given at creation.
EVENT_COLUMNS = (
    "title", "description", "content_language", "status", "timezone", "starts_at", "ends_at", "venue_name",
    "venue_address", "online_url", "capacity", "registration_opens_at", "registration_closes_at", "contact_email",
    "approval_required", "practical_info", "reminders_enabled",
)
WORKSHOP_COLUMNS = ("key", "title", "description", "starts_at", "ends_at", "room", "capacity")
# A change of one of these sends an updated invite to the people who hold a seat.
INVITE_FIELDS = ("starts_at", "ends_at", "venue_name", "venue_address")


class EventRuleError(Exception):
    """The change breaks the rules of events; `errors` lists every problem, in the user's language."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def workshop_label(key, number=None):
    """How messages name a workshop: by its key, or else by its place in the list."""
    return _("l'atelier « %(key)s »", key=key) if key else _("l'atelier n° %(number)s", number=number)


def event_problems(values, workshops, reminders=None):
    """The rules that need no database, on an event's values and its workshops' (dicts; a
    missing or None value is not checked): slug and keys, times in order, workshops during the
    event, no two workshops with the same key, the language of its texts one of the app's, the
    reminder offsets (days before, when given). Returns the list of problems."""
    errors = [] if reminders is None else reminder_rules.offset_problems(reminders)
    if values.get("slug") and not SLUG_PATTERN.match(values["slug"]):
        errors.append(_("« slug » ne peut contenir que des minuscules sans accent, des chiffres et des tirets "
                        "(par exemple journee-ess-2027), pas « %(slug)s ».", slug=values["slug"]))
    languages = current_app.config["LANGUAGES"]
    if values.get("content_language") is not None and values["content_language"] not in languages:
        errors.append(_("La langue des textes de l'événement doit être %(choices)s, pas « %(value)s ».",
                        choices=", ".join(languages), value=values["content_language"]))
    _check_order(values, "starts_at", "ends_at", _("l'événement"), errors)
    _check_order(values, "registration_opens_at", "registration_closes_at", _("l'événement"), errors)
    keys = set()
    for number, workshop in enumerate(workshops, start=1):
        key = workshop.get("key")
        label = workshop_label(key, number)
        if key and not SLUG_PATTERN.match(key):
            errors.append(_("La clé de %(label)s ne peut contenir que des minuscules sans accent, des chiffres "
                            "et des tirets.", label=label))
        _check_order(workshop, "starts_at", "ends_at", label, errors)
        if key and key in keys:
            errors.append(_("Deux ateliers ont la même clé « %(key)s ».", key=key))
        keys.add(key)
        times = (workshop.get("starts_at"), workshop.get("ends_at"), values.get("starts_at"), values.get("ends_at"))
        if None not in times and (times[0] < times[2] or times[1] > times[3]):
            errors.append(_("L'atelier « %(key)s » doit avoir lieu pendant l'événement.", key=key))
    return errors


def create_event(*, slug, title, starts_at, ends_at, contact_email, workshops=(),
                 reminders=reminder_rules.DEFAULT_DAYS, questions=(), **values):
    """Create an event (a draft unless `status` says otherwise) with its workshops, dicts of
    WORKSHOP_COLUMNS, its reminders (days before; default 7 and 1) and its `questions` (unsaved
    Question rows); `values` are other EVENT_COLUMNS. Commits; returns the event."""
    values.update(slug=slug, title=title, starts_at=starts_at, ends_at=ends_at, contact_email=contact_email)
    _check_names(values, ("slug", *EVENT_COLUMNS))
    for fields in workshops:
        _check_names(fields, WORKSHOP_COLUMNS)
    reminders = list(reminders)
    errors = event_problems(values, workshops, reminders)
    slug_taken = _("« slug » : un autre événement utilise déjà « %(slug)s ».", slug=slug)
    if db.session.scalar(select(Event.id).where(Event.slug == slug)):
        errors.append(slug_taken)
    if errors:
        db.session.rollback()
        raise EventRuleError(errors)
    event = Event(**values, workshops=[Workshop(**fields) for fields in workshops], questions=list(questions))
    db.session.add(event)
    try:
        db.session.flush()  # the column defaults (time zone) before the reminders' moments
        reminder_rules.schedule(event, reminders)
        db.session.commit()
    except IntegrityError:  # the same slug created concurrently: the unique index decides
        db.session.rollback()
        raise EventRuleError([slug_taken]) from None
    return event


def update_event(event, *, workshops=None, reminders=None, remove_booked_workshops=False, **changes):
    """Change the EVENT_COLUMNS given in `changes` and, when `workshops` is given, the workshops:
    the full list, dicts matched by "key" to the current ones (a listed workshop is added, or
    changed in the columns its dict gives; a workshop not listed is deleted); when `reminders`
    is given, the reminder offsets (days before; `services.reminders.schedule`). The pending
    reminders follow the event's start.

    Refused: a capacity below the seats taken, a new status for a cancelled event, a published
    event back to a draft while people are registered, deleting a workshop that people booked
    unless `remove_booked_workshops` confirms it (their bookings end and they are mailed),
    turning approval off while requests await a decision (they would wait forever, or take seats
    nobody accepted), and what `event_problems` finds. Commits; returns the event.
    """
    _check_names(changes, EVENT_COLUMNS)
    for fields in workshops or ():
        _check_names(fields, WORKSHOP_COLUMNS)
    event = seats.lock_event(event.id)
    # Lock the seat counters of the workshops too: nobody takes a seat while we compare.
    current = {w.key: w for w in db.session.scalars(
        select(Workshop).where(Workshop.event_id == event.id).with_for_update()
    )}
    if workshops is None:
        workshops = [{"key": key} for key in current]
    values = {name: changes.get(name, getattr(event, name)) for name in ("slug", *EVENT_COLUMNS)}
    resulting = [_columns(current[w["key"]]) | w if w["key"] in current else w for w in workshops]
    listed = {w["key"] for w in workshops}
    removed = [w for key, w in current.items() if key not in listed]

    errors = event_problems(values, resulting, None if reminders is None else list(reminders))
    if event.status == EventStatus.cancelled and values["status"] != EventStatus.cancelled:
        errors.append(_("L'événement « %(slug)s » est annulé : il ne peut pas changer de statut.", slug=event.slug))
    if event.status == EventStatus.published and values["status"] == EventStatus.draft:
        registered = active_registration_count(event)
        if registered:
            errors.append(_("L'événement « %(slug)s » a des inscriptions (%(count)s) : il ne peut pas redevenir un "
                            "brouillon. Annulez-le pour prévenir les personnes inscrites.",
                            slug=event.slug, count=registered))
    if event.approval_required and not values["approval_required"]:
        awaiting = awaiting_approval_count(event)
        if awaiting:
            errors.append(ngettext(
                "%(num)d demande d'inscription attend la décision des personnes qui organisent : acceptez-la ou "
                "refusez-la avant de ne plus demander de validation.",
                "%(num)d demandes d'inscription attendent la décision des personnes qui organisent : acceptez-les "
                "ou refusez-les avant de ne plus demander de validation.", awaiting))
    _check_capacity(event, values["capacity"], _("l'événement"), errors)
    for fields in resulting:
        if fields["key"] in current:
            _check_capacity(current[fields["key"]], fields["capacity"], workshop_label(fields["key"]), errors)
    if not remove_booked_workshops:
        for workshop in removed:
            if workshop_booking_count(workshop):
                errors.append(_("L'atelier « %(key)s » a des inscriptions : il n'est retiré que sur une "
                                "confirmation explicite (personnes à prévenir par courriel : %(count)s).",
                                key=workshop.key, count=workshop_people_count(workshop)))
    if errors:
        db.session.rollback()
        raise EventRuleError(errors)

    cancelling = event.status != EventStatus.cancelled and values["status"] == EventStatus.cancelled
    previous = {name: getattr(event, name) for name in INVITE_FIELDS}
    invite_changed = any(previous[name] != values[name] for name in INVITE_FIELDS)
    for name, value in changes.items():
        if name != "status" or not cancelling:  # _cancel sets the status itself
            _assign(event, name, value)
    for workshop in removed:
        # After a cancellation (now or before) the people have been told: no mail about a workshop.
        _remove_workshop(event, workshop, mail=values["status"] != EventStatus.cancelled)
    for fields in workshops:
        workshop = current.get(fields["key"])
        if workshop is None:
            event.workshops.append(Workshop(**fields))
            continue
        for name, value in fields.items():
            _assign(workshop, name, value)
    db.session.flush()

    if cancelling:
        _cancel(event)
    elif event.status != EventStatus.cancelled:  # after the CANCEL, an updated invite would undo it
        reminder_rules.schedule(event, None if reminders is None else list(reminders))
        db.session.flush()  # before the revision's lock reads the event again
        if invite_changed:
            notify_event_changed(event, previous)
        enqueue_after_commit(db.session, OFFER_FREE_SEATS, event.id)
    db.session.commit()
    return event


def publish_event(event):
    """Publish the event: people can register (within its registration window). Commits."""
    return update_event(event, status=EventStatus.published)


def unpublish_event(event):
    """Back to a draft: the public pages no longer show the event. Only while nobody is
    registered (people registered are told by a cancellation instead). Commits."""
    return update_event(event, status=EventStatus.draft)


def move_event(event, *, starts_at, ends_at):
    """Give the event a new start and end (its workshops must still take place during it). Commits."""
    return update_event(event, starts_at=starts_at, ends_at=ends_at)


def change_capacity(pool, capacity):
    """New capacity (None: no limit) of the event or of one of its workshops, not below the
    seats taken. Commits; returns the event."""
    if isinstance(pool, Workshop):
        return update_event(pool.event, workshops=[
            {"key": w.key, "capacity": capacity} if w.id == pool.id else {"key": w.key} for w in pool.event.workshops
        ])
    return update_event(pool, capacity=capacity)


def cancel_event(event):
    """Cancel the event and tell everyone registered; once cancelled, its status cannot change
    (cancelling it again does nothing). Commits."""
    return update_event(event, status=EventStatus.cancelled)


def copy_event(source, *, slug, title, starts_at, ends_at):
    """A new draft from `source` (next year's edition): its other columns, its registration
    questions (with the choices still offered) and its workshops, which keep their place in the
    event's day, and its reminder offsets: workshops and the registration window move with the
    start, by the same wall-clock time in the event's zone. No registrations, no answers, no seats
    taken. Commits; returns the new event (EventRuleError, as `create_event`)."""
    moved = _mover(source.starts_at, starts_at, source.tz)
    values = {name: getattr(source, name) for name in EVENT_COLUMNS}
    values.update(slug=slug, title=title, starts_at=starts_at, ends_at=ends_at, status=EventStatus.draft,
                  registration_opens_at=moved(source.registration_opens_at),
                  registration_closes_at=moved(source.registration_closes_at))
    workshops = [_columns(w) | {"starts_at": moved(w.starts_at), "ends_at": moved(w.ends_at)}
                 for w in source.workshops]
    return create_event(**values, workshops=workshops, reminders=[r.days_before for r in source.reminders],
                        questions=registration_questions.copies_of(source.questions))


def workshops_moved_with(event, starts_at):
    """The event's workshops, as `update_event` takes them, moved with its start to `starts_at`:
    each keeps its place in the event's day (the same wall-clock shift in the event's zone, as
    `copy_event` moves them), so that an event with workshops can move to another day."""
    moved = _mover(event.starts_at, starts_at, event.tz)
    return [{"key": w.key, "starts_at": moved(w.starts_at), "ends_at": moved(w.ends_at)} for w in event.workshops]


def active_registration_count(event):
    """How many registrations of the event are active (pending, confirmed, waiting, offered,
    awaiting approval): the people a cancellation mails."""
    return db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.event_id == event.id, Registration.status.in_(ACTIVE_STATUSES)))


def awaiting_approval_count(event):
    """How many requests of the event await the organisers' decision."""
    return db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.awaiting_approval))


def workshop_booking_count(workshop):
    """How many bookings the workshop has ever had (cancelled ones too): while it has any, it is
    deleted only on an explicit confirmation."""
    return db.session.scalar(select(func.count()).select_from(WorkshopBooking).where(
        WorkshopBooking.workshop_id == workshop.id))


def workshop_people_count(workshop):
    """How many people have an active booking of the workshop (booked, waiting, offered,
    requested): the people its removal mails."""
    return db.session.scalar(select(func.count()).select_from(WorkshopBooking).where(
        WorkshopBooking.workshop_id == workshop.id, WorkshopBooking.status != BookingStatus.cancelled))


# --- Effects on the registrations. ---

def _raise_event_revision(event, **values):
    """Lock the event, raise its revision (and set `values`); returns the fresh event."""
    db.session.execute(
        update(Event).where(Event.id == event.id)
        .values(revision=Event.revision + 1, **values).execution_options(synchronize_session=False)
    )
    return seats.lock_event(event.id)


def _registrations(event, statuses):
    return db.session.scalars(
        select(Registration).where(Registration.event_id == event.id, Registration.status.in_(statuses))
        .order_by(Registration.id)
    ).all()


def notify_event_changed(event, previous=None):
    """After a change of the event's time or place: raise its revision and queue an updated
    invite to every confirmed person; `previous` (INVITE_FIELDS before the change) lets the
    mail say what changed. The caller commits."""
    event = _raise_event_revision(event)
    if previous:
        previous = {name: value.isoformat() if name.endswith("_at") else value for name, value in previous.items()}
    for registration in _registrations(event, [RegistrationStatus.confirmed]):
        seats.queue_invite_updated(registration, previous)
    # A registration window moved later may allow offers again.
    enqueue_after_commit(db.session, OFFER_FREE_SEATS, event.id)


def _cancel(event):
    """Set the cancelled status: CANCEL invite to confirmed people, notice to the others
    (pending, waiting), open offers withdrawn (their people wait again). Registrations keep
    their status."""
    event = _raise_event_revision(event, status=EventStatus.cancelled)
    seats.withdraw_offers(event)
    for registration in _registrations(event, ACTIVE_STATUSES):
        queue_registration_mail(
            "event_cancelled", registration, f"event-cancelled:{registration.id}:{event.revision}",
            sequence=registration.invite_sequence, with_invite=registration.status == RegistrationStatus.confirmed,
        )


def _remove_workshop(event, workshop, mail):
    """Delete `workshop` (locked by the caller). Each active booking ends first, through the seat
    rules (an open offer for it withdrawn); unless `mail` is false, its person gets the
    `workshop_removed` mail, which names the workshop from its payload (the row is gone when
    the mail is written), with an updated invite (REQUEST, a new SEQUENCE) when they hold a seat
    of the event. The bookings, cancelled ones too, go with the workshop."""
    removed = {"title": workshop.title, "starts_at": workshop.starts_at.isoformat(),
               "ends_at": workshop.ends_at.isoformat(), "room": workshop.room}
    bookings = db.session.scalars(
        select(WorkshopBooking).where(WorkshopBooking.workshop_id == workshop.id,
                                      WorkshopBooking.status != BookingStatus.cancelled)
        .order_by(WorkshopBooking.id).with_for_update()
    ).all()
    for booking in bookings:
        seats.cancel_booking(booking)
        if not mail:
            continue
        registration = booking.registration
        with_invite = registration.status == RegistrationStatus.confirmed
        if with_invite:
            seats.raise_revision(registration)
        queue_registration_mail(
            "workshop_removed", registration, f"workshop-removed:{workshop.id}:{registration.id}",
            workshop=removed, sequence=registration.invite_sequence, with_invite=with_invite,
        )
    db.session.flush()
    event.workshops.remove(workshop)


# --- Helpers. ---

def _check_names(values, allowed):
    """A programming error (not the user's): a value for a column the rules do not know."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise TypeError(f"unknown event fields: {', '.join(unknown)}")


def _columns(workshop):
    return {name: getattr(workshop, name) for name in WORKSHOP_COLUMNS}


def _check_capacity(pool, capacity, label, errors):
    if capacity is not None and capacity < pool.seats_taken:
        errors.append(_("La capacité de %(label)s (%(capacity)s) est inférieure au nombre de places déjà "
                        "prises (%(taken)s).", label=label, capacity=capacity, taken=pool.seats_taken))


def _check_order(values, first, second, label, errors):
    if values.get(first) and values.get(second) and values[second] <= values[first]:
        errors.append(_("« %(second)s » de %(label)s doit être après « %(first)s ».",
                        first=first, second=second, label=label))


def _wall_clock(moment, tz):
    """`moment` as the time on a clock of zone `tz`, without the zone (for shifts by calendar days)."""
    return moment.astimezone(tz).replace(tzinfo=None)


def _mover(old_start, new_start, tz):
    """A function that moves a moment (or None) as the start moves from `old_start` to `new_start`:
    by the same wall-clock time in zone `tz`, so that a day later is the same hour on the event's
    clock, even across a change of summer time."""
    shift = _wall_clock(new_start, tz) - _wall_clock(old_start, tz)

    def moved(moment):
        return None if moment is None else (_wall_clock(moment, tz) + shift).replace(tzinfo=tz)
    return moved


def _assign(obj, name, value):
    """Set an attribute only when it changes, so that an identical update writes nothing."""
    if getattr(obj, name) != value:
        setattr(obj, name, value)
