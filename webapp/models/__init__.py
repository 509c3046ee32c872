"""Database models: they hold state; transactions live in `webapp.services`."""
from .accounts import User, UserRole, event_organisers
from .checkins import CheckIn
from .events import Event, EventStatus, RegistrationState, Workshop
from .journal import JournalAction, JournalEntry
from .mailings import Mailing, MailingStatus
from .outbox import OutboxMail, OutboxStatus
from .questions import Answer, Question, QuestionChoice, QuestionKind
from .registrations import (
    ACTOR_TYPES,
    BookingStatus,
    OfferStatus,
    Registration,
    RegistrationStatus,
    SeatOffer,
    WorkshopBooking,
)
from .reminders import Reminder, ReminderStatus
from .suppressions import Suppression, SuppressionReason
from .surveys import (
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyParticipant,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
    SurveyStatus,
)

__all__ = [
    "ACTOR_TYPES",
    "Answer",
    "BookingStatus",
    "CheckIn",
    "Event",
    "EventStatus",
    "JournalAction",
    "JournalEntry",
    "Mailing",
    "MailingStatus",
    "OfferStatus",
    "OutboxMail",
    "OutboxStatus",
    "Question",
    "QuestionChoice",
    "QuestionKind",
    "Registration",
    "RegistrationState",
    "RegistrationStatus",
    "Reminder",
    "ReminderStatus",
    "SeatOffer",
    "Suppression",
    "SuppressionReason",
    "Survey",
    "SurveyAnswer",
    "SurveyChoice",
    "SurveyParticipant",
    "SurveyQuestion",
    "SurveyQuestionKind",
    "SurveyResponse",
    "SurveyStatus",
    "User",
    "UserRole",
    "Workshop",
    "WorkshopBooking",
    "event_organisers",
]
