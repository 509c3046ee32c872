"""Seat pools (an event, or one of its workshops): atomic seats, waiting lists and seat offers.

Counters. A pool row carries `capacity`, `seats_taken` and `waiting_count`. They are only
changed by conditional UPDATEs (`database.LoadedUpdate`), so each check and change is one step on
SQLite and PostgreSQL alike: the database, not Python, decides who gets the last seat.
Invariant: `seats_taken` counts the holders (confirmed or offered registrations of an event,
booked or offered bookings of a workshop) and `waiting_count` the people waiting.

Waiting list. A newcomer cannot take a seat while people wait (`waiting_count = 0` in the
guard): they join the list behind them. An organiser may move a person to the front of the
event's list (`give_priority`). A freed seat is given back (`release_seat`), then the
worker task `offer_free_seats` holds it *for* the first person waiting (by `waiting_since`,
then id) with one conditional UPDATE and mails them a `SeatOffer`. While the offer is open the
seat stays counted, so nobody can jump the queue. Accepting makes the seat theirs; declining or
letting the offer expire ends their place on the list, and the held seat passes straight to
the next person waiting (or back to the pool when nobody waits).

When offers are made. New offers are made only while the event accepts registrations
(`Event.accepts_registrations()`: published, registration window open, not started). So no
offer once registrations are closed, the event is cancelled or has started: freed seats then
simply stay free. An offer already made can be accepted until it expires, which is never later
than the event start; cancelling the event withdraws it.

Locking. Every transaction that changes an event's seats, lists or offers first locks the
event row (`lock_event`, or for a confirmation `take_seat_locking_event`, whose seat UPDATE
locks it the same way). They therefore run one at a time per event and lock the other rows (workshops,
registrations, bookings, offers) always after it: no deadlock between them. A confirmation
writes its « your seat » mail before it takes the lock: a new outbox row, whose dedup key only
another click on the same link writes while the registration is pending, and that click waits
for the first to end holding no lock yet. On SQLite every transaction starts with BEGIN
IMMEDIATE and is serialised anyway.
"""
from flask import current_app
from sqlalchemy import bindparam, select, update

from ..database import LoadedUpdate, update_where
from ..extensions import db
from ..mail.outbox import queue_registration_mail
from ..models import (
    BookingStatus,
    Event,
    EventStatus,
    JournalAction,
    OfferStatus,
    Registration,
    RegistrationStatus,
    SeatOffer,
    Workshop,
    WorkshopBooking,
)
from ..models.base import utcnow
from . import journal, tokens
from .dispatch import OFFER_FREE_SEATS, enqueue_after_commit
from .errors import RegistrationError, RegistrationErrorCode
from .state import transition

# --- Counters: one conditional UPDATE each, the counters as it left them set on the pool (`LoadedUpdate`). ---


class _PoolCounters:
    """The UPDATEs of one pool model's counters, built once."""

    def __init__(self, model):
        c = model.__table__.c
        has_free_seat = c.capacity.is_(None) | (c.seats_taken < c.capacity)
        self.seat_for_newcomer = has_free_seat & (c.waiting_count == 0)
        self.take_seat = LoadedUpdate(model, self.seat_for_newcomer, seats_taken=c.seats_taken + 1)
        self.join_waiting_list = LoadedUpdate(model, waiting_count=c.waiting_count + 1)
        self.leave_waiting_list = LoadedUpdate(model, waiting_count=c.waiting_count - 1)
        self.give_back_seat = LoadedUpdate(model, seats_taken=c.seats_taken - 1)
        self.seat_back_to_waiting = LoadedUpdate(model, seats_taken=c.seats_taken - 1,
                                                 waiting_count=c.waiting_count + 1)
        self.hold_seat_for_next = LoadedUpdate(model, has_free_seat & (c.waiting_count > 0),
                                               seats_taken=c.seats_taken + 1, waiting_count=c.waiting_count - 1)


_COUNTERS = {model: _PoolCounters(model) for model in (Event, Workshop)}


def take_seat(pool):
    """Take one seat of `pool` (an Event or a Workshop) if one is free and nobody waits; True on success."""
    return _COUNTERS[type(pool)].take_seat.run(pool)


def join_waiting_list(pool):
    """Count one more person waiting for `pool`."""
    _COUNTERS[type(pool)].join_waiting_list.run(pool)


def _leave_waiting_count(pool):
    """Count one person less waiting for `pool` (the CHECK constraint refuses a negative count)."""
    _COUNTERS[type(pool)].leave_waiting_list.run(pool)


def _give_back_seat(pool):
    _COUNTERS[type(pool)].give_back_seat.run(pool)


def _seat_back_to_waiting(pool):
    """An offer is withdrawn and its person waits again: their held seat is freed."""
    _COUNTERS[type(pool)].seat_back_to_waiting.run(pool)


def _hold_seat_for_next(pool):
    """Move one free seat to the first person waiting: the seat is taken for them. True if done."""
    return _COUNTERS[type(pool)].hold_seat_for_next.run(pool)


def _event_id(pool):
    return pool.id if isinstance(pool, Event) else pool.event_id


def release_seat(pool):
    """Give back one seat of `pool`, then have a worker offer it to the first person waiting."""
    _give_back_seat(pool)
    enqueue_after_commit(db.session, OFFER_FREE_SEATS, _event_id(pool))


def lock_event(event_id):
    """Lock the event's row until the end of the transaction and return the event, freshly read.

    What the session read before the lock may be stale, so it is all expired.
    """
    # FOR NO KEY UPDATE on PostgreSQL: the lock a plain UPDATE takes, which still lets other
    # transactions insert rows that refer to the event (outbox, registrations). The row is read by
    # the same statement that locks it.
    db.session.expire_all()
    return db.session.scalars(_LOCK_EVENT, {"event_id": event_id}).one_or_none()


# Built once: every change of seats runs it.
_LOCK_EVENT = select(Event).where(Event.id == bindparam("event_id")).with_for_update(key_share=True)


def take_seat_locking_event(event_id):
    """Most confirmations in one statement: take one of the event's seats if one is free, nobody
    waits and the event needs no approval. The UPDATE locks the event's row as `lock_event` does
    and returns it, freshly read; None when it took nothing, and then it locked nothing either:
    the caller locks the event (`lock_event`) and decides under the lock."""
    db.session.expire_all()
    return db.session.scalars(_TAKE_SEAT_LOCKING_EVENT, {"event_id": event_id}).one_or_none()


# Built once: every confirmation runs it.
_TAKE_SEAT_LOCKING_EVENT = (
    update(Event)
    .where(Event.id == bindparam("event_id"), _COUNTERS[Event].seat_for_newcomer, Event.approval_required.is_(False))
    .values(seats_taken=Event.seats_taken + 1)
    .returning(Event)
    .execution_options(populate_existing=True, synchronize_session=False)
)


def _move(obj, old_status, new_status, **values):
    """A status change that the event lock guarantees; failing means counters and rows disagree."""
    if not transition(obj, [old_status], new_status, **values):
        raise RuntimeError(f"{obj!r} was expected in status {old_status}")


# --- Places in workshops. ---

def book_requested_workshops(registration):
    """Give a seat (or a waiting-list place) in each workshop the person chose, once they hold an event seat."""
    now = utcnow()
    for booking in registration.bookings:
        if booking.status != BookingStatus.requested:
            continue
        if take_seat(booking.workshop):
            booking.status = BookingStatus.booked
        else:
            join_waiting_list(booking.workshop)
            booking.status = BookingStatus.waiting
            booking.waiting_since = now


def add_booking(registration, workshop):
    """Add a workshop to a registration: a seat or a waiting-list place when the person holds an
    event seat, else a request processed when they get one. Returns the booking."""
    booking = WorkshopBooking(workshop=workshop, status=BookingStatus.requested)
    registration.bookings.append(booking)
    if registration.status == RegistrationStatus.confirmed:
        book_requested_workshops(registration)
    return booking


# Statuses (of a registration or a booking) that hold a seat of their pool.
SEAT_HOLDING = (RegistrationStatus.confirmed, RegistrationStatus.offered, BookingStatus.booked, BookingStatus.offered)
OFFERED = (RegistrationStatus.offered, BookingStatus.offered)
WAITING = (RegistrationStatus.waiting, BookingStatus.waiting)


def give_up_place(pool, status, registration):
    """`registration` leaves `pool`, where it was in `status` (its row already moved on): a held
    seat is given back (an open offer for it withdrawn), a waiting-list place is removed."""
    if status in OFFERED:
        _withdraw_open_offer(registration, pool)
    if status in SEAT_HOLDING:
        release_seat(pool)
    elif status in WAITING:
        _leave_waiting_count(pool)


def cancel_booking(booking):
    """End one workshop booking, giving up its seat or waiting-list place."""
    held = booking.status
    _move(booking, held, BookingStatus.cancelled)
    give_up_place(booking.workshop, held, booking.registration)


# --- Mails about seats. ---

def queue_registration_confirmed(registration):
    """The "you have a seat" mail, with the calendar invite."""
    return queue_registration_mail("registration_confirmed", registration,
                                   f"registration-confirmed:{registration.id}", sequence=registration.invite_sequence)


def queue_invite_updated(registration, previous=None):
    """An updated invite (same UID, current SEQUENCE); once per sequence number. `previous`: the
    event's time and place before it moved (ISO datetimes and venue), for the mail to show."""
    sequence = registration.invite_sequence
    payload = {"sequence": sequence, "previous": previous} if previous else {"sequence": sequence}
    return queue_registration_mail("invite_updated", registration, f"invite:{registration.id}:{sequence}", **payload)


# The next SEQUENCE of a person's invite, built once (see `state.transition`).
NEXT_REVISION = Registration.__table__.c.revision + 1
_RAISE_REVISION = LoadedUpdate(Registration, revision=NEXT_REVISION)


def raise_revision(registration):
    """Something shown in this person's invite changed: its SEQUENCE goes up by one."""
    _RAISE_REVISION.run(registration)


# --- Offers. ---

def offer_free_seats(event_id):
    """Offer every free seat of the event and its workshops to the people waiting, in order. Commits."""
    event = lock_event(event_id)
    if event is None:  # deleted since the task was queued
        db.session.rollback()
        return
    for pool in [event, *event.workshops]:
        _offer_free_seats_of(event, pool)
    db.session.commit()


def waiting_order(model):
    """The order of a waiting list (of Registration or WorkshopBooking rows): the oldest first, then
    the lowest id; on the event's list, the people given priority come before all others."""
    if model is Registration:
        return (Registration.priority_at.is_(None), Registration.priority_at, Registration.waiting_since,
                Registration.id)
    return (model.waiting_since, model.id)


def _first_waiting(model, pool_column, pool_id, waiting):
    """The first row (a Registration or a WorkshopBooking) waiting for a pool (`waiting_order`)."""
    return db.session.scalars(
        select(model).where(pool_column == pool_id, model.status == waiting)
        .order_by(*waiting_order(model)).limit(1)
    ).one()


def give_priority(registration, by):
    """An organiser's choice: a person waiting for an event seat goes to the front of the waiting
    list (behind those given priority before them), so the next free seat is offered to them; when
    a seat is free now, it is offered at once. Nobody loses a seat or an open offer, and the seat
    guard still decides: the person gets an offer, never a seat beyond the capacity. Journalled as
    done by `by`. Commits.

    Raises RegistrationError('not_waiting') when the person is not (any more) waiting, or
    'already_prioritised'.
    """
    event = lock_event(registration.event_id)
    if registration.status != RegistrationStatus.waiting:
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.not_waiting)
    if not update_where(Registration, Registration.id == registration.id, Registration.priority_at.is_(None),
                        priority_at=utcnow()):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.already_prioritised)
    db.session.expire(registration)
    journal.record(event, by, JournalAction.waiting_priority_given, registration_id=registration.id,
                   name=registration.full_name, email=registration.email)
    _offer_free_seats_of(event, event)
    db.session.commit()


def _offer_to_first_waiting(event, pool):
    """Move the first person waiting for `pool` to `offered`; returns their registration."""
    if pool is event:
        registration = _first_waiting(Registration, Registration.event_id, event.id, RegistrationStatus.waiting)
        _move(registration, RegistrationStatus.waiting, RegistrationStatus.offered)
        return registration
    booking = _first_waiting(WorkshopBooking, WorkshopBooking.workshop_id, pool.id, BookingStatus.waiting)
    _move(booking, BookingStatus.waiting, BookingStatus.offered)
    return booking.registration


def _offer_free_seats_of(event, pool):
    """While `pool` has a free seat and someone waits, hold the seat for the first person and offer it."""
    now = utcnow()
    if not event.accepts_registrations(now):
        return
    expires_at = min(now + current_app.config["SEAT_OFFER_VALIDITY"], event.starts_at)
    while _hold_seat_for_next(pool):
        registration = _offer_to_first_waiting(event, pool)
        offer = SeatOffer(registration=registration, workshop=None if pool is event else pool,
                          expires_at=expires_at)
        db.session.add(offer)
        db.session.flush()
        queue_registration_mail("seat_offer", registration, f"seat-offer:{offer.id}", offer_id=offer.id)


def _pass_on_held_seat(event, pool):
    """The seat held for an offer that ended goes to the next person waiting, or back to the pool."""
    _give_back_seat(pool)
    _offer_free_seats_of(event, pool)


def _withdraw_open_offer(registration, pool):
    """Withdraw the person's open offer for a seat of `pool` (they are leaving it)."""
    is_event = isinstance(pool, Event)
    offers = db.session.scalars(select(SeatOffer).where(
        SeatOffer.registration_id == registration.id,
        SeatOffer.workshop_id.is_(None) if is_event else SeatOffer.workshop_id == pool.id,
        SeatOffer.status == OfferStatus.open,
    )).all()
    for offer in offers:
        _move(offer, OfferStatus.open, OfferStatus.withdrawn, answered_at=utcnow())


def withdraw_offers(event):
    """The event is cancelled: each open offer is withdrawn and its person goes back to their
    place on the waiting list (the held seat is given back)."""
    offers = db.session.scalars(
        select(SeatOffer).join(Registration).where(
            Registration.event_id == event.id, SeatOffer.status == OfferStatus.open
        ).order_by(SeatOffer.id)
    ).all()
    for offer in offers:
        _move(offer, OfferStatus.open, OfferStatus.withdrawn, answered_at=utcnow())
        if offer.workshop_id is None:
            _move(offer.registration, RegistrationStatus.offered, RegistrationStatus.waiting)
        else:
            _move(_offer_holder(offer), BookingStatus.offered, BookingStatus.waiting)
        _seat_back_to_waiting(offer.workshop or event)


def _offer_holder(offer):
    """The workshop booking that is `offered` because of this (workshop) offer."""
    return db.session.scalars(
        select(WorkshopBooking).where(
            WorkshopBooking.registration_id == offer.registration_id,
            WorkshopBooking.workshop_id == offer.workshop_id,
            WorkshopBooking.status == BookingStatus.offered,
        )
    ).one()


def _check_answerable(offer, now):
    """Raise RegistrationError unless the offer can still be accepted or declined."""
    if offer.registration.event.status == EventStatus.cancelled:
        raise RegistrationError(RegistrationErrorCode.event_cancelled)
    if offer.status == OfferStatus.open and offer.expires_at <= now:
        raise RegistrationError(RegistrationErrorCode.expired)
    if offer.status != OfferStatus.open:
        raise RegistrationError(RegistrationErrorCode(offer.status.value))


def offer_from_token(token):
    """The open SeatOffer behind an offer link, or raise tokens.InvalidLink / RegistrationError."""
    offer_id, version = tokens.read_token("offer", token)[:2]
    offer = db.session.get(SeatOffer, offer_id)
    if offer is None or offer.registration.token_version != version:
        raise tokens.InvalidLink("invalid")
    _check_answerable(offer, utcnow())
    return offer


def _answer(offer, new_status):
    """Lock the event, then move the offer from open to `new_status`: of two clicks, one wins.
    Returns the event. Raises RegistrationError (nothing changed) when the offer cannot be answered."""
    now = utcnow()
    event = lock_event(offer.registration.event_id)
    try:
        _check_answerable(offer, now)
        if not transition(offer, [OfferStatus.open], new_status, answered_at=now):
            raise RegistrationError(RegistrationErrorCode(offer.status.value))
    except RegistrationError:
        db.session.rollback()
        raise
    return event


def accept_offer(offer):
    """Accept: the held seat becomes the person's; confirmation with invite is queued. Commits."""
    _answer(offer, OfferStatus.accepted)
    registration = offer.registration
    if offer.workshop_id is None:
        _move(registration, RegistrationStatus.offered, RegistrationStatus.confirmed, confirmed_at=utcnow())
        book_requested_workshops(registration)
        queue_registration_confirmed(registration)
    else:  # workshops are booked once the person holds an event seat: they have an invite to update
        _move(_offer_holder(offer), BookingStatus.offered, BookingStatus.booked)
        raise_revision(registration)
        queue_invite_updated(registration)
    db.session.commit()


def decline_offer(offer):
    """Decline: the person leaves the waiting list, the seat goes to the next person waiting. Commits."""
    event = _answer(offer, OfferStatus.declined)
    _end_offer(event, offer)
    registration = offer.registration
    if offer.workshop_id is None:
        queue_registration_mail("registration_cancelled", registration, f"registration-cancelled:{registration.id}",
                                sequence=registration.invite_sequence, with_invite=False)
    db.session.commit()


def _end_offer(event, offer):
    """A declined or expired offer: the person leaves the waiting list (for an event seat, the
    registration ends), and the held seat passes on."""
    if offer.workshop_id is None:
        registration = offer.registration
        _move(registration, RegistrationStatus.offered, RegistrationStatus.cancelled, cancelled_at=utcnow(),
              revision=NEXT_REVISION)
        for booking in registration.active_bookings():  # only requests: no seat yet
            cancel_booking(booking)
    else:
        _move(_offer_holder(offer), BookingStatus.offered, BookingStatus.cancelled)
    _pass_on_held_seat(event, offer.workshop or event)


def expire_seat_offers():
    """Expire offers past their time and pass each seat on to the next person. One transaction
    per offer; returns how many expired."""
    due = db.session.scalars(
        select(SeatOffer.id).where(SeatOffer.status == OfferStatus.open, SeatOffer.expires_at <= utcnow())
        .order_by(SeatOffer.expires_at, SeatOffer.id)
    ).all()
    db.session.rollback()
    expired = 0
    for offer_id in due:
        offer = db.session.get(SeatOffer, offer_id)
        event = lock_event(offer.registration.event_id)
        if not transition(offer, [OfferStatus.open], OfferStatus.expired, answered_at=utcnow()):
            db.session.rollback()  # answered meanwhile
            continue
        _end_offer(event, offer)
        registration = offer.registration
        queue_registration_mail("offer_expired", registration, f"offer-expired:{offer.id}", offer_id=offer.id)
        db.session.commit()
        expired += 1
    return expired
