"""Atomic status changes: the row changes only if it is still in an allowed status.

Two clicks on the same link, or two workers on the same offer, race here: the conditional
UPDATE lets exactly one of them win (the row is locked until commit on PostgreSQL; SQLite
transactions are serialised by BEGIN IMMEDIATE).
"""
from ..database import update_loaded


def transition(obj, allowed, new_status, **values):
    """Move `obj` (a model with `status`) from one of `allowed` to `new_status`; True if it moved.
    `obj` then holds what the UPDATE wrote (`update_loaded`)."""
    return update_loaded(obj, type(obj).status.in_(list(allowed)), status=new_status, **values)
