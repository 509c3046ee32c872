"""The journal of each event: who did what in the back office, and when.

`record` adds an entry to the caller's transaction (it does not commit), so that the entry is
written together with the change it tells about, or not at all.
"""
from sqlalchemy import select

from ..extensions import db
from ..models import JournalAction, JournalEntry


def record(event, user, action, **details):
    """Journal `action` (a JournalAction) on `event` by `user` (None: done by the service itself).

    `details` (JSON values) are what the action's label shows, e.g. `email=` of the person
    given access. Not committed: the caller commits it with the change."""
    entry = JournalEntry(event_id=event.id, user_id=user.id if user is not None else None,
                         action=JournalAction(action).value, details=details)
    db.session.add(entry)
    return entry


def entries(event, limit=200):
    """The latest entries of the event's journal, the newest first."""
    return db.session.scalars(
        select(JournalEntry).where(JournalEntry.event_id == event.id)
        .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc()).limit(limit)
    ).all()
