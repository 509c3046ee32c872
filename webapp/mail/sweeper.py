"""The outbox sweeper (a beat task): re-enqueues the rows no worker is busy with.

- `sending` rows whose claim is older than OUTBOX_STALE_AFTER: their worker died (a live worker
  renews its claim as it goes). They go back to `queued` (or `failed` once they used all their
  attempts);
- `queued` rows older than OUTBOX_STALE_AFTER: their task was lost (broker down);
- `retrying` rows whose next attempt is due.

Transactional rows go back one task each on the default queue; bulk rows in batches of
MAIL_BATCH_SIZE on the bulk queue, so that a mailing picked up again never delays a
confirmation. Each row swept counts as enqueued now: a row still waiting in a long queue is
enqueued again only after another OUTBOX_STALE_AFTER.
"""
import logging

from flask import current_app
from sqlalchemy import and_, or_, select, update

from ..extensions import db
from ..models import OutboxMail, OutboxStatus
from ..models.base import utcnow
from ..services.dispatch import DELIVER_MAIL, DELIVER_MAIL_BATCH, send_task
from .kinds import MailFamily, kinds_of

log = logging.getLogger(__name__)

# Rows re-enqueued by one sweep at most; the next sweep takes the rest.
SWEEP_TRANSACTIONAL_ROWS = 500  # one task each
SWEEP_BULK_ROWS = 5000  # in batches


def sweep_outbox():
    """Re-enqueue the rows no worker is busy with (see the module docstring); returns their ids."""
    now = utcnow()
    config = current_app.config
    stale = now - config["OUTBOX_STALE_AFTER"]
    abandoned = and_(OutboxMail.status == OutboxStatus.sending, OutboxMail.claimed_at < stale)
    _update(and_(abandoned, OutboxMail.attempts >= config["OUTBOX_MAX_ATTEMPTS"]),
            status=OutboxStatus.failed, last_error="the worker stopped while sending")
    _update(abandoned, status=OutboxStatus.queued, next_attempt_at=stale)
    due = or_(
        and_(OutboxMail.status == OutboxStatus.queued, OutboxMail.next_attempt_at <= stale),
        and_(OutboxMail.status == OutboxStatus.retrying, OutboxMail.next_attempt_at <= now),
    )
    bulk = OutboxMail.kind.in_(kinds_of(MailFamily.bulk))
    transactional_ids = _due(and_(due, ~bulk), SWEEP_TRANSACTIONAL_ROWS)
    bulk_ids = _due(and_(due, bulk), SWEEP_BULK_ROWS)
    _update(OutboxMail.id.in_(transactional_ids + bulk_ids), next_attempt_at=now)
    db.session.commit()

    size = config["MAIL_BATCH_SIZE"]
    tasks = [(DELIVER_MAIL, outbox_id) for outbox_id in transactional_ids]
    tasks += [(DELIVER_MAIL_BATCH, bulk_ids[start:start + size]) for start in range(0, len(bulk_ids), size)]
    for task_name, argument in tasks:
        if not send_task(task_name, argument):
            break  # broker still down: the next sweep tries again
    if tasks:
        log.info("outbox sweep: re-enqueued %d mail(s)", len(transactional_ids) + len(bulk_ids))
    return transactional_ids + bulk_ids


def _due(condition, limit):
    return list(db.session.scalars(
        select(OutboxMail.id).where(condition).order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit)
    ))


def _update(condition, **values):
    db.session.execute(update(OutboxMail).where(condition).values(**values)
                       .execution_options(synchronize_session=False))
