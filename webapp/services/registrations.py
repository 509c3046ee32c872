"""A person's registration from start to end: register, confirm the address, change details
and workshops, cancel or leave the waiting list, get lost links again; for an event that needs
approval, the organisers' decision (accept or decline). Seat counting lives in `seats.py`; the
effects of an event's changes on its registrations in `events.py`."""
import hashlib

from flask import current_app
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..database import commit_keeping_loaded, insert_unless_exists
from ..extensions import db
from ..mail.outbox import queue_mail, queue_registration_mail
from ..models import (
    BookingStatus,
    Event,
    EventStatus,
    JournalAction,
    Registration,
    RegistrationStatus,
    SeatOffer,
    Workshop,
    WorkshopBooking,
)
from ..models.base import utcnow
from ..models.registrations import ACTIVE_EMAIL_WHERE, ACTIVE_STATUSES, ENDED_STATUSES
from . import address_checks, consents, journal, questions, seats, tokens
from .dispatch import OFFER_FREE_SEATS, enqueue_after_commit
from .errors import RegistrationError, RegistrationErrorCode
from .person_keys import person_key
from .state import transition

# A person who submits the form again gets at most one mail per window (anti-flood).
RESEND_WINDOW_SECONDS = 600

def find_active_registration(event, email):
    return db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.email == email.strip().lower(),
            Registration.status.in_(ACTIVE_STATUSES),
        )
    ).one_or_none()


def _resend_bucket():
    return int(utcnow().timestamp()) // RESEND_WINDOW_SECONDS


def _registration_values(event, *, first_name, last_name, email, organisation, actor_type, language):
    """The columns of a new pending registration, as typed values (trimmed, the address in lower case)."""
    return dict(
        event_id=event.id,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip().lower() if email else None,
        person_key=person_key(email) if email else None,
        organisation=(organisation or "").strip(),
        actor_type=actor_type,
        language=language,
        status=RegistrationStatus.pending,
        privacy_consent_at=utcnow(),
    )


def _new_registration(event, *, workshops, **details):
    """A pending registration with its workshop requests (not added to the session yet)."""
    registration = Registration(event=event, **_registration_values(event, **details))
    registration.bookings = [WorkshopBooking(workshop=w, status=BookingStatus.requested) for w in workshops]
    return registration


def _insert_registration(event, *, workshops, answers, required_answers, decided_at=None, **details):
    """What registering and adding by hand share: the event takes registrations, the workshops and
    the answers to the event's questions are valid (`required_answers`: a required question must be
    answered), then the pending registration is written (`details`: first_name, last_name, email,
    organisation, actor_type, language) with its workshop requests and answers: all of it, or
    nothing. `decided_at`: when an organiser decided on it (an event that needs approval then does
    not ask for it). Returns (registration, True), or (the address's active registration, False)
    when it has one already (maybe written at the same moment: the unique index decides, in the
    INSERT itself).

    Raises RegistrationError('closed', 'unknown_workshop' (also when a chosen workshop was removed
    in the meantime), 'workshops_overlap') or questions.AnswersError (also when a chosen choice was
    deleted in the meantime: the foreign key refuses the answer), with nothing written."""
    if not event.accepts_registrations():
        raise RegistrationError(RegistrationErrorCode.closed)
    workshops = list(workshops)
    _check_workshops(event, workshops)
    given = questions.new_answers(event.questions, answers, required=required_answers) if event.questions else []
    values = dict(_registration_values(event, **details), decided_at=decided_at)
    while (registration := insert_unless_exists(Registration, ["event_id", "email"], values,
                                                conflict_where=ACTIVE_EMAIL_WHERE)) is None:
        existing = find_active_registration(event, values["email"])
        if existing is not None:
            return existing, False
        # It ended between the INSERT and this SELECT: the address is free again.
    # A new registration has no bookings nor answers: known without asking the database.
    set_committed_value(registration, "bookings", [])
    set_committed_value(registration, "answers", [])
    if workshops or given:
        _add_requests_and_answers(event, registration, workshops, given)
    return registration, True


def _add_requests_and_answers(event, registration, workshops, given):
    """Write the workshop requests and `given` answers of a registration just inserted. When a chosen
    workshop or choice was removed in the meantime (a foreign key refuses the row), everything is
    rolled back and the error says which."""
    try:
        with db.session.begin_nested():  # written when the savepoint is released
            registration.bookings = [WorkshopBooking(workshop=w, status=BookingStatus.requested) for w in workshops]
            registration.answers = given
    except IntegrityError as error:
        try:
            gone = questions.choices_gone(given)
            if gone is not None:
                raise gone from error
            _check_workshops(event, workshops)  # a chosen workshop removed meanwhile: 'unknown_workshop'
            raise
        finally:
            db.session.rollback()


def register(event, *, first_name, last_name, email, organisation, actor_type, language,
             workshops=(), answers=None, news_consent=False):
    """Create a pending registration, with its `answers` to the event's questions (question id ->
    what the form sent) and the person's consents (`news_consent`: news from the network, optional),
    and queue the "confirm your address" mail.

    If the address already has an active registration for this event, nothing new is created:
    that person is mailed their confirmation link again (or, once confirmed, their manage link).
    The caller shows the same answer in both cases, so the form reveals nothing.
    Commits. Returns the registration. Raises RegistrationError('closed'…,
    'too_many_address_checks': the address already got this hour's share of mails checking it) or
    questions.AnswersError, with nothing written.
    """
    if not address_checks.may_check_address(email):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.too_many_address_checks)
    registration, created = _insert_registration(
        event, first_name=first_name, last_name=last_name, email=email, organisation=organisation,
        actor_type=actor_type, language=language, workshops=workshops, answers=answers, required_answers=True)
    if not created:
        resend_links(registration)
        db.session.commit()
        return registration
    consents.record_at_registration(registration, news=news_consent)
    queue_confirm_address(registration)
    db.session.commit()
    return registration


def add_by_organiser(event, *, by, confirmed, first_name, last_name, email, organisation, actor_type, language,
                     workshops=(), answers=None):
    """An organiser (`by`) registers a person by hand, journalled. Pending: the person gets the usual
    "confirm your address" mail. `confirmed`: the address counts as confirmed at once, with the same
    rules and mails as a confirmation by link (a seat when one is free and nobody waits, else the
    waiting list). The organiser decided: an event that needs approval does not ask for it.
    `answers` to the event's questions, none of them required here (the person may not have given
    them). Commits; returns the registration.

    Raises RegistrationError('closed'), 'already_registered' (the address has an active
    registration), 'unknown_workshop' or 'workshops_overlap', or questions.AnswersError.
    """
    registration, created = _insert_registration(
        event, first_name=first_name, last_name=last_name, email=email, organisation=organisation,
        actor_type=actor_type, language=language, workshops=workshops, answers=answers, required_answers=False,
        decided_at=utcnow())
    if not created:
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.already_registered)
    journal.record(event, by, JournalAction.registration_added, registration_id=registration.id,
                   name=registration.full_name, email=registration.email, confirmed=confirmed)
    if confirmed:
        seats.lock_event(event.id)
        _take_seat_or_wait(registration)
    else:
        queue_confirm_address(registration)
    db.session.commit()
    return registration


def add_walk_in(event, *, by, first_name, last_name, email, organisation, actor_type, language):
    """A person who came to the door without registering, added by an organiser (`by`): confirmed
    at once on a seat taken by the usual rules (a free seat, and nobody waiting for one), without
    workshops, journalled. The address is optional: without one, no mail is ever sent; with one, the
    person gets the usual confirmation (and their manage link). Registrations may be closed: the
    event only has to be published. Not committed: the check-in joins the same transaction.

    Raises RegistrationError('closed') for an event not published (draft, cancelled), 'full' when no
    seat can be taken, 'already_registered' when the address has an active registration; then the
    transaction is rolled back.
    """
    event = seats.lock_event(event.id)
    if event.status != EventStatus.published:
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.closed)
    if not seats.take_seat(event):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.full)
    registration = _new_registration(
        event, first_name=first_name, last_name=last_name, email=email, organisation=organisation,
        actor_type=actor_type, language=language, workshops=())
    now = utcnow()
    registration.status, registration.confirmed_at, registration.walk_in = RegistrationStatus.confirmed, now, True
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError:
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.already_registered) from None
    journal.record(event, by, JournalAction.walk_in_added, registration_id=registration.id,
                   name=registration.full_name)
    seats.queue_registration_confirmed(registration)
    return registration


def queue_confirm_address(registration, dedup_suffix="0"):
    return queue_registration_mail(
        "confirm_address", registration, f"confirm-address:{registration.id}:{dedup_suffix}")


def resend_links(registration):
    """Mail a person the link they need now: confirmation while pending, else their manage link."""
    bucket = _resend_bucket()
    if registration.status == RegistrationStatus.pending:
        return queue_confirm_address(registration, dedup_suffix=f"resend-{bucket}")
    return queue_registration_mail("manage_link", registration, f"manage-link:{registration.id}:{bucket}")


def registration_from_token(purpose, token, max_age=None):
    """Load the registration a signed link points at, or raise tokens.InvalidLink."""
    reg_id, version = tokens.read_token(purpose, token, max_age=max_age)[:2]
    registration = db.session.get(Registration, reg_id, options=_WITH_EVENT)
    if registration is None or registration.token_version != version:
        raise tokens.InvalidLink("invalid")
    return registration


def link_owner(purpose, token):
    """The registration a genuine link of `purpose` ("confirm", "manage" or "offer") belongs to,
    however old the link and whatever became of the registration; None for a forged or revoked link."""
    try:
        object_id, version = tokens.read_token(purpose, token)[:2]
    except tokens.InvalidLink:
        return None
    if purpose == "offer":
        offer = db.session.get(SeatOffer, object_id)
        registration = offer and offer.registration
    else:
        registration = db.session.get(Registration, object_id, options=_WITH_EVENT)
    if registration is None or registration.token_version != version:
        return None
    return registration


# A link's registration is read with its event, which every page of a link shows: one statement.
_WITH_EVENT = (joinedload(Registration.event),)


def confirm_address(token):
    """Confirm the address behind a confirmation link: take a seat, or join the waiting list; for an
    event that needs approval (unless an organiser registered the person), the request waits for the
    organisers' decision instead, and the person is told so by mail.

    Raises tokens.InvalidLink for forged or expired links and RegistrationError('already_confirmed'
    / 'cancelled' / 'closed') for links that cannot be used (any more). Commits.
    """
    registration = registration_from_token(
        "confirm", token, max_age=current_app.config["CONFIRM_LINK_MAX_AGE"].total_seconds()
    )
    registration_id, event_id = registration.id, registration.event_id
    # Most often a seat is free (`_seat_looks_free`): the « your seat » mail is written first, then
    # one UPDATE takes the seat and locks the event, and one more moves the registration on
    # (`_confirm_in_taken_seat`): two statements and the COMMIT under the lock. The mail's invite
    # SEQUENCE counts the event's revision as read before the lock; should the event change in
    # between, this first invite of the person carries the lower number, and every later one a higher.
    if _seat_looks_free(registration):
        seats.queue_registration_confirmed(registration)
        event = seats.take_seat_locking_event(event_id)
        if event is not None:
            _confirm_in_taken_seat(registration, registration_id, event)
            commit_keeping_loaded()  # the page that follows shows the registration and event as just written
            return registration
        db.session.rollback()  # no seat after all: the mail goes with the transaction
    # Otherwise (full, people waiting, approval needed) the event is locked first, so that the
    # approval setting cannot change while we follow it, and the seat is decided under the lock.
    event = seats.lock_event(event_id)
    # Read again now that the event is locked, with the workshop requests a seat books: one statement.
    db.session.scalars(_REGISTRATION_WITH_BOOKINGS, {"registration_id": registration_id}).unique().one()
    if registration.status != RegistrationStatus.pending or not event.accepts_registrations():
        db.session.rollback()
        raise RegistrationError(_confirmation_refusal(registration.status))
    if event.approval_required and registration.decided_at is None:
        _await_approval(registration)
    else:
        _take_seat_or_wait(registration)
    commit_keeping_loaded()
    return registration


# Built once: every confirmation runs it.
_REGISTRATION_WITH_BOOKINGS = (select(Registration).where(Registration.id == bindparam("registration_id"))
                               .options(joinedload(Registration.bookings))
                               .execution_options(populate_existing=True))


def _seat_looks_free(registration):
    """Whether the registration, as read before any lock, is pending and its event takes
    registrations, has a seat for a newcomer and needs no approval: then the confirmation tries
    the fast path. Only a hint: the statements under the event's lock decide."""
    event = registration.event
    return (registration.status == RegistrationStatus.pending and event.accepts_registrations()
            and not event.is_full and not event.approval_required)


def _confirmation_refusal(status):
    """Why the confirmation link of a registration in `status` cannot be used now: it moved on
    (cancelled, or confirmed already), else registrations are closed."""
    if status == RegistrationStatus.cancelled:
        return RegistrationErrorCode.cancelled
    if status != RegistrationStatus.pending:
        return RegistrationErrorCode.already_confirmed
    return RegistrationErrorCode.closed


def _confirm_in_taken_seat(registration, registration_id, event):
    """Confirm a pending registration in the seat `seats.take_seat_locking_event` took for it,
    with its event's lock: one conditional UPDATE moves it on and reads it back whole (RETURNING),
    current since it runs under the lock, with whether it has workshop bookings; only then are
    they read, to book the requested ones. A refusal rolls back, which gives the seat back and drops
    the « your seat » mail written before the lock. Not committed. `registration_id`: read before
    the lock, which expired `registration` (its `id` would load the row again)."""
    now = utcnow()
    row = db.session.connection().execute(_CONFIRM_PENDING, {"registration_id": registration_id, "now": now}).first()
    if row is None:
        db.session.rollback()
        raise RegistrationError(_confirmation_refusal(registration.status))
    if not event.accepts_registrations(now):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.closed)
    *values, has_bookings = row
    for column, value in zip(_REGISTRATIONS.c, values, strict=True):
        set_committed_value(registration, column.key, value)
    set_committed_value(registration, "event", event)  # as just read, kept for the page (the session holds it weakly)
    if not has_bookings:
        set_committed_value(registration, "bookings", [])
    seats.book_requested_workshops(registration)


# Built once: every confirmation that found a free seat runs it.
_REGISTRATIONS = Registration.__table__
_CONFIRM_PENDING = (
    update(_REGISTRATIONS)
    .where(_REGISTRATIONS.c.id == bindparam("registration_id"), _REGISTRATIONS.c.status == RegistrationStatus.pending)
    .values(status=RegistrationStatus.confirmed, waiting_since=None,
            confirmed_at=bindparam("now", type_=_REGISTRATIONS.c.confirmed_at.type))
    .returning(*_REGISTRATIONS.c,
               exists().where(WorkshopBooking.registration_id == bindparam("registration_id")).label("has_bookings"))
)


def _await_approval(registration):
    """A pending registration whose address is confirmed goes to the organisers for a decision: no
    seat, no waiting list yet; the person is told by mail. Not committed."""
    if not transition(registration, [RegistrationStatus.pending], RegistrationStatus.awaiting_approval,
                      approval_requested_at=utcnow()):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.already_confirmed)
    queue_registration_mail("approval_requested", registration, f"approval-requested:{registration.id}")


# The refusal when another request moved the registration on first, by the status it left.
_MOVED_ON = {
    RegistrationStatus.pending: RegistrationErrorCode.already_confirmed,
    RegistrationStatus.awaiting_approval: RegistrationErrorCode.not_awaiting,
}


def _take_seat_or_wait(registration, was=RegistrationStatus.pending, **values):
    """A registration in status `was` moves on (pending: its address is confirmed; awaiting approval:
    an organiser accepted it, `values` recording the decision): it takes a seat, or joins the
    waiting list, and its mails are queued. The caller holds the event's lock (see the locking
    note in seats.py), so the event read then is current. Not committed; on
    RegistrationError('already_confirmed' or 'not_awaiting': moved on meanwhile; 'closed') the
    transaction is rolled back."""
    event = registration.event
    now = utcnow()
    # The seat check and take is one conditional UPDATE of the event row (see the locking note in seats.py).
    took_seat = seats.take_seat(event)
    if not took_seat:
        seats.join_waiting_list(event)
    # Of two concurrent clicks on the link (or decisions), only one moves the registration on; the
    # other rolls back its counter change.
    if not transition(
        registration, [was],
        RegistrationStatus.confirmed if took_seat else RegistrationStatus.waiting,
        confirmed_at=now, waiting_since=None if took_seat else now, **values,
    ):
        db.session.rollback()
        raise RegistrationError(_MOVED_ON[was])
    if not event.accepts_registrations(now):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.closed)
    if took_seat:
        seats.book_requested_workshops(registration)
        seats.queue_registration_confirmed(registration)
    else:
        # A seat freed between our failed take and joining the list must still be offered.
        enqueue_after_commit(db.session, OFFER_FREE_SEATS, event.id)
        queue_registration_mail("waiting_list", registration, f"waiting-list:{registration.id}")


def waiting_position(registration):
    """1-based place on the event's waiting list, or None when not waiting."""
    if registration.status != RegistrationStatus.waiting:
        return None
    # The order of seats.waiting_order: priority first, then by waiting_since and id.
    earlier = ((Registration.waiting_since < registration.waiting_since)
               | ((Registration.waiting_since == registration.waiting_since) & (Registration.id < registration.id)))
    if registration.priority_at is None:
        before = Registration.priority_at.is_not(None) | earlier
    else:
        before = ((Registration.priority_at < registration.priority_at)
                  | ((Registration.priority_at == registration.priority_at) & earlier))
    ahead = db.session.scalar(
        select(db.func.count()).select_from(Registration).where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.waiting,
            before,
        )
    )
    return ahead + 1


# --- Changes and cancellations by the person (manage link, lost link). ---

def _check_workshops(event, workshops):
    """The chosen workshops are the event's, still there (an organiser may have removed one since
    the form was shown), and no two of them overlap (the form checks too)."""
    if not workshops:
        return
    current = set(db.session.scalars(select(Workshop.id).where(Workshop.event_id == event.id)))
    for i, workshop in enumerate(workshops):
        if workshop.id not in current:
            raise RegistrationError(RegistrationErrorCode.unknown_workshop)
        if any(workshop.overlaps(other) for other in workshops[i + 1:]):
            raise RegistrationError(RegistrationErrorCode.workshops_overlap)


def _booked_workshop_ids(registration):
    return {b.workshop_id for b in registration.bookings if b.status == BookingStatus.booked}


def update_registration(registration, *, first_name, last_name, organisation, actor_type, language, workshops,
                        by=None, answers=None):
    """Change a person's details, workshops (capacity rules apply) and, when `answers` is given
    (question id -> what the form sent), their answers to the event's questions; sends an updated
    invite when something that shows in it changed (name, booked workshops). Commits.
    `by`: the organiser's account, when done from the back office (journalled; the questions are
    then all optional).

    Raises RegistrationError('cancelled') for a registration that ended (cancelled or declined),
    and, when the workshops change, 'event_cancelled', 'closed', 'unknown_workshop' or
    'workshops_overlap'; or questions.AnswersError. Nothing is changed then.
    """
    event = seats.lock_event(registration.event_id)
    try:
        if answers is not None and event.questions:
            db.session.expire(registration, ["answers"])  # as they are now that the event is locked
            questions.set_answers(registration, event.questions, answers, required=by is None)
        if not registration.is_active:
            raise RegistrationError(RegistrationErrorCode.cancelled)
        workshops = list(workshops)
        current = {b.workshop_id: b for b in registration.active_bookings()}
        wanted = {w.id: w for w in workshops}
        if current.keys() != wanted.keys():
            if event.status == EventStatus.cancelled:
                raise RegistrationError(RegistrationErrorCode.event_cancelled)
            if not event.accepts_registrations():
                raise RegistrationError(RegistrationErrorCode.closed)
            _check_workshops(event, workshops)
    except (RegistrationError, questions.AnswersError):
        db.session.rollback()
        raise
    names_before = (registration.first_name, registration.last_name)
    booked_before = _booked_workshop_ids(registration)
    registration.first_name = first_name.strip()
    registration.last_name = last_name.strip()
    registration.organisation = (organisation or "").strip()
    registration.actor_type = actor_type
    registration.language = language
    for workshop_id, booking in current.items():
        if workshop_id not in wanted:
            seats.cancel_booking(booking)
    for workshop_id, workshop in wanted.items():
        if workshop_id not in current:
            seats.add_booking(registration, workshop)
    db.session.flush()
    db.session.expire(registration, ["bookings"])
    invite_changed = (names_before != (registration.first_name, registration.last_name)
                      or booked_before != _booked_workshop_ids(registration))
    if invite_changed and registration.status == RegistrationStatus.confirmed:
        seats.raise_revision(registration)
        seats.queue_invite_updated(registration)
    if by is not None:
        journal.record(event, by, JournalAction.registration_updated, registration_id=registration.id,
                       name=registration.full_name, email=registration.email)
    db.session.commit()
    return registration


def _end_registration(registration, allowed, mail_kind, by=None, *, ended=RegistrationStatus.cancelled,
                      refused=RegistrationErrorCode.not_waiting, action=JournalAction.registration_cancelled):
    """End a registration that is in one of `allowed` statuses: it becomes `ended` (cancelled, or
    declined by an organiser), its seats and places are freed at once, and `mail_kind` is queued
    (CANCEL, with the invite only if the person had one). Commits.

    A second click finds it ended: RegistrationError('already_cancelled') when cancelling one that
    ended, otherwise `refused`; nothing changes.
    """
    event = seats.lock_event(registration.event_id)
    held = registration.status
    when = {"cancelled_at" if ended == RegistrationStatus.cancelled else "decided_at": utcnow()}
    if held not in allowed or not transition(
        registration, [held], ended, revision=seats.NEXT_REVISION, **when,
    ):
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.already_cancelled
                                if held in ENDED_STATUSES and ended == RegistrationStatus.cancelled else refused)
    seats.give_up_place(event, held, registration)
    for booking in registration.active_bookings():
        seats.cancel_booking(booking)
    if by is not None:
        journal.record(event, by, action, registration_id=registration.id,
                       name=registration.full_name, email=registration.email)
    queue_registration_mail(
        mail_kind, registration, f"{mail_kind.replace('_', '-')}:{registration.id}",
        sequence=registration.invite_sequence, with_invite=held == RegistrationStatus.confirmed,
    )
    db.session.commit()
    return registration


def cancel_registration(registration, by=None):
    """Cancel: free the seats at once, queue the CANCEL invite, trigger waiting-list offers. Commits.
    `by`: the organiser's account, when done from the back office (journalled).

    Raises RegistrationError('already_cancelled') when it is cancelled already.
    """
    return _end_registration(registration, ACTIVE_STATUSES, "registration_cancelled", by=by)


def leave_waiting_list(registration):
    """Leave the event's waiting list (the registration ends; an open offer is withdrawn). Commits.

    Raises RegistrationError('already_cancelled'), or 'not_waiting' when the person is not (any
    more) on the waiting list.
    """
    return _end_registration(
        registration, (RegistrationStatus.waiting, RegistrationStatus.offered), "registration_cancelled"
    )


# --- The organisers' decision, for an event that needs approval. ---

def _check_decidable(event, registration):
    """Raise RegistrationError (after a rollback) unless the registration awaits a decision that can
    still be taken: 'not_awaiting', or 'event_cancelled'."""
    try:
        if registration.status != RegistrationStatus.awaiting_approval:
            raise RegistrationError(RegistrationErrorCode.not_awaiting)
        if event.status == EventStatus.cancelled:
            raise RegistrationError(RegistrationErrorCode.event_cancelled)
    except RegistrationError:
        db.session.rollback()
        raise


def accept_registration(registration, by):
    """An organiser (`by`) accepts a request: by the usual rules, the person takes a seat (a free
    one, when nobody waits) or joins the waiting list, their workshops are booked (or waited for),
    and they get the usual mail (confirmation with the invite, or the waiting list). Journalled.
    Commits; returns the registration.

    Raises RegistrationError('not_awaiting') when it awaits no decision (any more: of two
    decisions at once, one wins), 'event_cancelled', or 'closed' (registrations closed: the
    request can still be declined).
    """
    event = seats.lock_event(registration.event_id)
    _check_decidable(event, registration)
    if not event.accepts_registrations():
        db.session.rollback()
        raise RegistrationError(RegistrationErrorCode.closed)
    _take_seat_or_wait(registration, RegistrationStatus.awaiting_approval, decided_at=utcnow())
    journal.record(event, by, JournalAction.registration_accepted, registration_id=registration.id,
                   name=registration.full_name, email=registration.email)
    db.session.commit()
    return registration


def decline_registration(registration, by):
    """An organiser (`by`) declines a request: the registration ends (its workshop requests too)
    and the person gets a polite mail. They may register again: a new request. Journalled.
    Commits; returns the registration.

    Raises RegistrationError('not_awaiting') when it awaits no decision (any more: of two
    decisions at once, one wins), or 'event_cancelled' (everyone was told already).
    """
    event = seats.lock_event(registration.event_id)
    _check_decidable(event, registration)
    return _end_registration(
        registration, [RegistrationStatus.awaiting_approval], "registration_declined", by,
        ended=RegistrationStatus.declined, refused=RegistrationErrorCode.not_awaiting,
        action=JournalAction.registration_declined,
    )


def accept_all_requests(event, by):
    """An organiser (`by`) accepts every request of the event that awaits a decision, the oldest
    first (so the seats go in the order people asked), each as `accept_registration` does, in a
    transaction of its own; a request decided meanwhile by someone else is left alone. Stops when
    registrations close or the event is cancelled. Returns the registrations accepted."""
    ids = db.session.scalars(
        select(Registration.id).where(Registration.event_id == event.id,
                                      Registration.status == RegistrationStatus.awaiting_approval)
        .order_by(Registration.approval_requested_at, Registration.id)
    ).all()
    db.session.rollback()
    accepted = []
    for registration_id in ids:
        registration = db.session.get(Registration, registration_id)
        try:
            accepted.append(accept_registration(registration, by))
        except RegistrationError as exc:
            if exc.code != RegistrationErrorCode.not_awaiting:
                break
    return accepted


def send_lost_links(email):
    """Mail this address the manage links of its active registrations to events not over yet
    (nothing if none; at most one mail per address and RESEND_WINDOW_SECONDS; to an address whose
    registrations are all pending, none once it got this hour's share of mails checking it:
    see address_checks). Commits.

    Returns the id of the outbox row, or None.
    """
    email = email.strip().lower()
    found = db.session.scalars(
        select(Registration).join(Event).where(
            Registration.email == email,
            Registration.status.in_(ACTIVE_STATUSES),
            Event.ends_at > utcnow(),
        ).order_by(Event.starts_at, Registration.id)
    ).all()
    if not found:
        return None
    # To an address nobody confirmed, the mail checks it (it carries confirmation links): capped.
    unconfirmed = all(registration.status == RegistrationStatus.pending for registration in found)
    if unconfirmed and not address_checks.may_check_address(email):
        db.session.rollback()
        return None
    # The address may be long: the de-duplication key carries a digest of it.
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    latest = max(found, key=lambda registration: registration.id)
    row_id = queue_mail(
        "lost_links", email, f"lost-links:{digest}:{_resend_bucket()}", language=latest.language,
        payload={"registration_ids": [r.id for r in found]},
    )
    db.session.commit()
    return row_id


def counts_by_status(event_ids):
    """{event id: {RegistrationStatus: number of registrations}} for these events (statuses
    without registrations left out)."""
    rows = db.session.execute(
        select(Registration.event_id, Registration.status, func.count())
        .where(Registration.event_id.in_(event_ids)).group_by(Registration.event_id, Registration.status)
    )
    counts = {event_id: {} for event_id in event_ids}
    for event_id, status, number in rows:
        counts[event_id][status] = number
    return counts
