"""Automatic reminders: one row per offset of an event (« 7 days before »), holding the moment it
is due now and whether it was sent. The moment follows the event (`services.reminders`)."""
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime


class ReminderStatus(enum.StrEnum):
    planned = "planned"  # will be sent at `due_at`
    sent = "sent"        # queued at `sent_at` for the people confirmed at `due_at` (`recipients`)
    skipped = "skipped"  # its moment had passed when it was set (the event moved): never sent late


class Reminder(db.Model):
    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("event_id", "days_before", name="uq_reminders_event_id"),
        CheckConstraint("days_before >= 1", name="days_before_positive"),
        Index("ix_reminders_status_due_at", "status", "due_at"),  # what the beat task looks for
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    days_before: Mapped[int] = mapped_column(Integer, nullable=False)
    # The moment: `days_before` days before the event's start date, at 09:00 on the event's clock.
    due_at = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[ReminderStatus] = mapped_column(
        Enum(ReminderStatus, native_enum=False, length=20), default=ReminderStatus.planned, nullable=False)
    sent_at = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)

    event = relationship("Event", back_populates="reminders")

    def __repr__(self):
        return f"<Reminder {self.days_before}d {self.status.value}>"
