"""Events and their workshops. Both are seat pools: `capacity` (None = unlimited),
`seats_taken` and `waiting_count` are only changed by `webapp.services.seats`."""
import enum
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class EventStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"


class RegistrationState(enum.StrEnum):
    """Whether an event takes registrations now; `full` does, onto the waiting list."""
    open = "open"
    full = "full"
    not_yet_open = "not_yet_open"
    closed = "closed"
    cancelled = "cancelled"
    draft = "draft"


class SeatPoolMixin:
    capacity: Mapped[int | None] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    waiting_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)

    @property
    def seats_left(self):
        if self.capacity is None:
            return None
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self):
        return self.capacity is not None and (self.seats_taken >= self.capacity or self.waiting_count > 0)


class Event(SeatPoolMixin, db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("seats_taken >= 0 AND waiting_count >= 0", name="counters_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # « Informations pratiques » (same Markdown subset as the description), sent in the reminders.
    practical_info: Mapped[str] = mapped_column(Text, default="", server_default="", nullable=False)
    # Off: no reminder is sent (the offsets in `reminders` are kept for when they are switched on).
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), nullable=False)
    # Language of the organisers' texts (title, description, places, workshops): a code of the
    # app's LANGUAGES. Pages in another language mark those texts with it (lang="…").
    content_language: Mapped[str] = mapped_column(String(5), default="fr", server_default="fr", nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris", nullable=False)
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    venue_name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    venue_address: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    online_url: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    registration_opens_at = mapped_column(UTCDateTime)
    registration_closes_at = mapped_column(UTCDateTime)
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False)
    # Registrations wait for an organiser's decision once the address is confirmed.
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(),
                                                    nullable=False)
    status: Mapped[EventStatus] = mapped_column(
        Enum(EventStatus, native_enum=False, length=20), default=EventStatus.draft, nullable=False
    )
    # Raised on every change of time, place or status; part of each invite's SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    workshops = relationship(
        "Workshop", back_populates="event", order_by="(Workshop.starts_at, Workshop.id)",
        cascade="all, delete-orphan",
    )
    reminders = relationship("Reminder", back_populates="event", order_by="Reminder.days_before.desc()",
                             cascade="all, delete-orphan")
    # Its own registration questions, in the order of the forms.
    questions = relationship("Question", back_populates="event", order_by="(Question.position, Question.id)",
                             cascade="all, delete-orphan", passive_deletes=True)
    # The accounts that run this event (admins see every event without being listed here).
    organisers = relationship("User", secondary="event_organisers", order_by="User.email", back_populates="events")

    @property
    def tz(self):
        return ZoneInfo(self.timezone)

    @property
    def local_start(self):
        return self.starts_at.astimezone(self.tz)

    @property
    def local_end(self):
        return self.ends_at.astimezone(self.tz)

    def registration_state(self, now=None):
        """The RegistrationState of the event at `now` (default: now)."""
        now = now or utcnow()
        if self.status == EventStatus.cancelled:
            return RegistrationState.cancelled
        if self.status != EventStatus.published:
            return RegistrationState.draft
        if self.registration_opens_at and now < self.registration_opens_at:
            return RegistrationState.not_yet_open
        closes = self.registration_closes_at or self.starts_at
        if now >= closes:
            return RegistrationState.closed
        if self.is_full:
            return RegistrationState.full
        return RegistrationState.open

    def accepts_registrations(self, now=None):
        return self.registration_state(now) in (RegistrationState.open, RegistrationState.full)

    def __repr__(self):
        return f"<Event {self.slug}>"


class Workshop(SeatPoolMixin, db.Model):
    __tablename__ = "workshops"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("seats_taken >= 0 AND waiting_count >= 0", name="counters_positive"),
        UniqueConstraint("event_id", "key", name="uq_workshops_event_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(60), nullable=False)  # stable id within the event (import files)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    room: Mapped[str] = mapped_column(String(200), default="", nullable=False)

    event = relationship("Event", back_populates="workshops")

    def overlaps(self, other):
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def __repr__(self):
        return f"<Workshop {self.key}>"
