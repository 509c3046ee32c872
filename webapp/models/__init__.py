"""Database models: they hold state; transactions live in `webapp.services`."""
from .events import Event, EventStatus, RegistrationState, Workshop
from .outbox import OutboxMail, OutboxStatus
from .registrations import (
    ACTOR_TYPES,
    BookingStatus,
    OfferStatus,
    Registration,
    RegistrationStatus,
    SeatOffer,
    WorkshopBooking,
)

__all__ = [
    "ACTOR_TYPES",
    "BookingStatus",
    "Event",
    "EventStatus",
    "OfferStatus",
    "OutboxMail",
    "OutboxStatus",
    "Registration",
    "RegistrationState",
    "RegistrationStatus",
    "SeatOffer",
    "Workshop",
    "WorkshopBooking",
]
