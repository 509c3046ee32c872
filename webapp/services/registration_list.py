"""The registrations of one event as the back office lists them: search, filters, sort and pages.

A page costs a bounded number of queries whatever its size: one for the rows, one to count
them, one for their workshop bookings (eager-loaded); an export loads the answers to the event's
questions the same way. The indexes of the model serve the usual orders (name, date) and filters
(status, workshop, the answer to a choice or yes/no question).
"""
import enum
import math
from dataclasses import dataclass

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import (
    Answer,
    BookingStatus,
    CheckIn,
    JournalEntry,
    Registration,
    RegistrationStatus,
    SeatOffer,
    WorkshopBooking,
)
from ..models.questions import answer_choices
from ..models.registrations import ACTIVE_STATUSES

PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50


class SortOrder(enum.StrEnum):
    name = "name"        # last name, first name
    newest = "newest"    # the latest registrations first
    oldest = "oldest"
    status = "status"    # seats, offers, waiting list, requests to decide, pending addresses, ended; then by name


# The order of the `status` sort: who holds or may get a seat first.
STATUS_ORDER = (RegistrationStatus.confirmed, RegistrationStatus.offered, RegistrationStatus.waiting,
                RegistrationStatus.awaiting_approval, RegistrationStatus.pending, RegistrationStatus.cancelled,
                RegistrationStatus.declined)

# A status filter may also ask for every registration that is not cancelled.
ACTIVE = "active"


class Presence(enum.StrEnum):
    """Whether the person came, from the check-ins at the door."""
    present = "present"
    absent = "absent"


@dataclass(frozen=True)
class Filters:
    """What the list shows: `search` in names, address and organisation; `status` (a
    RegistrationStatus, ACTIVE or None for all), `actor_type` (a key), `workshop_id` (people with
    an active booking of that workshop), `choice_id` (people who chose that choice of a question),
    `yes_no` ((question id, True or False): people who answered that to a yes/no question),
    `presence` (a Presence: people checked in at the door, or not)."""
    search: str = ""
    status: str | None = None
    actor_type: str | None = None
    workshop_id: int | None = None
    choice_id: int | None = None
    yes_no: tuple | None = None
    presence: str | None = None


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    number: int
    per_page: int

    @property
    def pages(self):
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def first_index(self):
        """1-based position of the first row shown (0 when there is none)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self):
        return self.first_index + len(self.items) - 1 if self.items else 0


def filter_conditions(event, filters):
    """The WHERE conditions on Registration of the event's registrations matching `filters`."""
    conditions = [Registration.event_id == event.id]
    if filters.search:
        phrase = " ".join(filters.search.split())
        full_name = Registration.first_name + " " + Registration.last_name
        reversed_name = Registration.last_name + " " + Registration.first_name
        conditions.append(or_(
            full_name.icontains(phrase, autoescape=True),
            reversed_name.icontains(phrase, autoescape=True),
            Registration.email.icontains(phrase, autoescape=True),
            Registration.organisation.icontains(phrase, autoescape=True),
        ))
    if filters.status == ACTIVE:
        conditions.append(Registration.status.in_(ACTIVE_STATUSES))
    elif filters.status:
        conditions.append(Registration.status == RegistrationStatus(filters.status))
    if filters.actor_type:
        conditions.append(Registration.actor_type == filters.actor_type)
    if filters.workshop_id is not None:
        conditions.append(exists().where(
            WorkshopBooking.registration_id == Registration.id,
            WorkshopBooking.workshop_id == filters.workshop_id,
            WorkshopBooking.status != BookingStatus.cancelled,
        ))
    if filters.choice_id is not None:
        conditions.append(exists().where(
            Answer.registration_id == Registration.id, answer_choices.c.answer_id == Answer.id,
            answer_choices.c.choice_id == filters.choice_id,
        ))
    if filters.yes_no is not None:
        question_id, yes = filters.yes_no
        conditions.append(exists().where(
            Answer.registration_id == Registration.id, Answer.question_id == question_id, Answer.yes == yes))
    if filters.presence is not None:
        came = exists().where(CheckIn.registration_id == Registration.id)
        conditions.append(came if Presence(filters.presence) == Presence.present else ~came)
    return conditions


def _order(sort):
    by_name = (func.lower(Registration.last_name), func.lower(Registration.first_name), Registration.id)
    if sort == SortOrder.newest:
        return (Registration.created_at.desc(), Registration.id.desc())
    if sort == SortOrder.oldest:
        return (Registration.created_at, Registration.id)
    if sort == SortOrder.status:
        rank = case({status: rank for rank, status in enumerate(STATUS_ORDER)}, value=Registration.status)
        return (rank, *by_name)
    return by_name


def _with_bookings(query):
    """Each registration's workshop bookings (and their workshops) in one more query."""
    return query.options(selectinload(Registration.bookings).joinedload(WorkshopBooking.workshop))


def page_of(event, filters, sort=SortOrder.name, number=1, per_page=DEFAULT_PER_PAGE):
    """Page `number` (1-based; past the last page, the last one) of the registrations matching
    `filters`, in `sort` order."""
    conditions = filter_conditions(event, filters)
    total = db.session.scalar(select(func.count()).select_from(Registration).where(*conditions))
    number = min(max(number, 1), max(math.ceil(total / per_page), 1))
    items = db.session.scalars(_with_bookings(
        select(Registration).where(*conditions).order_by(*_order(sort))
        .limit(per_page).offset((number - 1) * per_page)
    )).all()
    return Page(items=list(items), total=total, number=number, per_page=per_page)


def all_matching(event, filters, sort=SortOrder.name):
    """Every registration matching `filters` (an export), with its bookings and its answers."""
    return db.session.scalars(_with_bookings(
        select(Registration).where(*filter_conditions(event, filters)).order_by(*_order(sort))
    ).options(selectinload(Registration.answers).selectinload(Answer.choices))).all()


def registration_of(event, registration_id):
    """The event's registration with this id, or None (a registration of another event too)."""
    return db.session.scalar(
        select(Registration).where(Registration.id == registration_id, Registration.event_id == event.id)
        .options(selectinload(Registration.bookings).joinedload(WorkshopBooking.workshop),
                 selectinload(Registration.answers).selectinload(Answer.choices))
    )


class Step(enum.StrEnum):
    """A step of a registration's history."""
    registered = "registered"
    awaiting_approval = "awaiting_approval"  # address confirmed, the request sent to the organisers
    waiting = "waiting"            # address confirmed, on the waiting list
    seat = "seat"                  # address confirmed with a seat, or a seat offer accepted
    offered = "offered"            # a seat offered from a waiting list (details: the workshop, if any)
    offer_answered = "offer_answered"  # details: the OfferStatus, the workshop
    cancelled = "cancelled"
    journal = "journal"            # an organiser's action (details: the JournalEntry)


@dataclass(frozen=True)
class HistoryItem:
    moment: object
    step: Step
    offer: SeatOffer | None = None
    entry: JournalEntry | None = None


def history(registration):
    """What happened to a registration, the oldest first: its own timestamps, its seat offers and
    the journal entries about it."""
    items = [HistoryItem(registration.created_at, Step.registered)]
    if registration.approval_requested_at is not None:
        items.append(HistoryItem(registration.approval_requested_at, Step.awaiting_approval))
    if registration.waiting_since is not None:
        items.append(HistoryItem(registration.waiting_since, Step.waiting))
    if registration.confirmed_at is not None and registration.confirmed_at != registration.waiting_since:
        items.append(HistoryItem(registration.confirmed_at, Step.seat))
    offers = db.session.scalars(
        select(SeatOffer).where(SeatOffer.registration_id == registration.id)
        .options(joinedload(SeatOffer.workshop)).order_by(SeatOffer.created_at, SeatOffer.id)
    ).all()
    for offer in offers:
        items.append(HistoryItem(offer.created_at, Step.offered, offer=offer))
        if offer.answered_at is not None:
            items.append(HistoryItem(offer.answered_at, Step.offer_answered, offer=offer))
    if registration.cancelled_at is not None:
        items.append(HistoryItem(registration.cancelled_at, Step.cancelled))
    entries = db.session.scalars(
        select(JournalEntry).where(
            JournalEntry.event_id == registration.event_id,
            JournalEntry.details["registration_id"].as_integer() == registration.id,
        ).options(joinedload(JournalEntry.user))
    ).all()
    items += [HistoryItem(entry.created_at, Step.journal, entry=entry) for entry in entries]
    return sorted(items, key=lambda item: item.moment)
