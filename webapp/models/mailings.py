"""Organiser mailings: a subject and a body written by an event's organisers, sent to the people
the audience's filters select. Each recipient gets one outbox row (`OutboxMail.mailing_id`), so
a mailing's progress is counted from its rows (`services.mailings`)."""
import enum

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class MailingStatus(enum.StrEnum):
    draft = "draft"          # being written; nothing sent
    scheduled = "scheduled"  # to be sent at `scheduled_at` (send now: `scheduled_at` is the click)
    sending = "sending"      # its outbox rows are queued; some are not sent yet
    sent = "sent"            # no row is left to send
    cancelled = "cancelled"  # what was not sent when it was cancelled stays unsent


class Mailing(db.Model):
    __tablename__ = "mailings"
    __table_args__ = (Index("ix_mailings_status_scheduled_at", "status", "scheduled_at"),)  # the beat task

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    # The Markdown subset of the pages (webapp/rich_text.py), with placeholders such as {prénom}.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # The audience's filters (services.mailings.Audience as a dict).
    audience: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    status: Mapped[MailingStatus] = mapped_column(
        Enum(MailingStatus, native_enum=False, length=20), default=MailingStatus.draft, nullable=False)
    scheduled_at = mapped_column(UTCDateTime)
    started_at = mapped_column(UTCDateTime)   # when its rows were queued
    finished_at = mapped_column(UTCDateTime)  # sent (no row left) or cancelled
    recipients: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    event = relationship("Event")
    created_by = relationship("User")

    def __repr__(self):
        return f"<Mailing {self.id} {self.status.value}>"
