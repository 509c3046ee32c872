"""The figures of the dashboards: one event (and its workshops), and the network's events of a period.

Every figure comes from a few SQL aggregates (GROUP BY over registrations, bookings, check-ins and
seat offers), never from a loop over the rows: an event's figures take three statements whatever
its size (plus its workshops), the network's four. The functions return plain dataclasses; the
pages, their charts (webapp/charts.py) and the CSV exports are all drawn from them.

What is counted:
- registered: registrations that have not ended (ACTIVE_STATUSES: address to confirm, awaiting
  the organisers' approval, seat, offer, waiting; not cancelled nor declined); for a workshop, its
  bookings that are not cancelled, of such registrations;
- confirmed: registrations holding a confirmed seat (for a workshop: booked seats);
- present: registrations (not ended) with a check-in, i.e. people checked in at the door
  (for a workshop: its booked people checked in at the event's door; there is no check-in per
  workshop);
- registrations over time: per day in the event's time zone, the running total of registrations
  made (those cancelled later included) and of registrations that got a seat (when their address
  was confirmed with a seat free, or when they accepted a seat offer; cancelled later included);
- waiting list over time: the number of people on the event's waiting list at the end of each
  day, from the registrations' timestamps: a person joins it at `waiting_since` and leaves it at
  their first seat offer (the seat is then held for them) or when they cancel. A person whose
  offer was withdrawn (the event was cancelled) and who waited again is counted as gone at the offer.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import (
    ACTOR_TYPES,
    BookingStatus,
    CheckIn,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    SeatOffer,
    WorkshopBooking,
)
from ..models.base import utcnow
from ..models.registrations import ACTIVE_STATUSES

# Moments are grouped by quarter of an hour (UTC) in SQL, then the groups by day in the event's
# time zone: every zone's offset is a whole number of quarters of an hour, so no group straddles
# two local days, and the database needs no time zone support (SQLite has none).
QUARTER = 900  # seconds


class _quarter_hour(FunctionElement):
    """The number of the quarter of an hour (since 1970, UTC) of a moment."""
    type = Integer()
    inherit_cache = True


@compiles(_quarter_hour, "sqlite")
def _quarter_hour_sqlite(element, compiler, **kw):
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / {QUARTER})"


@compiles(_quarter_hour, "postgresql")
def _quarter_hour_postgresql(element, compiler, **kw):
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)}) / {QUARTER}) AS INTEGER)"


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class ActorMix:
    """How many people of one family of actors (an ACTOR_TYPES key) are registered, confirmed, present."""
    actor_type: str
    registered: int = 0
    confirmed: int = 0
    present: int = 0


@dataclass(frozen=True)
class Pool:
    """Seats and people of the event or of one workshop."""
    title: str
    capacity: int | None
    taken: int        # seats held (confirmed or offered), the pool's counter
    waiting: int      # people waiting now, the pool's counter
    mix: list         # ActorMix per family of actors, in the order of ACTOR_TYPES
    workshop_id: int | None = None

    @property
    def registered(self):
        return sum(row.registered for row in self.mix)

    @property
    def confirmed(self):
        return sum(row.confirmed for row in self.mix)

    @property
    def present(self):
        return sum(row.present for row in self.mix)

    @property
    def percent_taken(self):
        """Seats taken in % of the capacity (None when unlimited or no seat)."""
        return round(100 * self.taken / self.capacity) if self.capacity else None

    @property
    def attendance_rate(self):
        """People present in % of the people confirmed (None when nobody is confirmed)."""
        return round(100 * self.present / self.confirmed) if self.confirmed else None


@dataclass(frozen=True)
class Day:
    """One day of the event's registrations (in its time zone)."""
    day: date
    registrations: int  # registrations made, running total
    seats: int          # registrations that got a seat, running total
    waiting: int        # people on the waiting list at the end of the day


@dataclass(frozen=True)
class EventFigures:
    event: Event
    pool: Pool
    workshops: list   # Pool per workshop, in the event's order
    days: list        # Day, from the first registration to the last change
    ended: bool       # the event is over: attendance means something


def _mixes(rows):
    """{group: [ActorMix…]} from (group, actor_type, registered, confirmed, present) rows, every
    family of actors present (zeros included), the known ones first in their order."""
    found = defaultdict(dict)
    for group, actor_type, registered, confirmed, present in rows:
        found[group][actor_type] = ActorMix(actor_type, registered, confirmed, present)
    mixes = {}
    for group, by_type in found.items():
        keys = list(ACTOR_TYPES) + sorted(set(by_type) - set(ACTOR_TYPES))
        mixes[group] = [by_type.get(key, ActorMix(key)) for key in keys]
    return mixes


def _empty_mix():
    return [ActorMix(key) for key in ACTOR_TYPES]


def _registration_mix(event_ids):
    """(event_id, actor_type, registered, confirmed, present) rows of these events."""
    active = Registration.status.in_(ACTIVE_STATUSES)
    return db.session.execute(
        select(Registration.event_id, Registration.actor_type, _count_if(active),
               _count_if(Registration.status == RegistrationStatus.confirmed),
               _count_if(active & CheckIn.id.is_not(None)))
        .outerjoin(CheckIn, CheckIn.registration_id == Registration.id)
        .where(Registration.event_id.in_(event_ids))
        .group_by(Registration.event_id, Registration.actor_type)
    ).all()


def _workshop_mix(event):
    """(workshop_id, actor_type, registered, booked, present) rows of the event's workshops."""
    active = (WorkshopBooking.status != BookingStatus.cancelled) & (Registration.status.in_(ACTIVE_STATUSES))
    booked = active & (WorkshopBooking.status == BookingStatus.booked)
    return db.session.execute(
        select(WorkshopBooking.workshop_id, Registration.actor_type, _count_if(active), _count_if(booked),
               _count_if(booked & CheckIn.id.is_not(None)))
        .join(Registration, Registration.id == WorkshopBooking.registration_id)
        .outerjoin(CheckIn, CheckIn.registration_id == Registration.id)
        .where(Registration.event_id == event.id)
        .group_by(WorkshopBooking.workshop_id, Registration.actor_type)
    ).all()


def _timeline(event):
    """The days of the event's registrations (see the module's note), from one statement: the
    moments of each kind counted per quarter of an hour."""
    first_offer = (
        select(SeatOffer.registration_id, func.min(SeatOffer.created_at).label("offered_at"))
        .where(SeatOffer.workshop_id.is_(None)).group_by(SeatOffer.registration_id).subquery()
    )
    left_waiting = func.coalesce(first_offer.c.offered_at, Registration.cancelled_at)
    got_seat = Registration.confirmed_at.is_not(None) & (
        Registration.waiting_since.is_(None) | (Registration.confirmed_at != Registration.waiting_since))

    def counted(kind, moment, *conditions, joined=False):
        query = select(literal(kind).label("kind"), _quarter_hour(moment).label("quarter"), func.count())
        if joined:
            query = query.outerjoin(first_offer, first_offer.c.registration_id == Registration.id)
        else:
            query = query.select_from(Registration)
        return query.where(Registration.event_id == event.id, *conditions).group_by(_quarter_hour(moment))

    rows = db.session.execute(union_all(
        counted("made", Registration.created_at),
        counted("seat", Registration.confirmed_at, got_seat),
        counted("wait", Registration.waiting_since, Registration.waiting_since.is_not(None)),
        counted("left", left_waiting, Registration.waiting_since.is_not(None), left_waiting.is_not(None),
                joined=True),
    )).all()
    if not rows:
        return []
    changes = defaultdict(lambda: defaultdict(int))  # local day -> kind -> number
    for kind, quarter, number in rows:
        day = datetime.fromtimestamp(quarter * QUARTER, UTC).astimezone(event.tz).date()
        changes[day][kind] += number
    days, made, seats, waiting = [], 0, 0, 0
    day, last = min(changes), max(changes)
    while day <= last:
        change = changes.get(day, {})
        made += change.get("made", 0)
        seats += change.get("seat", 0)
        waiting += change.get("wait", 0) - change.get("left", 0)
        days.append(Day(day, made, seats, waiting))
        day += timedelta(days=1)
    return days


def event_figures(event, now=None):
    """The figures of one event's dashboard."""
    now = now or utcnow()
    mixes = _mixes((None, *row[1:]) for row in _registration_mix([event.id]))
    pool = Pool(event.title, event.capacity, event.seats_taken, event.waiting_count, mixes.get(None, _empty_mix()))
    workshop_mixes = _mixes(_workshop_mix(event)) if event.workshops else {}
    workshops = [Pool(w.title, w.capacity, w.seats_taken, w.waiting_count, workshop_mixes.get(w.id, _empty_mix()),
                      workshop_id=w.id) for w in event.workshops]
    return EventFigures(event, pool, workshops, _timeline(event), ended=now >= event.ends_at)


# --- The network's events of a period ---

@dataclass(frozen=True)
class NetworkEvent:
    event: Event
    pool: Pool        # registered, confirmed, present and their mix of actors
    returning: int    # registered people already registered at an earlier event of the network
    ended: bool

    @property
    def newcomers(self):
        return self.pool.registered - self.returning


@dataclass(frozen=True)
class NetworkFigures:
    start: date
    end: date
    events: list = field(default_factory=list)   # NetworkEvent, by start date
    people: int = 0     # different addresses registered at the period's events
    several: int = 0    # of them, those registered at two events of the period or more

    def actor_types(self):
        """The families of actors of the period's mixes: every ACTOR_TYPES key, then any other found."""
        found = {row.actor_type for item in self.events for row in item.pool.mix}
        return list(ACTOR_TYPES) + sorted(found - set(ACTOR_TYPES))


def default_period(today):
    """The last twelve months (365 days), today included: (start, end) dates."""
    return today - timedelta(days=364), today


def _period_bounds(start, end, zone):
    """[start 00:00, day after end 00:00) in `zone`, as UTC moments."""
    tz = ZoneInfo(zone)
    return (datetime.combine(start, time.min, tz).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC))


def network_figures(start, end, zone, now=None):
    """The published events starting between the dates `start` and `end` (included, in `zone`),
    side by side, with the people who came back to the network and the newcomers."""
    now = now or utcnow()
    low, high = _period_bounds(start, end, zone)
    events = db.session.scalars(
        select(Event).where(Event.status == EventStatus.published, Event.starts_at >= low, Event.starts_at < high)
        .order_by(Event.starts_at, Event.id)
    ).all()
    if not events:
        return NetworkFigures(start, end)
    ids = [event.id for event in events]
    mixes = _mixes(_registration_mix(ids))
    active = Registration.status.in_(ACTIVE_STATUSES)
    # People are told apart by the keyed hash of their address (`services.person_keys`), which
    # outlives the address when a registration is anonymised. No index on it: these aggregates read
    # every registration anyway, and PostgreSQL keeps its sequential scan and hash aggregate with
    # such an index (measured on the benchmark's 40,000 registrations).
    address = Registration.person_key

    # Each address's first event of the network (published, registration not ended).
    first = (
        select(address.label("address"), func.min(Event.starts_at).label("first_start"))
        .join(Event, Event.id == Registration.event_id)
        .where(active, Event.status == EventStatus.published).group_by(address).subquery()
    )
    returning = dict(db.session.execute(
        select(Registration.event_id, _count_if(Event.starts_at > first.c.first_start))
        .join(Event, Event.id == Registration.event_id)
        .join(first, first.c.address == address)
        .where(active, Registration.event_id.in_(ids)).group_by(Registration.event_id)
    ).all())

    per_address = (
        select(func.count(func.distinct(Registration.event_id)).label("events"))
        .where(active, Registration.event_id.in_(ids)).group_by(address).subquery()
    )
    people, several = db.session.execute(
        select(func.count(), _count_if(per_address.c.events >= 2)).select_from(per_address)).one()

    items = [
        NetworkEvent(event, Pool(event.title, event.capacity, event.seats_taken, event.waiting_count,
                                 mixes.get(event.id, _empty_mix())),
                     returning.get(event.id, 0), ended=now >= event.ends_at)
        for event in events
    ]
    return NetworkFigures(start, end, items, people, several)
