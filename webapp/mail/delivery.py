"""What a worker runs for the outbox: claim rows, build their messages, send them, record the outcome.

A batch (a transactional mail with the transactional mails queued behind it, up to
TRANSACTIONAL_WAITING more; MAIL_BATCH_SIZE rows of a fan-out) is claimed at once with one
conditional UPDATE, then sent over one SMTP connection, which is opened again when the
server drops it. Sent rows are recorded every RECORD_SENT_EVERY mails, so a worker that dies
leaves at most that many mails sent but not recorded (the sweeper sends them again); each record
also renews the claim on the rows left, so that the sweeper never gives them to another worker.

Safe to run twice: a row that is sent, claimed by another worker, or not due, is left alone.
Temporary SMTP failures (4xx, connection errors) are retried with backoff, permanent ones (5xx)
fail the row; a 5xx for the recipient also puts the address on the undeliverable list of bulk
mail. A row its kind withdraws at sending time (a reminder of a cancelled registration) is
cancelled.
"""
import enum
import logging
import re
import smtplib
import time
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import OutboxMail, OutboxStatus, Registration, SuppressionReason, WorkshopBooking
from ..services import suppressions
from .kinds import MailFamily, MailNotDeliverable, kinds_of, withdrawal_reason
from .message import build_message
from .outbox import claim_batch, claim_with_waiting, record_outcome, record_sent, retry_later
from .transport import SMTPSession, kept_session

log = logging.getLogger(__name__)

# Sent rows are recorded by groups of this many (one commit): at most this many mails are sent
# again after a worker dies.
RECORD_SENT_EVERY = 10
# Recording « sent » after the SMTP server took the mail: tries, and the pause between them.
# Failing there would leave the rows `sending` and the sweeper would send the mails again.
RECORD_SENT_TRIES = 4
RECORD_SENT_PAUSE_SECONDS = 0.5
# A transactional mail's task also takes up to this many others queued behind it.
TRANSACTIONAL_WAITING = 19


class Outcome(enum.Enum):
    sent = "sent"  # the SMTP server took the mail; recorded with the next group
    recorded = "recorded"  # failed, retrying or cancelled, already recorded
    unreachable = "unreachable"  # the SMTP server cannot be reached: the batch stops


def deliver(outbox_id, *, with_waiting=0):
    """Send one outbox row if it is due and no other worker has it; safe to run twice. The
    connection to the SMTP server stays open for the next one. `with_waiting`: also take up to
    this many transactional mails queued behind it (a rush of registrations: one claim, one load
    and one record for several mails). Returns the ids of the rows it settled."""
    if with_waiting:
        claims = claim_with_waiting(outbox_id, kinds_of(MailFamily.transactional), 1 + with_waiting)
    else:
        claims = claim_batch([outbox_id])
    _send_claimed(claims, kept_session())
    return sorted(claims)


def deliver_batch(outbox_ids, session=None):
    """Claim the due rows among `outbox_ids` and send them over one SMTP connection (`session`,
    kept open; by default a new one, closed at the end)."""
    own_session = session is None
    session = session or SMTPSession()
    try:
        _send_claimed(claim_batch(outbox_ids), session)
    finally:
        if own_session:
            session.close()


def _send_claimed(claims, session):
    """Send the claimed rows ({id: attempts}) over `session`. If the SMTP server cannot be reached,
    the rows not tried yet are retried later, with the same backoff."""
    pending = sorted(claims)
    sent = []
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    try:
        rows = _load(pending)
        while pending:
            outbox_id = pending.pop(0)
            if outbox_id not in rows:  # deleted meanwhile (the person's data erased): nothing to send
                continue
            claimed = (outbox_id, claims[outbox_id])
            outcome, error = _deliver_row(rows[outbox_id], claimed, session, sender)
            if outcome == Outcome.sent:
                sent.append(claimed)
            elif outcome == Outcome.unreachable:
                for untried in pending:
                    retry_later((untried, claims[untried]), error)
                pending = []
            if len(sent) >= RECORD_SENT_EVERY:
                held = _record_sent(sent, {left: claims[left] for left in pending})
                pending, sent = [left for left in pending if left in held], []
                db.session.expire_all()  # read again what may have changed (a mailing cancelled)…
                rows = _load(pending)  # …for the rows left, in a few queries
    finally:
        db.session().expire_on_commit = True
        if sent:
            _record_sent(sent, {})


def _load(outbox_ids):
    """Load the rows of a batch with their registrations (with their events, consents, workshop
    bookings and workshops) and mailings in a few queries, and keep what is loaded across the
    commits of the batch (the rows left are loaded again every RECORD_SENT_EVERY mails): rendering
    a mail then costs no query for them. Returns {id: row}, to be held while they are used: the
    session keeps only weak references to what it loaded."""
    if not outbox_ids:
        return {}
    db.session().expire_on_commit = False  # before this commit too: it would expire them all
    rows = db.session.scalars(
        select(OutboxMail).where(OutboxMail.id.in_(outbox_ids))
        .options(selectinload(OutboxMail.registration).options(
                     selectinload(Registration.event), selectinload(Registration.consents),
                     selectinload(Registration.bookings).selectinload(WorkshopBooking.workshop)),
                 selectinload(OutboxMail.mailing))).all()
    db.session.commit()
    return {row.id: row for row in rows}


def _deliver_row(row, claimed, session, sender):
    """Render and send one claimed row; returns (Outcome, error)."""
    outbox_id = claimed[0]
    withdrawn = withdrawal_reason(row)
    if withdrawn is not None:  # no longer wanted: nothing to retry, nothing failed
        db.session.rollback()
        record_outcome(claimed, OutboxStatus.cancelled, withdrawn)
        return Outcome.recorded, None
    # Rendering reads what the batch loaded, mostly outside any transaction: on SQLite, where a
    # transaction holds the write lock, the other workers go on meanwhile.
    db.session.commit()
    try:
        message = build_message(row)
        recipient, kind = row.recipient, row.kind
    except MailNotDeliverable as exc:
        db.session.rollback()
        record_outcome(claimed, OutboxStatus.failed, str(exc))
        return Outcome.recorded, None
    except Exception as exc:  # a bug or the database: retried, then failed, never lost silently
        log.exception("could not render outbox mail %s", outbox_id)
        db.session.rollback()
        retry_later(claimed, f"rendering failed: {exc!r}")
        return Outcome.recorded, None
    # No transaction stays open while the SMTP server talks (a commit, with nothing to write,
    # keeps what is loaded; a rollback would expire it).
    db.session.commit()

    try:
        session.send(message, sender, [recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        _smtp_failure(claimed, code, reply)
        if code >= 500:  # refused for good: no more bulk mail to this address
            reply_text = re.sub(re.escape(recipient), "…", _decode(reply), flags=re.IGNORECASE)  # hash only
            suppressions.suppress(recipient, SuppressionReason.undeliverable, f"{code} {reply_text}")
            db.session.commit()
    except (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError) as exc:
        # Our server or our settings, not this message: retry.
        session.close()
        error = f"{exc.smtp_code} {_decode(exc.smtp_error)}"
        retry_later(claimed, error)
        return Outcome.unreachable, error
    except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
        _smtp_failure(claimed, exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # connection refused or lost again, timeout, TLS
        session.close()
        error = f"SMTP connection: {exc!r}"
        retry_later(claimed, error)
        return Outcome.unreachable, error
    else:
        log.info("sent %s mail (outbox %s)", kind, outbox_id)
        return Outcome.sent, None
    return Outcome.recorded, None


def _record_sent(sent, still_claimed):
    """`outbox.record_sent`, through a lost database connection or a short outage: the rows are
    recorded here rather than left `sending` for the sweeper to send again."""
    for attempt in range(1, RECORD_SENT_TRIES + 1):
        try:
            return record_sent(sent, still_claimed)
        except DBAPIError as exc:
            db.session.rollback()
            if attempt == RECORD_SENT_TRIES:
                raise
            log.warning("%d mail(s) sent, but recording them failed (%s); trying again", len(sent), exc)
            time.sleep(RECORD_SENT_PAUSE_SECONDS * attempt)


def _decode(reply):
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _smtp_failure(claimed, code, reply):
    """4xx: try again later; 5xx: the server will never take this mail."""
    error = f"{code} {_decode(reply)}"
    if 400 <= code < 500:
        retry_later(claimed, error)
    else:
        record_outcome(claimed, OutboxStatus.failed, error)
