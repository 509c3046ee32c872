"""Registering for an event and confirming the address."""
import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    BookingStatus,
    Registration,
    RegistrationStatus,
    WorkshopBooking,
)
from ..models.base import utcnow
from ..models.registrations import ACTIVE_STATUSES
from . import seats, tokens
from .dispatch import OFFER_FREE_SEATS, enqueue_after_commit
from .mailing import queue_mail
from .state import transition

log = logging.getLogger(__name__)

# A person who submits the form again gets at most one mail per window (anti-flood).
RESEND_WINDOW_SECONDS = 600


class RegistrationError(Exception):
    """A registration step that cannot be done; `code` says why (shown as a friendly page)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


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


def register(event, *, first_name, last_name, email, organisation, actor_type, language,
             workshops=()):
    """Create a pending registration and queue the "confirm your address" mail.

    If the address already has an active registration for this event, nothing new is created:
    that person is mailed their confirmation link again (or, once confirmed, their manage link).
    The caller shows the same answer in both cases, so the form reveals nothing.
    Commits. Returns the registration.
    """
    if not event.accepts_registrations():
        raise RegistrationError("closed")
    email = email.strip().lower()
    registration = Registration(
        event=event,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email,
        organisation=(organisation or "").strip(),
        actor_type=actor_type,
        language=language,
        status=RegistrationStatus.pending,
        privacy_consent_at=utcnow(),
    )
    registration.bookings = [WorkshopBooking(workshop=w, status=BookingStatus.requested) for w in workshops]
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError:  # an active registration exists for this address (maybe concurrently)
        existing = find_active_registration(event, email)
        if existing is None:
            raise
        resend_links(existing)
        db.session.commit()
        return existing
    db.session.flush()
    queue_confirm_address(registration)
    db.session.commit()
    return registration


def queue_confirm_address(registration, dedup_suffix="0"):
    return queue_mail(
        "confirm_address", registration.email, f"confirm-address:{registration.id}:{dedup_suffix}",
        language=registration.language, registration=registration,
    )


def resend_links(registration):
    """Mail a person the link they need now: confirmation while pending, else their manage link."""
    bucket = _resend_bucket()
    if registration.status == RegistrationStatus.pending:
        return queue_confirm_address(registration, dedup_suffix=f"resend-{bucket}")
    return queue_mail(
        "manage_link", registration.email, f"manage-link:{registration.id}:{bucket}",
        language=registration.language, registration=registration,
    )


def registration_from_token(purpose, token, max_age=None):
    """Load the registration a signed link points at, or raise tokens.InvalidLink."""
    reg_id, version = tokens.read_token(purpose, token, max_age=max_age)[:2]
    registration = db.session.get(Registration, reg_id)
    if registration is None or registration.token_version != version:
        raise tokens.InvalidLink("invalid")
    return registration


def confirm_address(token):
    """Confirm the address behind a confirmation link: take a seat, or join the waiting list.

    Raises tokens.InvalidLink for forged or expired links and RegistrationError('already_confirmed'
    / 'cancelled' / 'closed') for links that cannot be used (any more). Commits.
    """
    registration = registration_from_token(
        "confirm", token, max_age=current_app.config["CONFIRM_LINK_MAX_AGE"].total_seconds()
    )
    if registration.status == RegistrationStatus.cancelled:
        raise RegistrationError("cancelled")
    if registration.status != RegistrationStatus.pending:
        raise RegistrationError("already_confirmed")
    event = registration.event
    if not event.accepts_registrations():
        raise RegistrationError("closed")
    now = utcnow()
    # Claim the pending registration first: of two concurrent clicks, only one goes on.
    if not transition(registration, [RegistrationStatus.pending], RegistrationStatus.waiting, confirmed_at=now):
        db.session.rollback()
        raise RegistrationError("already_confirmed")
    if seats.take_seat(event):
        registration.status = RegistrationStatus.confirmed
        book_requested_workshops(registration)
        queue_mail(
            "registration_confirmed", registration.email, f"registration-confirmed:{registration.id}",
            language=registration.language, registration=registration,
            payload={"method": "REQUEST", "sequence": registration.invite_sequence},
        )
    else:
        seats.join_waiting_list(event)
        registration.waiting_since = now
        # A seat freed between our failed take and joining the list must still be offered.
        enqueue_after_commit(db.session, OFFER_FREE_SEATS, event.id)
        queue_mail(
            "waiting_list", registration.email, f"waiting-list:{registration.id}",
            language=registration.language, registration=registration,
        )
    db.session.commit()
    return registration


def book_requested_workshops(registration):
    """Give a seat (or a waiting-list place) in each workshop the person chose."""
    now = utcnow()
    for booking in registration.bookings:
        if booking.status != BookingStatus.requested:
            continue
        if seats.take_seat(booking.workshop):
            booking.status = BookingStatus.booked
        else:
            seats.join_waiting_list(booking.workshop)
            booking.status = BookingStatus.waiting
            booking.waiting_since = now


def waiting_position(registration):
    """1-based place on the event's waiting list, or None when not waiting."""
    if registration.status != RegistrationStatus.waiting:
        return None
    ahead = db.session.scalar(
        select(db.func.count()).select_from(Registration).where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.waiting,
            (Registration.waiting_since < registration.waiting_since)
            | ((Registration.waiting_since == registration.waiting_since) & (Registration.id < registration.id)),
        )
    )
    return ahead + 1


# --- Issue "Seats you can trust": implemented in this module and in seats.py. ---

def update_registration(registration, *, first_name, last_name, organisation, actor_type, language, workshops):
    """Change a person's details and workshops (capacity rules apply); sends an updated
    invite when something that shows in it changed. Commits."""
    raise NotImplementedError


def cancel_registration(registration):
    """Cancel: free the seats at once, queue the CANCEL invite, trigger waiting-list offers. Commits."""
    raise NotImplementedError


def leave_waiting_list(registration):
    """Leave the event's waiting list (the registration ends). Commits."""
    raise NotImplementedError


def send_lost_links(email):
    """Mail this address the manage links of its active registrations (nothing if none). Commits."""
    raise NotImplementedError


def notify_event_changed(event):
    """After a change of the event's time or place: raise its revision and queue an updated
    invite to every confirmed person. The caller commits."""
    raise NotImplementedError


def cancel_event(event):
    """Cancel the event: CANCEL invite to confirmed people, notice to others, offers withdrawn.
    The caller commits."""
    raise NotImplementedError
