"""Atomic status changes: the row changes only if it is still in an allowed status.

Two clicks on the same link, or two workers on the same offer, race here: the conditional
UPDATE lets exactly one of them win (the row is locked until commit on PostgreSQL; SQLite
transactions are serialised by BEGIN IMMEDIATE).
"""
from sqlalchemy import update

from ..extensions import db


def transition(obj, allowed, new_status, **values):
    """Move `obj` (a model with `status`) from one of `allowed` to `new_status`; True if it moved."""
    model = type(obj)
    result = db.session.execute(
        update(model)
        .where(model.id == obj.id, model.status.in_(list(allowed)))
        .values(status=new_status, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(obj)
    return result.rowcount == 1
