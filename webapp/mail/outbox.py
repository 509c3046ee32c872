"""The outbox: one row per mail, written in the transaction that causes it.

    queued ──claim──▶ sending ──SMTP accepted──▶ sent
                         │ temporary failure (4xx, connection, timeout)
                         ├──▶ retrying ──(backoff; picked up by the sweeper)──▶ sending …
                         └──▶ failed (permanent failure, or too many attempts)
                                 └──(an organiser sends it again: requeue_failed)──▶ queued

`queue_mail` writes a row (once per de-duplication key) and enqueues its delivery after
commit. The claim is one conditional UPDATE, so only one worker can send a row. `sweep_outbox`
(a beat task) re-enqueues rows nobody is working on: queued while the broker was down, claimed
by a worker that died, or due for a retry.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..database import update_where
from ..extensions import db
from ..models import OutboxMail, OutboxStatus
from ..models.base import utcnow
from ..services.dispatch import DELIVER_MAIL, DELIVER_MAIL_BATCH, enqueue_after_commit, send_task

log = logging.getLogger(__name__)

# Retry delays: 30 s × 2^attempts (1 min, 2 min, 4 min, …), at most one hour.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
# Rows re-enqueued by one sweep at most; the next sweep takes the rest.
SWEEP_BATCH_SIZE = 500
# Rows of a fan-out written by one INSERT.
FAN_OUT_CHUNK = 500


def _row_values(kind, recipient, dedup_key, language, registration_id, event, payload, mailing, now):
    return dict(
        dedup_key=dedup_key,
        kind=kind,
        recipient=recipient,
        language=language,
        registration_id=registration_id,
        event_id=event.id if event is not None else None,
        mailing_id=mailing.id if mailing is not None else None,
        payload=payload or {},
        status=OutboxStatus.queued,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _insert_new(values):
    """INSERT … ON CONFLICT (dedup_key) DO NOTHING of one row (a dict), or of several (a list of
    dicts: one statement executed for many, compiled once)."""
    session = db.session
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(OutboxMail.__table__).on_conflict_do_nothing(index_elements=["dedup_key"])
    if isinstance(values, list):
        return session.connection().execute(statement, values)
    return session.execute(statement.values(values))


def queue_mail(kind, recipient, dedup_key, *, language="fr", registration=None, event=None, payload=None,
               mailing=None, enqueue=True):
    """Add one mail to the outbox, unless a row with `dedup_key` already exists.

    Returns the row (new or existing). Atomic under concurrency: INSERT … ON CONFLICT DO NOTHING.
    With `enqueue=False` the caller enqueues the rows itself, in batches (`enqueue_batches`).
    `mailing`: the organiser mailing the row is one recipient of.
    """
    if registration is not None and event is None:
        event = registration.event
    values = _row_values(kind, recipient, dedup_key, language, registration.id if registration is not None else None,
                         event, payload, mailing, utcnow())
    result = _insert_new(values)
    row = db.session.scalars(select(OutboxMail).where(OutboxMail.dedup_key == dedup_key)).one()
    if result.rowcount and enqueue:
        enqueue_after_commit(db.session, DELIVER_MAIL, row.id)
    return row


def queue_fan_out(kind, mails, *, event=None, mailing=None):
    """`queue_mail` for many mails of one kind about `event` at once (a fan-out), one INSERT
    executed for many rows at a time; none is enqueued (`enqueue_batches`). `mails`: (recipient,
    dedup_key, language, registration id, payload) tuples. Returns the ids of their rows (new or
    existing), in the order of `mails`."""
    now = utcnow()
    values = [_row_values(kind, recipient, dedup_key, language, registration_id, event, payload, mailing, now)
              for recipient, dedup_key, language, registration_id, payload in mails]
    ids = {}
    for start in range(0, len(values), FAN_OUT_CHUNK):
        chunk = values[start:start + FAN_OUT_CHUNK]
        _insert_new(chunk)
        keys = [row["dedup_key"] for row in chunk]
        ids.update(db.session.execute(
            select(OutboxMail.dedup_key, OutboxMail.id).where(OutboxMail.dedup_key.in_(keys))).all())
    return [ids[row["dedup_key"]] for row in values]


def enqueue_batches(row_ids):
    """After commit, hand rows of a fan-out (bulk mail) to the workers in batches of
    MAIL_BATCH_SIZE, each sent over one SMTP connection, on the bulk queue."""
    size = current_app.config["MAIL_BATCH_SIZE"]
    row_ids = list(row_ids)
    for start in range(0, len(row_ids), size):
        enqueue_after_commit(db.session, DELIVER_MAIL_BATCH, row_ids[start:start + size])


def queue_registration_mail(kind, registration, dedup_key, **payload):
    """A mail about one registration, to its address and in its language; None (no mail) for a
    person added at the door without an address."""
    if registration.email is None:
        return None
    return queue_mail(kind, registration.email, dedup_key, language=registration.language,
                      registration=registration, payload=payload)


def claim(outbox_id):
    """Take a due row for sending with one conditional UPDATE; True if this caller won it. Commits."""
    now = utcnow()
    won = update_where(
        OutboxMail,
        OutboxMail.id == outbox_id,
        OutboxMail.status.in_([OutboxStatus.queued, OutboxStatus.retrying]),
        OutboxMail.next_attempt_at <= now,
        status=OutboxStatus.sending, claimed_at=now, attempts=OutboxMail.attempts + 1,
    )
    db.session.commit()
    return won


def record_outcome(claimed, status, error=None, **values):
    """Record the outcome of a claim (`claimed`: the row's id and attempts when it was claimed),
    unless the sweeper gave the row to another worker meanwhile (each claim raises `attempts`,
    so it identifies the claim). Commits."""
    outbox_id, attempts = claimed
    if status == OutboxStatus.failed:
        log.error("outbox mail %s failed: %s", outbox_id, error)
    update_where(
        OutboxMail,
        OutboxMail.id == outbox_id, OutboxMail.status == OutboxStatus.sending, OutboxMail.attempts == attempts,
        status=status, last_error=error, **values,
    )
    db.session.commit()


def retry_delay(attempts):
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2**attempts, RETRY_MAX_SECONDS))


def retry_later(claimed, error):
    """A temporary failure: try again after a backoff, or fail once attempts are used up."""
    outbox_id, attempts = claimed
    if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        record_outcome(claimed, OutboxStatus.failed, error)
        return
    delay = retry_delay(attempts)
    log.warning("outbox mail %s: %s; next attempt in %s", outbox_id, error, delay)
    record_outcome(claimed, OutboxStatus.retrying, error, next_attempt_at=utcnow() + delay)


def requeue_failed(row_ids):
    """Give failed rows among `row_ids` a new start: back to `queued` with a full set of attempts
    (one conditional UPDATE: a row that is no longer failed is left alone), their delivery enqueued
    after commit. Not committed. Returns the ids of the rows requeued."""
    requeued = db.session.scalars(
        update(OutboxMail)
        .where(OutboxMail.id.in_(list(row_ids)), OutboxMail.status == OutboxStatus.failed)
        .values(status=OutboxStatus.queued, attempts=0, next_attempt_at=utcnow(), claimed_at=None)
        .returning(OutboxMail.id)
        .execution_options(synchronize_session=False)
    ).all()
    for outbox_id in sorted(requeued):
        enqueue_after_commit(db.session, DELIVER_MAIL, outbox_id)
    return sorted(requeued)


def sweep_outbox():
    """Re-enqueue the rows no worker is busy with; returns their ids.

    - `sending` rows claimed longer than OUTBOX_STALE_AFTER ago: their worker died. They go
      back to `queued` (or `failed` once they used all their attempts);
    - `queued` rows older than OUTBOX_STALE_AFTER: their task was lost (broker down);
    - `retrying` rows whose next attempt is due.
    """
    now = utcnow()
    stale = now - current_app.config["OUTBOX_STALE_AFTER"]
    abandoned = and_(OutboxMail.status == OutboxStatus.sending, OutboxMail.claimed_at < stale)
    db.session.execute(
        update(OutboxMail)
        .where(abandoned, OutboxMail.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"])
        .values(status=OutboxStatus.failed, last_error="the worker stopped while sending")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboxMail).where(abandoned).values(status=OutboxStatus.queued)
        .execution_options(synchronize_session=False)
    )
    due_ids = db.session.scalars(
        select(OutboxMail.id)
        .where(or_(
            and_(OutboxMail.status == OutboxStatus.queued, OutboxMail.next_attempt_at <= stale),
            and_(OutboxMail.status == OutboxStatus.retrying, OutboxMail.next_attempt_at <= now),
        ))
        .order_by(OutboxMail.next_attempt_at)
        .limit(SWEEP_BATCH_SIZE)
    ).all()
    db.session.commit()
    for outbox_id in due_ids:
        if not send_task(DELIVER_MAIL, outbox_id):
            break  # broker still down: the next sweep tries again
    if due_ids:
        log.info("outbox sweep: re-enqueued %d mail(s)", len(due_ids))
    return due_ids
