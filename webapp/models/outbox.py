"""The outbox: one row per mail, written in the transaction that causes it (DESIGN.md)."""
import enum

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    retrying = "retrying"
    failed = "failed"
    cancelled = "cancelled"


class OutboxMail(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_event_status_kind", "event_id", "status", "kind"),  # an event's mail log
        # The mails checking an address in the last hour (services/address_checks.py).
        Index("ix_outbox_recipient_created", "recipient", "created_at"),
        # The transactional mails waiting for a worker, even behind a large mailing (mail/outbox.py).
        Index("ix_outbox_status_kind_next_attempt", "status", "kind", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "confirm-address:12:2900140", "registration-confirmed:12"; a second queue_mail with
    # the same key is a no-op.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(60), nullable=False)  # template name in email_templates/
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    language: Mapped[str] = mapped_column(String(5), default="fr", nullable=False)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="SET NULL"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    # The organiser mailing this row is one recipient of (its progress is counted from its rows).
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailings.id", ondelete="SET NULL"), index=True)
    # What must stay as it was when the mail was queued (invite method and sequence, offer id...).
    payload: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=20), default=OutboxStatus.queued, nullable=False
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    next_attempt_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    claimed_at = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime)

    registration = relationship("Registration")
    event = relationship("Event")
    mailing = relationship("Mailing")

    def __repr__(self):
        return f"<OutboxMail {self.id} {self.kind} {self.status.value}>"
