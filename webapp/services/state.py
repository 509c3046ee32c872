"""Atomic status changes: the row changes only if it is still in an allowed status.

Two clicks on the same link, or two workers on the same offer, race here: the conditional
UPDATE lets exactly one of them win (the row is locked until commit on PostgreSQL; SQLite
transactions are serialised by BEGIN IMMEDIATE).
"""
from ..database import update_where
from ..extensions import db


def transition(obj, allowed, new_status, **values):
    """Move `obj` (a model with `status`) from one of `allowed` to `new_status`; True if it moved."""
    model = type(obj)
    moved = update_where(model, model.id == obj.id, model.status.in_(list(allowed)), status=new_status, **values)
    # What the UPDATE may have changed is read again when next used; the rest stays loaded.
    changed = ["status", *values, *(column.key for column in model.__table__.columns if column.onupdate is not None)]
    db.session.expire(obj, changed)
    return moved
