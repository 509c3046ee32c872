"""What a worker runs for the outbox: claim a row, build its message, send it, record the outcome.

`deliver` is safe to run twice: a row that is sent, or claimed by another worker, or not due,
is left alone. Temporary SMTP failures (4xx, connection errors) are retried with backoff,
permanent ones (5xx) fail the row; a 5xx for the recipient also puts the address on the
undeliverable list of bulk mail. A row its kind withdraws at sending time (a reminder of a
cancelled registration) is cancelled.
"""
import logging
import re
import smtplib
import time
from email.utils import parseaddr

from flask import current_app
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..models import OutboxMail, OutboxStatus, SuppressionReason
from ..models.base import utcnow
from ..services import suppressions
from .kinds import MailNotDeliverable, withdrawal_reason
from .message import build_message, new_message_id
from .outbox import claim, record_outcome, retry_later
from .transport import SMTPSession

log = logging.getLogger(__name__)

# Recording « sent » after the SMTP server took the mail: tries, and the pause between them.
# Failing there would leave the row `sending` and the sweeper would send the mail again.
RECORD_SENT_TRIES = 4
RECORD_SENT_PAUSE_SECONDS = 0.5


def deliver(outbox_id):
    """Send one outbox row if it is due and no other worker has it; safe to run twice."""
    deliver_batch([outbox_id])


def deliver_batch(outbox_ids):
    """Send several rows over one SMTP connection (large fan-outs). If the SMTP server cannot
    be reached, the rows not tried yet stay queued for the sweeper."""
    session = SMTPSession()
    try:
        for outbox_id in outbox_ids:
            if not _deliver_row(outbox_id, session):
                break
    finally:
        session.close()


def _deliver_row(outbox_id, session):
    """Claim, render and send one row. Returns False when the SMTP server is unreachable."""
    if not claim(outbox_id):
        return True
    row = db.session.get(OutboxMail, outbox_id)
    claimed = (row.id, row.attempts)
    withdrawn = withdrawal_reason(row)
    if withdrawn is not None:  # no longer wanted: nothing to retry, nothing failed
        db.session.rollback()
        record_outcome(claimed, OutboxStatus.cancelled, withdrawn)
        return True
    try:
        if row.message_id is None:  # kept across retries, so a resent mail keeps its Message-ID
            row.message_id = new_message_id()
        message = build_message(row)
        recipient, kind = row.recipient, row.kind
        # No transaction stays open while the SMTP server talks.
        db.session.commit()
    except MailNotDeliverable as exc:
        db.session.rollback()
        record_outcome(claimed, OutboxStatus.failed, str(exc))
        return True
    except Exception as exc:  # a bug or the database: retried, then failed, never lost silently
        log.exception("could not render outbox mail %s", outbox_id)
        db.session.rollback()
        retry_later(claimed, f"rendering failed: {exc!r}")
        return True

    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
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
        retry_later(claimed, f"{exc.smtp_code} {_decode(exc.smtp_error)}")
        return False
    except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
        _smtp_failure(claimed, exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # connection refused or lost, timeout, TLS
        session.close()
        retry_later(claimed, f"SMTP connection: {exc!r}")
        return False
    else:
        _record_sent(claimed)
        log.info("sent %s mail (outbox %s) to %s", kind, outbox_id, recipient)
    return True


def _record_sent(claimed):
    """Record that the SMTP server took the mail, through a lost database connection or a short
    outage: the row is retried here rather than left `sending` for the sweeper to resend."""
    for attempt in range(1, RECORD_SENT_TRIES + 1):
        try:
            record_outcome(claimed, OutboxStatus.sent, sent_at=utcnow())
            return
        except DBAPIError as exc:
            db.session.rollback()
            if attempt == RECORD_SENT_TRIES:
                raise
            log.warning("outbox mail %s sent, but recording it failed (%s); trying again", claimed[0], exc)
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
