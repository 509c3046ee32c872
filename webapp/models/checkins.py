"""Check-ins at the door: one row per registration that came (undoing a check-in deletes it)."""
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class CheckIn(db.Model):
    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_event_checked_in", "event_id", "checked_in_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: two organisers checking the same person in at once give one check-in.
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), nullable=False, unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    checked_in_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The organiser who checked the person in (None once that account is deleted).
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    # Chosen by the page that sent the check-in: the same request sent again (a retry after a lost
    # answer, from the page's offline queue) is recognised as this check-in, not as a second one.
    request_id: Mapped[str | None] = mapped_column(String(64))

    registration = relationship("Registration", back_populates="checkin")
    checked_in_by = relationship("User")

    def __repr__(self):
        return f"<CheckIn {self.registration_id}>"
