"""The journal of an event: who did what, and when, in the back office."""
import enum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class JournalAction(enum.StrEnum):
    """Stable keys of journal entries (stored as text: adding one needs no migration). Their
    wording is in `webapp.formatting.JOURNAL_ACTION_LABELS`."""
    organiser_assigned = "organiser_assigned"
    organiser_unassigned = "organiser_unassigned"
    event_created = "event_created"
    event_copied = "event_copied"  # on the copy
    event_copied_to = "event_copied_to"  # on the event copied
    event_updated = "event_updated"
    event_published = "event_published"
    event_unpublished = "event_unpublished"
    event_cancelled = "event_cancelled"
    workshop_added = "workshop_added"
    workshop_updated = "workshop_updated"
    workshop_removed = "workshop_removed"
    workshop_removed_booked = "workshop_removed_booked"  # its bookings cancelled, their people mailed
    question_added = "question_added"
    question_updated = "question_updated"
    question_moved = "question_moved"
    question_deleted = "question_deleted"
    registration_added = "registration_added"
    registration_updated = "registration_updated"
    registration_cancelled = "registration_cancelled"
    registration_accepted = "registration_accepted"  # a request accepted (events that need approval)
    registration_declined = "registration_declined"
    waiting_priority_given = "waiting_priority_given"
    registrations_exported = "registrations_exported"
    mails_requeued = "mails_requeued"
    checked_in = "checked_in"
    checkin_undone = "checkin_undone"
    walk_in_added = "walk_in_added"  # a person added at the door, checked in at once
    reminder_added = "reminder_added"
    reminder_removed = "reminder_removed"
    reminders_switched_on = "reminders_switched_on"
    reminders_switched_off = "reminders_switched_off"
    mailing_sent = "mailing_sent"            # an organiser mailing sent now
    mailing_scheduled = "mailing_scheduled"  # … or at a chosen moment
    mailing_cancelled = "mailing_cancelled"
    suppression_lifted = "suppression_lifted"  # an address taken off the unsubscribe or undeliverable list
    survey_created = "survey_created"
    survey_updated = "survey_updated"
    survey_question_added = "survey_question_added"
    survey_question_updated = "survey_question_updated"
    survey_question_moved = "survey_question_moved"
    survey_question_deleted = "survey_question_deleted"


class JournalEntry(db.Model):
    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_event_created", "event_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    # None for what the service did by itself.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    # What changed, as the action's label needs it (e.g. {"email": …}).
    details: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    user = relationship("User")

    def __repr__(self):
        return f"<JournalEntry {self.id} {self.action}>"
