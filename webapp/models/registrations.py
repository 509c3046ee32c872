"""Registrations, workshop bookings and waiting-list seat offers."""
import enum
import secrets
import uuid

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, false, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .events import EventStatus


def N_(message):
    """Mark a message for extraction (`pybabel extract -k N_`); it is translated where shown."""
    return message


# The network's "collèges": stored key -> label (translated in the pages with gettext). The keys
# are stable; the labels answer « À quel titre venez-vous ? » in neutral words.
ACTOR_TYPES = {
    "asi": N_("association de solidarité internationale"),
    "ess": N_("structure de l'ESS"),
    "collectivite": N_("collectivité ou institution"),
    "recherche": N_("université ou recherche"),
    "paysanne": N_("organisation paysanne"),
    "entreprise": N_("entreprise"),
    "particulier": N_("à titre personnel"),
    "autre": N_("autre"),
}


class RegistrationStatus(enum.StrEnum):
    pending = "pending"      # address not confirmed yet
    confirmed = "confirmed"  # address confirmed and holds a seat
    waiting = "waiting"      # address confirmed, on the event's waiting list
    offered = "offered"      # a freed seat is offered and held for this person
    # Address confirmed for an event that needs the organisers' approval: no seat, not on the
    # waiting list, until an organiser accepts (seat or waiting list) or declines.
    awaiting_approval = "awaiting_approval"
    cancelled = "cancelled"
    declined = "declined"    # an organiser declined the request: the registration ended


ACTIVE_STATUSES = (RegistrationStatus.pending, RegistrationStatus.confirmed, RegistrationStatus.waiting,
                   RegistrationStatus.offered, RegistrationStatus.awaiting_approval)
# Statuses of a registration that ended; it no longer counts for its (event, address).
ENDED_STATUSES = (RegistrationStatus.cancelled, RegistrationStatus.declined)


class BookingStatus(enum.StrEnum):
    requested = "requested"  # chosen, processed once the registration holds an event seat
    booked = "booked"
    waiting = "waiting"
    offered = "offered"
    cancelled = "cancelled"


class OfferStatus(enum.StrEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"  # the event was cancelled or the registration ended


# Check-in codes: no 0/O, 1/I/L, so that a code read aloud or typed from the mail is not mistaken.
CHECKIN_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECKIN_CODE_LENGTH = 12  # 31^12 ≈ 2^59 codes


def new_checkin_code():
    """An unguessable code shown at the door (QR code and text); it opens nothing by itself."""
    return "".join(secrets.choice(CHECKIN_CODE_ALPHABET) for _ in range(CHECKIN_CODE_LENGTH))


ACTIVE_EMAIL_WHERE = "status NOT IN ('cancelled', 'declined')"


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        # One active registration per (event, address), enforced by the database: a person whose
        # registration was cancelled or declined may register again.
        Index(
            "uq_registrations_active_email", "event_id", "email", unique=True,
            sqlite_where=text(ACTIVE_EMAIL_WHERE), postgresql_where=text(ACTIVE_EMAIL_WHERE),
        ),
        Index("ix_registrations_waiting", "event_id", "status", "waiting_since"),
        # The back office's list, sorted by name or by date.
        Index("ix_registrations_event_name", "event_id", func.lower(text("last_name")),
              func.lower(text("first_name"))),
        Index("ix_registrations_event_created", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Calendar UID, never changed.
    uid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False, default=lambda: str(uuid.uuid4()))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    # None only for a person added at the door without an address (a walk-in): no mail is sent to them.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    organisation: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    # `services.person_keys.person_key(email)`: tells people apart in the figures, and outlives the address.
    person_key: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str] = mapped_column(String(30), nullable=False)
    language: Mapped[str] = mapped_column(String(5), default="fr", nullable=False)
    status: Mapped[RegistrationStatus] = mapped_column(
        _enum(RegistrationStatus), default=RegistrationStatus.pending, nullable=False
    )
    waiting_since = mapped_column(UTCDateTime)
    # Set when an organiser puts the person at the front of the waiting list (`seats.give_priority`):
    # they come before everyone else waiting, in the order priority was given.
    priority_at = mapped_column(UTCDateTime)
    # Raised on every change that shows in the invite; invite SEQUENCE = event.revision + revision.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    # Part of every signed participant link: raising it revokes all links of this registration.
    token_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)
    # Shown at the door; separate from the signed links, so that showing it manages nothing.
    checkin_code: Mapped[str] = mapped_column(String(CHECKIN_CODE_LENGTH), unique=True, nullable=False,
                                              default=new_checkin_code)
    privacy_consent_at = mapped_column(UTCDateTime, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_at = mapped_column(UTCDateTime)
    # When the address was confirmed for an event that needs approval: the request went to the organisers.
    approval_requested_at = mapped_column(UTCDateTime)
    # When an organiser decided: accepted or declined the request, or registered the person by hand
    # (then their confirmation needs no approval).
    decided_at = mapped_column(UTCDateTime)
    cancelled_at = mapped_column(UTCDateTime)
    # The person asked for their data to be erased: their last mails (the cancellation) go out,
    # then `services.privacy` anonymises the registration. Its links answer 410 from then on.
    erasure_requested_at = mapped_column(UTCDateTime)
    # Name, address, organisation and free-text answers removed (erasure, or retention period over).
    anonymised_at = mapped_column(UTCDateTime)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    event = relationship("Event")
    bookings = relationship(
        "WorkshopBooking", back_populates="registration", cascade="all, delete-orphan",
        order_by="WorkshopBooking.id",
    )
    # Added at the door on the day (`checkin.add_walk_in`), without registering beforehand.
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    answers = relationship("Answer", back_populates="registration", cascade="all, delete-orphan",
                           passive_deletes=True, order_by="Answer.question_id")
    checkin = relationship("CheckIn", back_populates="registration", uselist=False, passive_deletes=True)
    # What the person agreed to, the oldest first; written by `services.consents` only.
    consents = relationship("Consent", viewonly=True, order_by="(Consent.given_at, Consent.id)")

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def is_erased(self):
        """Erased or being erased: its links answer 410."""
        return self.erasure_requested_at is not None or self.anonymised_at is not None

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def shows_checkin_code(self):
        """The person holds a seat at an event that takes place (confirmed, event not cancelled):
        their mails and manage page show the check-in code; pending or waiting people's do not."""
        return self.status == RegistrationStatus.confirmed and self.event.status != EventStatus.cancelled

    @property
    def invite_sequence(self):
        return self.event.revision + self.revision

    def active_bookings(self):
        return [b for b in self.bookings if b.status != BookingStatus.cancelled]

    def __repr__(self):
        return f"<Registration {self.id} {self.status.value}>"


class WorkshopBooking(db.Model):
    __tablename__ = "workshop_bookings"
    __table_args__ = (
        Index(
            "uq_workshop_bookings_active", "registration_id", "workshop_id", unique=True,
            sqlite_where=text("status != 'cancelled'"), postgresql_where=text("status != 'cancelled'"),
        ),
        Index("ix_workshop_bookings_waiting", "workshop_id", "status", "waiting_since"),
        Index("ix_workshop_bookings_registration_id", "registration_id"),  # a page of registrations' bookings
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), nullable=False)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus), default=BookingStatus.requested, nullable=False)
    waiting_since = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    registration = relationship("Registration", back_populates="bookings")
    workshop = relationship("Workshop")


class SeatOffer(db.Model):
    """A freed seat held for the first person waiting, until accepted, declined or expired.

    `workshop_id` is None for a seat of the event itself.
    """

    __tablename__ = "seat_offers"
    __table_args__ = (Index("ix_seat_offers_open", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), nullable=False, index=True)
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    status: Mapped[OfferStatus] = mapped_column(_enum(OfferStatus), default=OfferStatus.open, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    answered_at = mapped_column(UTCDateTime)

    registration = relationship("Registration")
    workshop = relationship("Workshop")
