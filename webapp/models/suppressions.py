"""The addresses bulk mail must not go to: people who unsubscribed, and addresses the mail server
refused for good. Only a keyed hash of the address is kept (`services.suppressions`), so an address
stays suppressed without being kept in clear."""
import enum

from sqlalchemy import Enum, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class SuppressionReason(enum.StrEnum):
    unsubscribed = "unsubscribed"    # the person asked (one-click or the page)
    undeliverable = "undeliverable"  # a permanent SMTP refusal (5xx) for this recipient


class Suppression(db.Model):
    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("address_hash", "reason", name="uq_suppressions_address_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[SuppressionReason] = mapped_column(
        Enum(SuppressionReason, native_enum=False, length=20), nullable=False)
    # Why: the SMTP server's reply for an undeliverable address; empty for an unsubscription.
    detail: Mapped[str] = mapped_column(Text, default="", server_default="", nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    def __repr__(self):
        return f"<Suppression {self.reason.value} {self.address_hash[:8]}>"
