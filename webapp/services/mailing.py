"""Mail through the outbox: `queue_mail` writes a row in the caller's transaction and
enqueues its delivery after commit. Rendering and SMTP delivery happen in the worker."""
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import OutboxMail, OutboxStatus
from ..models.base import utcnow
from .dispatch import DELIVER_MAIL, enqueue_after_commit


def queue_mail(kind, recipient, dedup_key, *, language="fr", registration=None, event=None, payload=None):
    """Add one mail to the outbox, unless a row with `dedup_key` already exists.

    Returns the row (new or existing). Atomic under concurrency: INSERT … ON CONFLICT DO NOTHING.
    """
    session = db.session
    if registration is not None and event is None:
        event = registration.event
    values = dict(
        dedup_key=dedup_key,
        kind=kind,
        recipient=recipient,
        language=language,
        registration_id=registration.id if registration is not None else None,
        event_id=event.id if event is not None else None,
        payload=payload or {},
        status=OutboxStatus.queued,
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert(OutboxMail).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
    )
    row = session.scalars(select(OutboxMail).where(OutboxMail.dedup_key == dedup_key)).one()
    if result.rowcount:
        enqueue_after_commit(session, DELIVER_MAIL, row.id)
    return row
