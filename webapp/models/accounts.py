"""Accounts of the people who organise events, and which events each one runs.

An admin sees and manages everything; an organiser sees only the events they are assigned to.
`session_version` is part of the login session and of password links: raising it ends every
session of the account and revokes its password links at once (password changed or reset,
logout, account disabled).
"""
import enum

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, Enum, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class UserRole(enum.StrEnum):
    admin = "admin"          # every event; manages accounts and assigns organisers to events
    organiser = "organiser"  # only the events they are assigned to


event_organisers = Table(
    "event_organisers",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("created_at", UTCDateTime, default=utcnow, nullable=False),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)  # always lower case
    # argon2id hash; None until the person chooses a password (account created by an admin).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        Enum(UserRole, native_enum=False, length=20, validate_strings=True), default=UserRole.organiser,
        nullable=False,
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_login_at = mapped_column(UTCDateTime)

    events = relationship("Event", secondary=event_organisers, order_by="Event.starts_at",
                          back_populates="organisers")

    @property
    def is_admin(self):
        return self.role == UserRole.admin

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """What the login session holds: the id and the session version (see the module's docstring)."""
        return f"{self.id}:{self.session_version}"

    def __repr__(self):
        return f"<User {self.id} {self.role.value}>"
