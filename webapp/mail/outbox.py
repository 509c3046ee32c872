"""The outbox: one row per mail, written in the transaction that causes it.

    queued ──claim──▶ sending ──SMTP accepted──▶ sent
                         │ temporary failure (4xx, connection, timeout)
                         ├──▶ retrying ──(backoff; picked up by the sweeper)──▶ sending …
                         └──▶ failed (permanent failure, or too many attempts)
                                 └──(an organiser sends it again: requeue_failed)──▶ queued

`queue_mail` writes a row (once per de-duplication key) and enqueues its delivery after
commit; the rows of a fan-out (bulk mail) go to the workers in batches (`enqueue_batches`). A
worker claims its rows with one conditional UPDATE, so only one worker can send a row, and records
them sent a few at a time (`record_sent`). The sweeper (sweeper.py) re-enqueues rows nobody is
working on: queued while the broker was down, claimed by a worker that died, or due for a retry.
"""
import logging
from datetime import timedelta
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import bindparam, or_, select, tuple_, update

from ..database import insert_ignoring_conflicts, insert_returning_id, update_where
from ..extensions import db
from ..models import OutboxMail, OutboxStatus
from ..models.base import utcnow
from ..services.calendar import uid_host
from ..services.dispatch import DELIVER_MAIL, DELIVER_MAIL_BATCH, enqueue_after_commit

log = logging.getLogger(__name__)

# The outbox table, for the statements that run for every mail (the fan-out's INSERT, the claim,
# the record of mails sent): written on the table (SQLAlchemy Core), they skip the ORM's work.
_OUTBOX = OutboxMail.__table__

# Retry delays: 30 s × 2^attempts (1 min, 2 min, 4 min, …), at most one hour.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
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


def _insert_new(rows):
    """INSERT … ON CONFLICT (dedup_key) DO NOTHING of several rows (dicts): one statement executed
    for many, compiled once."""
    statement = insert_ignoring_conflicts(_OUTBOX, ["dedup_key"])
    return db.session.connection().execute(statement, rows)


def queue_mail(kind, recipient, dedup_key, *, language="fr", registration=None, event=None, payload=None,
               mailing=None, enqueue=True):
    """Add one mail to the outbox, unless a row with `dedup_key` already exists.

    Returns the id of the row (new or existing). Atomic under concurrency: INSERT … ON CONFLICT DO
    NOTHING, on the table: no ORM object is made for the row (every registration writes one).
    With `enqueue=False` the caller enqueues the rows itself, in batches (`enqueue_batches`).
    `mailing`: the organiser mailing the row is one recipient of.
    """
    if registration is not None and event is None:
        event = registration.event
    registration_id = registration.id if registration is not None else None
    row_id = insert_returning_id(_OUTBOX, ["dedup_key"], _row_values(
        kind, recipient, dedup_key, language, registration_id, event, payload, mailing, utcnow()))
    if row_id is None:
        return db.session.connection().scalar(_ROW_ID, {"dedup_key": dedup_key})
    if enqueue:
        enqueue_after_commit(db.session, DELIVER_MAIL, row_id)
    return row_id


_ROW_ID = select(_OUTBOX.c.id).where(_OUTBOX.c.dedup_key == bindparam("dedup_key"))


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
    """A mail about one registration, to its address and in its language: the id of its outbox row;
    None (no mail) for a person added at the door without an address."""
    if registration.email is None:
        return None
    return queue_mail(kind, registration.email, dedup_key, language=registration.language,
                      registration=registration, payload=payload)


def claim_batch(outbox_ids):
    """Take the due rows among `outbox_ids` for sending, with one conditional UPDATE … RETURNING:
    of two workers given the same rows, each row goes to one of them only. Rows without a
    Message-ID get one (kept across retries, so a resent mail keeps it). Returns {id: attempts}
    of the rows won (their attempts identify the claim). Commits."""
    return _claim(_OUTBOX.c.id.in_(list(outbox_ids)), utcnow())


def claim_with_waiting(outbox_id, kinds, up_to):
    """`claim_batch([outbox_id])`, and with it the oldest other due rows of `kinds` (up to `up_to`
    rows in all): the mails queued behind it, whose own tasks then find them taken. Rows another
    worker is claiming at the same moment are skipped rather than waited for."""
    now = utcnow()
    columns = _OUTBOX.c
    # Picked once, as a materialised CTE: as a plain subquery of the UPDATE, PostgreSQL may run it
    # again for each row it updates, each run skipping the rows already taken and so taking the
    # next ones, until every due row is claimed.
    waiting = (select(columns.id)
               .where(or_(columns.id == outbox_id, columns.kind.in_(kinds)), *_due(now))
               .order_by(columns.id != outbox_id, columns.id).limit(up_to)
               .with_for_update(skip_locked=True)  # FOR UPDATE is left out on SQLite
               .cte("waiting").prefix_with("MATERIALIZED", dialect="postgresql"))
    return _claim(columns.id.in_(select(waiting.c.id)), now)


def _due(now):
    return _OUTBOX.c.status.in_([OutboxStatus.queued, OutboxStatus.retrying]), _OUTBOX.c.next_attempt_at <= now


def _claim(condition, now):
    # The UPDATE checks again that each row is due: of two workers, only one moves it to `sending`.
    columns = _OUTBOX.c
    won = db.session.execute(
        update(_OUTBOX)
        .where(condition, *_due(now))
        .values(status=OutboxStatus.sending, claimed_at=now, attempts=columns.attempts + 1)
        .returning(columns.id, columns.attempts, columns.message_id)
    ).all()
    without_message_id = [{"row_id": row_id, "new_message_id": new_message_id()}
                          for row_id, _, message_id in won if message_id is None]
    if without_message_id:
        db.session.execute(
            update(_OUTBOX).where(columns.id == bindparam("row_id")).values(message_id=bindparam("new_message_id")),
            without_message_id,
        )
    db.session.commit()
    return {row_id: attempts for row_id, attempts, _ in won}


def new_message_id():
    return make_msgid(domain=uid_host())


def record_sent(sent, still_claimed):
    """Record « sent » for the claims of `sent` ((id, attempts) pairs), and renew the claims of
    `still_claimed` ({id: attempts}: rows of the batch not sent yet) so that the sweeper does not
    take them for abandoned. Returns the ids of `still_claimed` still held by this claim (the
    others were given to another worker). Commits."""
    now = utcnow()
    if sent:
        db.session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.status == OutboxStatus.sending,
                   _OUTBOX.c.attempts == bindparam("claim_attempts"))
            .values(status=OutboxStatus.sent, sent_at=now, last_error=None),
            [{"row_id": row_id, "claim_attempts": attempts} for row_id, attempts in sent],
        )
    held = []
    if still_claimed:
        held = db.session.scalars(
            update(OutboxMail)
            .where(tuple_(OutboxMail.id, OutboxMail.attempts).in_(list(still_claimed.items())),
                   OutboxMail.status == OutboxStatus.sending)
            .values(claimed_at=now)
            .returning(OutboxMail.id)
            .execution_options(synchronize_session=False)
        ).all()
    db.session.commit()
    return sorted(held)


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


def requeue_failed(row_ids, bulk=False):
    """Give failed rows among `row_ids` a new start: back to `queued` with a full set of attempts
    (one conditional UPDATE: a row that is no longer failed is left alone), their delivery enqueued
    after commit (`bulk`: in batches on the bulk queue). Not committed. Returns the ids of the rows
    requeued."""
    requeued = db.session.scalars(
        update(OutboxMail)
        .where(OutboxMail.id.in_(list(row_ids)), OutboxMail.status == OutboxStatus.failed)
        .values(status=OutboxStatus.queued, attempts=0, next_attempt_at=utcnow(), claimed_at=None)
        .returning(OutboxMail.id)
        .execution_options(synchronize_session=False)
    ).all()
    if bulk:
        enqueue_batches(sorted(requeued))
    else:
        for outbox_id in sorted(requeued):
            enqueue_after_commit(db.session, DELIVER_MAIL, outbox_id)
    return sorted(requeued)
