"""Atomic status changes: the row changes only if it is still in an allowed status.

Two clicks on the same link, or two workers on the same offer, race here: the conditional
UPDATE lets exactly one of them win (the row is locked until commit on PostgreSQL; SQLite
transactions are serialised by BEGIN IMMEDIATE).
"""
from functools import lru_cache

from sqlalchemy.sql.expression import ClauseElement

from ..database import LoadedUpdate


def transition(obj, allowed, new_status, **values):
    """Move `obj` (a model with `status`) from one of `allowed` to `new_status`; True if it moved.
    `obj` then holds what the UPDATE wrote (`LoadedUpdate`). `values` are Python values, or SQL
    expressions on the table's columns built once (module constants, such as `seats.NEXT_REVISION`):
    the statement is built once for each model, statuses, names and expressions."""
    expressions = tuple((key, value) for key, value in values.items() if isinstance(value, ClauseElement))
    bound = {key: value for key, value in values.items() if not isinstance(value, ClauseElement)}
    update = _transition_update(type(obj), tuple(allowed), tuple(bound), expressions)
    return update.run(obj, status=new_status, **bound)


@lru_cache(maxsize=64)
def _transition_update(model, allowed, bound, expressions):
    return LoadedUpdate(model, model.__table__.c.status.in_(allowed), bound=("status", *bound), **dict(expressions))
