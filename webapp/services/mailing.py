"""Mail through the outbox (DESIGN.md "Mail pipeline").

`queue_mail` writes a row in the caller's transaction and enqueues its delivery after
commit. A worker then runs `deliver(id)`:

    queued ──claim──▶ sending ──SMTP accepted──▶ sent
                         │ temporary failure (4xx, connection, timeout)
                         ├──▶ retrying ──(backoff; picked up by the sweeper)──▶ sending …
                         └──▶ failed (permanent failure, or too many attempts)

The claim is one conditional UPDATE, so only one worker can send a row, and running
`deliver` again on a row that is sent (or not yet due) does nothing. `sweep_outbox` (a beat
task) re-enqueues rows nobody is working on: queued while the broker was down, claimed by a
worker that died, or due for a retry.

Mails are rendered at send time from `email_templates/<kind>.txt` and `<kind>.html`, in
the row's language; the subject is the `subject` block of the `.txt` template.
"""
import logging
import smtplib
import ssl
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid, parseaddr

import css_inline
from flask import current_app, url_for
from flask_babel import force_locale, get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import BookingStatus, OutboxMail, OutboxStatus, Registration, RegistrationStatus, SeatOffer
from ..models.base import utcnow
from ..models.registrations import ACTIVE_STATUSES
from ..web import event_when, format_event_datetime, timezone_label
from . import tokens
from .calendar import build_invite, uid_host, workshop_line
from .dispatch import DELIVER_MAIL, enqueue_after_commit, send_task

log = logging.getLogger(__name__)

# Retry delays: 30 s × 2^attempts (1 min, 2 min, 4 min, …), at most one hour.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
# Rows re-enqueued by one sweep at most; the next sweep takes the rest.
SWEEP_BATCH_SIZE = 500

STATUS_LABELS = {
    RegistrationStatus.pending: _l("adresse à confirmer"),
    RegistrationStatus.confirmed: _l("place réservée"),
    RegistrationStatus.waiting: _l("sur la liste d'attente"),
    RegistrationStatus.offered: _l("une place vous est proposée"),
    RegistrationStatus.cancelled: _l("annulée"),
}


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


# --- Rendering ---

class MailNotDeliverable(Exception):
    """This row can never be sent (unknown kind, registration or offer gone, bad address)."""


@dataclass
class RenderedMail:
    subject: str
    text: str
    html: str
    invite: bytes | None = None  # the .ics, for mails that carry the calendar invite
    invite_method: str | None = None


def mail_templates():
    """The Jinja2 environment of `EMAIL_TEMPLATES_DIR` (one per app): autoescape in .html,
    gettext from Flask-Babel, and the date helpers of the pages (dates in the event's zone)."""
    env = current_app.extensions.get("emgav_mail_templates")
    if env is None:
        env = Environment(
            loader=FileSystemLoader(current_app.config["EMAIL_TEMPLATES_DIR"]),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_callables(
            lambda message: get_translations().gettext(message),
            lambda singular, plural, n: get_translations().ngettext(singular, plural, n),
            newstyle=True,
        )
        env.globals.update(
            event_when=event_when,
            format_event_datetime=format_event_datetime,
            timezone_label=timezone_label,
            workshop_line=workshop_line,
            status_label=lambda registration: STATUS_LABELS[registration.status],
        )
        current_app.extensions["emgav_mail_templates"] = env
    return env


@contextmanager
def rendering_context(language):
    """What rendering needs outside a web request: `url_for(..., _external=True)` giving
    BASE_URL links, and gettext in `language`."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]), force_locale(language):
        yield


def render_mail(row):
    """Subject, text, HTML (CSS inlined) and invite of an outbox row. Call inside
    `rendering_context(row.language)`; raises MailNotDeliverable."""
    build_context = KIND_CONTEXTS.get(row.kind)
    if build_context is None:
        raise MailNotDeliverable(f"unknown mail kind {row.kind!r}")
    context = {"lang": row.language, "registration": None, "event": row.event}
    context.update(build_context(row))
    env = mail_templates()
    text_template = env.get_template(f"{row.kind}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    context["subject"] = one_line(subject)
    html = env.get_template(f"{row.kind}.html").render(context)
    mail = RenderedMail(
        subject=context["subject"],
        text=text_template.render(context).strip() + "\n",
        html=css_inline.CSSInliner(load_remote_stylesheets=False).inline(html),
    )
    method = row.payload.get("method")
    if method and row.payload.get("with_invite", True):
        mail.invite = build_invite(context["registration"], method=method, sequence=row.payload.get("sequence"))
        mail.invite_method = method
    return mail


def one_line(text):
    """Text for a header: CR, LF and runs of spaces become one space."""
    return " ".join(str(text).split())


def _participant_url(endpoint, token):
    return url_for(endpoint, token=token, _external=True)


def _registration_context(row):
    """Context of every mail about one registration: the person, the event, the manage link."""
    registration = row.registration
    if registration is None:
        raise MailNotDeliverable("the registration no longer exists")
    return {
        "registration": registration,
        "event": registration.event,
        "event_url": url_for("public.event", slug=registration.event.slug, _external=True),
        "manage_url": _participant_url("participant.manage", tokens.manage_token(registration)),
    }


def _workshops_context(row):
    context = _registration_context(row)
    bookings = context["registration"].bookings
    context["booked_workshops"] = [b.workshop for b in bookings if b.status == BookingStatus.booked]
    context["waiting_workshops"] = [
        b.workshop for b in bookings if b.status in (BookingStatus.waiting, BookingStatus.offered)
    ]
    return context


def _confirm_address_context(row):
    context = _registration_context(row)
    context["confirm_url"] = _participant_url("participant.confirm", tokens.confirm_token(context["registration"]))
    context["confirm_hours"] = int(current_app.config["CONFIRM_LINK_MAX_AGE"].total_seconds() // 3600)
    return context


def _waiting_list_context(row):
    from .registrations import waiting_position  # registrations imports this module

    context = _registration_context(row)
    context["position"] = waiting_position(context["registration"])
    context["offer_hours"] = int(current_app.config["SEAT_OFFER_VALIDITY"].total_seconds() // 3600)
    return context


def _offer_context(row):
    context = _registration_context(row)
    offer = db.session.get(SeatOffer, row.payload.get("offer_id"))
    if offer is None:
        raise MailNotDeliverable("the seat offer no longer exists")
    event = context["event"]
    context["offer"] = offer
    context["offer_url"] = _participant_url("participant.offer", tokens.offer_token(offer))
    if offer.workshop is not None:
        context["offer_title"] = offer.workshop.title
        context["offer_target"] = _("l'atelier « %(workshop)s » de l'événement « %(title)s »",
                                    workshop=offer.workshop.title, title=event.title)
    else:
        context["offer_title"] = event.title
        context["offer_target"] = _("l'événement « %(title)s »", title=event.title)
    return context


def _cancelled_context(row):
    context = _registration_context(row)
    context["with_invite"] = bool(row.payload.get("with_invite"))
    return context


def _lost_links_context(row):
    ids = row.payload.get("registration_ids", [])
    registrations = db.session.scalars(
        select(Registration).where(Registration.id.in_(ids), Registration.status.in_(ACTIVE_STATUSES))
        .order_by(Registration.id)
    ).all()
    return {
        "links": [
            (registration, _participant_url("participant.manage", tokens.manage_token(registration)))
            for registration in registrations
        ],
    }


# Mail kind -> what its templates need besides `lang`, `registration` and `event` (the layout's).
KIND_CONTEXTS = {
    "confirm_address": _confirm_address_context,
    "manage_link": _registration_context,
    "registration_confirmed": _workshops_context,
    "waiting_list": _waiting_list_context,
    "seat_offer": _offer_context,
    "offer_expired": _offer_context,
    "invite_updated": _workshops_context,
    "registration_cancelled": _cancelled_context,
    "event_cancelled": _cancelled_context,
    "lost_links": _lost_links_context,
}


def new_message_id():
    return make_msgid(domain=uid_host())


def build_message(row):
    """The complete message of an outbox row (rendered now, in the row's language).

    With an invite: multipart/mixed → [multipart/alternative → (text, HTML, text/calendar),
    invite.ics]; without: multipart/alternative → (text, HTML). Names with CR/LF cannot
    add headers: they are flattened to one line, and the `email` package refuses the rest.
    """
    with rendering_context(row.language):
        mail = render_mail(row)
    registration = row.registration
    try:
        recipient = Address(display_name=one_line(registration.full_name) if registration else "",
                            addr_spec=row.recipient)
    except ValueError as exc:
        raise MailNotDeliverable(f"invalid recipient address: {exc}") from None

    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = recipient
    if row.event is not None:
        message["Reply-To"] = row.event.contact_email
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = row.message_id or new_message_id()
    message["Auto-Submitted"] = "auto-generated"
    message["X-Emgav-Kind"] = row.kind
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if mail.invite:
        calendar_part = MIMEPart()
        # Bytes, so the .ics keeps its CRLF line ends (RFC 5545) byte for byte.
        calendar_part.set_content(mail.invite, maintype="text", subtype="calendar",
                                  params={"method": mail.invite_method, "charset": "utf-8"})
        message.attach(calendar_part)
        message.add_attachment(mail.invite, maintype="application", subtype="ics", filename="invite.ics")
    return message


# --- Delivery ---

class SMTPSession:
    """One SMTP connection, opened on first use and reused for the following messages."""

    def __init__(self):
        self.connection = None

    def send(self, message, sender, recipients):
        if self.connection is None:
            self.connection = _connect()
        self.connection.send_message(message, from_addr=sender, to_addrs=recipients)

    def close(self):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


def _connect():
    config = current_app.config
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    if config["SMTP_SECURITY"] == "ssl":
        connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
        if config["SMTP_SECURITY"] == "starttls":
            connection.starttls(context=ssl.create_default_context())
    if config["SMTP_USERNAME"]:
        connection.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
    return connection


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


def claim(outbox_id):
    """Take a due row for sending with one conditional UPDATE; True if this caller won it."""
    now = utcnow()
    result = db.session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == outbox_id,
            OutboxMail.status.in_([OutboxStatus.queued, OutboxStatus.retrying]),
            OutboxMail.next_attempt_at <= now,
        )
        .values(status=OutboxStatus.sending, claimed_at=now, attempts=OutboxMail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _deliver_row(outbox_id, session):
    """Claim, render and send one row. Returns False when the SMTP server is unreachable."""
    if not claim(outbox_id):
        return True
    row = db.session.get(OutboxMail, outbox_id)
    try:
        if row.message_id is None:  # kept across retries, so a resent mail keeps its Message-ID
            row.message_id = new_message_id()
            db.session.commit()
        message = build_message(row)
    except MailNotDeliverable as exc:
        db.session.rollback()
        _finish(row, OutboxStatus.failed, str(exc))
        return True
    except Exception as exc:  # a bug or the database: retried, then failed, never lost silently
        log.exception("could not render outbox mail %s", outbox_id)
        db.session.rollback()
        _retry_later(row, f"rendering failed: {exc!r}")
        return True

    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    try:
        session.send(message, sender, [row.recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        _smtp_failure(row, code, reply)
    except (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError) as exc:
        # Our server or our settings, not this message: retry.
        session.close()
        _retry_later(row, f"{exc.smtp_code} {_decode(exc.smtp_error)}")
        return False
    except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
        _smtp_failure(row, exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # connection refused or lost, timeout, TLS
        session.close()
        _retry_later(row, f"SMTP connection: {exc!r}")
        return False
    else:
        _finish(row, OutboxStatus.sent, None, sent_at=utcnow())
        log.info("sent %s mail (outbox %s) to %s", row.kind, row.id, row.recipient)
    return True


def _decode(reply):
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _smtp_failure(row, code, reply):
    """4xx: try again later; 5xx: the server will never take this mail."""
    error = f"{code} {_decode(reply)}"
    if 400 <= code < 500:
        _retry_later(row, error)
    else:
        _finish(row, OutboxStatus.failed, error)


def retry_delay(attempts):
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2**attempts, RETRY_MAX_SECONDS))


def _retry_later(row, error):
    if row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        _finish(row, OutboxStatus.failed, error)
        return
    delay = retry_delay(row.attempts)
    log.warning("outbox mail %s: %s; next attempt in %s", row.id, error, delay)
    _finish(row, OutboxStatus.retrying, error, next_attempt_at=utcnow() + delay)


def _finish(row, status, error, **values):
    """Record the outcome of this claim, unless the sweeper gave the row to another worker
    meanwhile (each claim raises `attempts`, so it identifies the claim)."""
    if status == OutboxStatus.failed:
        log.error("outbox mail %s failed: %s", row.id, error)
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == row.id, OutboxMail.status == OutboxStatus.sending,
               OutboxMail.attempts == row.attempts)
        .values(status=status, last_error=error, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


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
