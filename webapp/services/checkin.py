"""Check-in at the door on the day: find a person (by the code of their QR code, or by name), record
their arrival, undo it, add a person who came without registering, and the attendance sheets.

One check-in per registration, enforced by the database (the unique `checkins.registration_id`):
of two organisers checking the same person in at once, the first INSERT wins and the other is told
who did it, and when. A page may send the same check-in again (a retry from its offline queue after
an answer was lost): its `request_id` makes that retry a success, not a second arrival.

Only a confirmed registration (one holding a seat) can be checked in; for the others the page
shows why (`warnings`). A cancellation at the same moment is serialised with the check-in by a lock
of the registration's row (see `check_in`); a person checked in can still cancel later, their
arrival stays a fact. Check-ins, undos and walk-ins are journalled with the organiser's account.
"""
import enum
import re
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import BookingStatus, CheckIn, JournalAction, Registration, RegistrationStatus, WorkshopBooking
from ..models.registrations import CHECKIN_CODE_ALPHABET, CHECKIN_CODE_LENGTH
from . import journal, registration_list, registrations

SEARCH_LIMIT = 25

_CODE = re.compile(f"[{CHECKIN_CODE_ALPHABET}]{{{CHECKIN_CODE_LENGTH}}}")


class CheckInWarning(enum.StrEnum):
    """Why a person found at the door needs a second look (their wording is in the pages)."""
    pending = "pending"      # address never confirmed: no seat
    waiting = "waiting"      # on the waiting list: no seat
    offered = "offered"      # a seat is offered but not accepted yet
    awaiting_approval = "awaiting_approval"  # the organisers have not accepted the request yet: no seat
    cancelled = "cancelled"
    declined = "declined"    # the organisers declined the request
    already_checked_in = "already_checked_in"


class Outcome(enum.StrEnum):
    checked_in = "checked_in"                  # stored now, or already stored by this same request
    already_checked_in = "already_checked_in"  # someone (maybe the same organiser) did it before
    refused = "refused"                        # not a confirmed registration: see the warnings


@dataclass
class Result:
    outcome: Outcome
    registration: Registration
    checkin: CheckIn | None = None
    warnings: list = field(default_factory=list)


def normalise_code(text):
    """The check-in code in what was typed or scanned: spaces and dashes left out, capitals; a
    scanned text that holds more (an address) gives the code at its end. None when there is none."""
    cleaned = re.sub(r"[\s-]", "", text or "").upper()
    found = _CODE.findall(cleaned)
    return found[-1] if found else None


def find_by_code(event, text):
    """The event's registration whose check-in code is in `text`, or None (a code of another event
    too: the page says « not found » either way)."""
    code = normalise_code(text)
    if code is None:
        return None
    return db.session.scalars(
        select(Registration).where(Registration.event_id == event.id, Registration.checkin_code == code)
    ).one_or_none()


def search(event, text):
    """The event's registrations whose name or organisation (or address) contains `text`, sorted by
    name: the first SEARCH_LIMIT of them, and how many there are in all."""
    page = registration_list.page_of(event, registration_list.Filters(search=text),
                                     registration_list.SortOrder.name, 1, SEARCH_LIMIT)
    return page.items, page.total


def warnings(registration):
    """What the page must point out about this person (a list of CheckInWarning, empty when all is well)."""
    found = []
    if registration.status != RegistrationStatus.confirmed:
        found.append(CheckInWarning(registration.status.value))
    if registration.checkin is not None:
        found.append(CheckInWarning.already_checked_in)
    return found


def check_in(registration, by, request_id=None):
    """Record the person's arrival (journalled) and commit; returns a Result.

    Only a confirmed registration is checked in (else `refused`, with its warnings). When it is
    checked in already: `checked_in` if that was this `request_id` (a retry), else
    `already_checked_in` with the existing check-in (who, when).

    The registration's row is locked and read again first (on SQLite every transaction already
    holds the write lock): of a check-in and a cancellation of the same person at the same moment,
    either the cancellation is stored first and the check-in is refused (`cancelled`), or the
    check-in is stored first and the cancellation waits for it, then goes on (the person's arrival
    stays recorded). A check-in is never stored after the person's cancellation."""
    # FOR NO KEY UPDATE, the lock a cancellation's UPDATE of the row takes: rows referring to the
    # registration (the check-in, the journal) can still be inserted.
    db.session.refresh(registration, with_for_update={"key_share": True})
    if registration.status != RegistrationStatus.confirmed:
        result = Result(Outcome.refused, registration, registration.checkin, warnings(registration))
        db.session.rollback()  # the lock is released
        return result
    checkin = CheckIn(registration_id=registration.id, event_id=registration.event_id,
                      checked_in_by_id=by.id if by is not None else None, request_id=request_id or None)
    try:
        with db.session.begin_nested():
            db.session.add(checkin)
            journal.record(registration.event, by, JournalAction.checked_in, registration_id=registration.id,
                           name=registration.full_name)
    except IntegrityError:  # checked in already (maybe at this very moment, by someone else)
        db.session.rollback()
        existing = db.session.scalars(select(CheckIn).where(CheckIn.registration_id == registration.id)).one()
        if request_id and existing.request_id == request_id:
            return Result(Outcome.checked_in, registration, existing)
        return Result(Outcome.already_checked_in, registration, existing, [CheckInWarning.already_checked_in])
    db.session.commit()
    return Result(Outcome.checked_in, registration, checkin)


def undo_check_in(registration, by):
    """Undo the person's check-in (journalled) and commit; False when they were not checked in."""
    removed = db.session.execute(delete(CheckIn).where(CheckIn.registration_id == registration.id)).rowcount
    if removed:
        journal.record(registration.event, by, JournalAction.checkin_undone, registration_id=registration.id,
                       name=registration.full_name)
    db.session.commit()
    db.session.expire(registration)
    return bool(removed)


def add_walk_in(event, by, *, first_name, last_name, email, organisation, actor_type, language):
    """A person who came without registering: registered (see `registrations.add_walk_in`, which
    raises RegistrationError when that cannot be done) and checked in, in one transaction. Commits;
    returns the registration."""
    registration = registrations.add_walk_in(
        event, by=by, first_name=first_name, last_name=last_name, email=email, organisation=organisation,
        actor_type=actor_type, language=language)
    db.session.add(CheckIn(registration_id=registration.id, event_id=event.id,
                           checked_in_by_id=by.id if by is not None else None))
    journal.record(event, by, JournalAction.checked_in, registration_id=registration.id,
                   name=registration.full_name)
    db.session.commit()
    return registration


def present_count(event):
    """How many people of the event are checked in."""
    return db.session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.event_id == event.id))


def attendance(event, workshop=None):
    """The people expected, for the signature sheet: the event's confirmed registrations (walk-ins
    included), or those with a seat in `workshop`, sorted by last name then first name; with their
    booked workshops and check-in loaded."""
    query = (select(Registration)
             .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.confirmed)
             .options(selectinload(Registration.bookings).joinedload(WorkshopBooking.workshop),
                      selectinload(Registration.checkin))
             .order_by(func.lower(Registration.last_name), func.lower(Registration.first_name), Registration.id))
    if workshop is not None:
        query = query.where(Registration.bookings.any(
            (WorkshopBooking.workshop_id == workshop.id) & (WorkshopBooking.status == BookingStatus.booked)))
    return db.session.scalars(query).all()


def booked_workshops(registration):
    """The workshops where the person has a seat, in time order."""
    return sorted((b.workshop for b in registration.bookings if b.status == BookingStatus.booked),
                  key=lambda workshop: (workshop.starts_at, workshop.title))
