"""What people agreed to (consents), and who looked at or exported whose data in the back office."""
import enum

from sqlalchemy import Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ConsentPurpose(enum.StrEnum):
    privacy_notice = "privacy_notice"  # data used to handle the registration (needed to register)
    network_news = "network_news"      # news from the network (optional, unticked by default)


class Consent(db.Model):
    """One agreement of a person, given with their registration: to what, under which version of
    the privacy text, when, and when it was withdrawn."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_registration_id", "registration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), nullable=False)
    purpose: Mapped[ConsentPurpose] = mapped_column(
        Enum(ConsentPurpose, native_enum=False, length=20), nullable=False)
    text_version: Mapped[str] = mapped_column(String(40), nullable=False)
    given_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    withdrawn_at = mapped_column(UTCDateTime)

    registration = relationship("Registration")

    def __repr__(self):
        return f"<Consent {self.registration_id} {self.purpose.value}>"


class DataAccessAction(enum.StrEnum):
    viewed = "viewed"      # a person's page in the back office
    exported = "exported"  # an export of an event's registration list (`count` people)
    erased = "erased"      # a person's data erased by an admin


class DataAccess(db.Model):
    """The personal-data access journal: one row per back-office look at, export or erasure of
    people's data. It names the person by registration only, so it holds no personal data itself."""

    __tablename__ = "data_access_journal"
    __table_args__ = (Index("ix_data_access_journal_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[DataAccessAction] = mapped_column(
        Enum(DataAccessAction, native_enum=False, length=20), nullable=False)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    # The person whose page was seen (None for an export, which names `count` people).
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="SET NULL"))
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    user = relationship("User")
    event = relationship("Event")
    registration = relationship("Registration")

    def __repr__(self):
        return f"<DataAccess {self.action.value} {self.registration_id}>"
