"""Organiser mailings: compose, choose the audience, preview, test, send now or later, follow,
cancel, retry.

    draft ──send now / schedule──▶ scheduled ──fan-out (task, or the beat at its moment)──▶ sending ──▶ sent
      └──────────────┴──────────────cancel──────────────────┴──────────────▶ cancelled

- The body is the Markdown subset of the pages (`rich_text`), with placeholders ({prénom}, {nom},
  {événement}, {date}, {lieu}, {lien}) filled in per person, in their language, at sending time;
  an unknown placeholder is refused when the mailing is saved.
- The fan-out is one conditional UPDATE (scheduled and due → sending: of two runs, one wins) in the
  transaction that queues one outbox row per recipient, de-duplicated by
  `mailing:<mailing>:<registration>`, handed to the workers in batches after commit. Addresses on
  the unsubscribe or undeliverable lists are left out (and withdrawn at sending time if listed
  meanwhile).
- Progress is counted from the mailing's outbox rows; once none is left to send, it is sent.
- Cancelling cancels the rows not sent yet; a row already with a worker may still leave.
"""
import functools
import logging
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta

from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import func, select, update

from ..database import update_where
from ..extensions import db
from ..formatting import event_when, venue_line
from ..links import absolute_url
from ..mail import outbox
from ..models import JournalAction, Mailing, MailingStatus, OutboxMail, OutboxStatus, Registration, RegistrationStatus
from ..models.base import utcnow
from ..rich_text import to_html, to_text
from ..typography import french
from . import journal, registration_list, suppressions, tokens
from .dispatch import FAN_OUT_MAILING, enqueue_after_commit
from .errors import MailingError
from .errors import MailingErrorCode as Code

log = logging.getLogger(__name__)

MAILING_MAIL = "organiser_mailing"
# What a placeholder may name; {lien} is the person's manage link.
PLACEHOLDERS = ("prénom", "nom", "événement", "date", "lieu", "lien")
PLACEHOLDER = re.compile(r"\{([^{}\n]{0,40})\}")
# Rows of the per-recipient log shown on one page.
LOG_LIMIT = 500
EDITABLE = (MailingStatus.draft, MailingStatus.scheduled)
LEFT_STATUSES = (OutboxStatus.queued, OutboxStatus.sending, OutboxStatus.retrying)


@dataclass(frozen=True)
class Audience:
    """Who gets the mailing: the filters of the registration list (`registration_list.Filters`),
    by default the people who hold a seat. `yes_no`: [question id, true or false]."""
    status: str | None = RegistrationStatus.confirmed.value
    actor_type: str | None = None
    workshop_id: int | None = None
    choice_id: int | None = None
    yes_no: tuple | None = None
    presence: str | None = None

    @classmethod
    def from_dict(cls, values):
        values = {key: value for key, value in (values or {}).items() if key in cls.__dataclass_fields__}
        if values.get("yes_no") is not None:
            values["yes_no"] = tuple(values["yes_no"])
        return cls(**values)

    def to_dict(self):
        values = asdict(self)
        values["yes_no"] = list(self.yes_no) if self.yes_no is not None else None
        return values

    def filters(self):
        return registration_list.Filters(**asdict(self))


# --- Placeholders and rendering ---

def unknown_placeholders(*texts):
    """The {names} in `texts` that no placeholder fills in, in order of appearance."""
    names = [match.group(1) for text in texts for match in PLACEHOLDER.finditer(text or "")]
    return list(dict.fromkeys(name for name in names if name not in PLACEHOLDERS))


def unknown_placeholders_message(names):
    """What the organiser reads when the text names placeholders that do not exist."""
    return _("Ces champs entre accolades n'existent pas : %(names)s. Les champs possibles sont %(known)s ; "
             "corrigez-les ou retirez les accolades.",
             names=_braced(names), known=_braced(PLACEHOLDERS))


def _braced(names):
    return ", ".join("{" + name + "}" for name in names)


def _check_placeholders(subject, body):
    unknown = unknown_placeholders(subject, body)
    if unknown:
        raise MailingError(Code.unknown_placeholder, unknown)


def placeholder_values(registration):
    """What each placeholder stands for, for `registration`, in the current language."""
    event = registration.event
    return {
        "prénom": registration.first_name,
        "nom": registration.last_name,
        "événement": event.title,
        "date": event_when(event),
        "lieu": venue_line(event.venue_name, event.venue_address) or event.online_url or _("en ligne"),
        "lien": absolute_url("participant.manage", token=tokens.manage_token(registration)),
    }


def _fill(text, values):
    """`text` with each placeholder named in `values` replaced by its value."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def _written(text, in_french):
    """The organiser's text, with French typography when the event's texts are in French."""
    return french(text) if in_french else text


def _in_french(mailing):
    return mailing.event.content_language == "fr"


def personal_subject(mailing, values):
    return _fill(_written(mailing.subject, _in_french(mailing)), values)


def personal_body(mailing, values):
    """The body for one person: (HTML Markup, plain text). The Markdown is rendered once per body
    (`_rendered_body`), then each person's values take the place of their stand-ins, escaped
    for HTML: a value is always text, never markup."""
    html, text = _rendered_body(mailing.body, _in_french(mailing))
    for name, stand_in in STAND_INS.items():
        html = html.replace(stand_in, str(escape(values[name])))
        text = text.replace(stand_in, values[name])
    return Markup(html), text


# While a body is rendered, each placeholder is a stand-in that Markdown leaves as it is: letters
# and digits, and for {lien} an address, so that it becomes a link (alone, or as [text]({lien})).
_STAND_IN = "emgav" + secrets.token_hex(8)
STAND_INS = {name: f"https://{_STAND_IN}{index}.invalid/" if name == "lien" else f"{_STAND_IN}{index}x"
             for index, name in enumerate(PLACEHOLDERS)}


@functools.lru_cache(maxsize=64)
def _rendered_body(body, in_french):
    """The body's HTML and plain text, its placeholders as stand-ins (the same for every person)."""
    in_markdown = {name: f"<{stand_in}>" if name == "lien" else stand_in for name, stand_in in STAND_INS.items()}
    markdown = _fill(_written(body, in_french), in_markdown)
    return str(to_html(markdown)), to_text(markdown)


# --- Audience ---

def _audience_query(event, audience, *columns):
    return (select(*columns)
            .where(*registration_list.filter_conditions(event, audience.filters()), Registration.email.is_not(None))
            .order_by(Registration.id))


@dataclass(frozen=True)
class Recipient:
    registration_id: int
    email: str
    language: str


def recipients(event, audience):
    """(the Recipients the mailing goes to, how many were left out because their address is on the
    unsubscribe or undeliverable list). One mail per address: the first registration wins."""
    people = [Recipient(*row) for row in db.session.execute(_audience_query(
        event, audience, Registration.id, Registration.email, Registration.language))]
    listed = suppressions.suppressed_among([person.email for person in people])
    chosen, seen = [], set()
    for person in people:
        address = person.email.lower()
        if person.email in listed or address in seen:
            continue
        seen.add(address)
        chosen.append(person)
    excluded = sum(1 for person in people if person.email in listed)
    return chosen, excluded


def audience_count(event, audience):
    """{"recipients": how many get it, "excluded": how many are left out by the lists}."""
    chosen, excluded = recipients(event, audience)
    return {"recipients": len(chosen), "excluded": excluded}


def sample_recipient(mailing):
    """The first person of the audience (for the preview and the test), or None."""
    query = _audience_query(mailing.event, Audience.from_dict(mailing.audience), Registration).limit(1)
    return db.session.scalars(query).first()


# --- Composing ---

def mailings_of(event):
    return db.session.scalars(
        select(Mailing).where(Mailing.event_id == event.id).order_by(Mailing.created_at.desc(), Mailing.id.desc())
    ).all()


def mailing_of(event, mailing_id):
    """The event's mailing with this id, or None (a mailing of another event too)."""
    return db.session.scalar(select(Mailing).where(Mailing.id == mailing_id, Mailing.event_id == event.id))


def create_draft(event, by, subject, body, audience):
    """A new draft; raises MailingError (unknown placeholder). Commits."""
    _check_placeholders(subject, body)
    mailing = Mailing(event_id=event.id, subject=subject, body=body, audience=audience.to_dict(),
                      status=MailingStatus.draft, created_by_id=by.id if by is not None else None)
    db.session.add(mailing)
    db.session.commit()
    return mailing


def update_draft(mailing, subject, body, audience):
    """Change a draft or a scheduled mailing; raises MailingError. Commits."""
    if mailing.status not in EDITABLE:
        raise MailingError(Code.not_editable)
    _check_placeholders(subject, body)
    mailing.subject, mailing.body, mailing.audience = subject, body, audience.to_dict()
    db.session.commit()


@dataclass(frozen=True)
class Preview:
    registration: Registration | None
    subject: str
    html: str
    text: str


def preview(mailing):
    """The mailing as its first recipient will read it (their data, the current language); without
    any recipient, the placeholders are shown as they are written."""
    registration = sample_recipient(mailing)
    values = placeholder_values(registration) if registration is not None else {}
    html, text = personal_body(mailing, values)
    return Preview(registration, personal_subject(mailing, values), html, text)


def send_test(mailing, user):
    """Send the mailing to `user`'s own address, with the data of its first recipient, through the
    outbox. Raises MailingError (nobody in the audience). Commits; returns the id of the outbox row."""
    registration = sample_recipient(mailing)
    if registration is None:
        raise MailingError(Code.no_recipient)
    row_id = outbox.queue_mail(MAILING_MAIL, user.email, f"mailing-test:{mailing.id}:{utcnow().isoformat()}",
                               language=registration.language, event=mailing.event,
                               payload={"mailing_id": mailing.id, "sample_registration_id": registration.id})
    db.session.commit()
    return row_id


# --- Sending ---

def send_now(mailing, by):
    """Send at once: the fan-out runs in a worker (and the beat task catches it if the broker is
    down). Raises MailingError. Commits."""
    _schedule(mailing, by, utcnow(), JournalAction.mailing_sent)
    enqueue_after_commit(db.session, FAN_OUT_MAILING, mailing.id)
    db.session.commit()


def schedule(mailing, by, moment):
    """Send at `moment` (UTC, in the future); the beat task sends it then. Raises MailingError. Commits."""
    if moment <= utcnow():
        raise MailingError(Code.past_moment)
    _schedule(mailing, by, moment, JournalAction.mailing_scheduled)
    db.session.commit()


def _schedule(mailing, by, moment, action):
    _check_placeholders(mailing.subject, mailing.body)
    if not update_where(Mailing, Mailing.id == mailing.id, Mailing.status.in_(EDITABLE),
                        status=MailingStatus.scheduled, scheduled_at=moment):
        db.session.rollback()
        raise MailingError(Code.not_editable)
    journal.record(mailing.event, by, action, subject=mailing.subject, mailing_id=mailing.id,
                   moment=moment.isoformat())
    db.session.expire(mailing)


def fan_out(mailing_id, now=None):
    """Queue one outbox row per recipient of a scheduled mailing whose moment has come, and hand
    them to the workers in batches after commit. Safe to run twice, or in two processes at once
    (the status change is one conditional UPDATE in the same transaction). Returns how many rows
    were queued. Commits."""
    now = now or utcnow()
    if not update_where(Mailing, Mailing.id == mailing_id, Mailing.status == MailingStatus.scheduled,
                        Mailing.scheduled_at <= now, status=MailingStatus.sending, started_at=now):
        db.session.rollback()
        return 0
    mailing = db.session.get(Mailing, mailing_id)
    people, excluded = recipients(mailing.event, Audience.from_dict(mailing.audience))
    ids = outbox.queue_fan_out(MAILING_MAIL, [
        (person.email, f"mailing:{mailing.id}:{person.registration_id}", person.language, person.registration_id,
         {"mailing_id": mailing.id}) for person in people], event=mailing.event, mailing=mailing)
    mailing.recipients = len(ids)
    if not ids:
        mailing.status, mailing.finished_at = MailingStatus.sent, now
    outbox.enqueue_batches(ids)
    db.session.commit()
    log.info("mailing %s: %d mail(s) queued, %d address(es) on a list left out", mailing_id, len(ids), excluded)
    return len(ids)


def queue_due_mailings(now=None):
    """The beat task: fan out every scheduled mailing whose moment has come, and mark sent the
    mailings with no row left. Safe to run twice. Returns how many rows were queued."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Mailing.id).where(Mailing.status == MailingStatus.scheduled, Mailing.scheduled_at <= now)
        .order_by(Mailing.scheduled_at, Mailing.id)
    ).all()
    sending = db.session.scalars(select(Mailing.id).where(Mailing.status == MailingStatus.sending)).all()
    db.session.rollback()
    queued = sum(fan_out(mailing_id, now) for mailing_id in due)
    for mailing_id in sending:
        settle(db.session.get(Mailing, mailing_id))
    return queued


def _counts(mailing):
    return dict(db.session.execute(
        select(OutboxMail.status, func.count()).where(OutboxMail.mailing_id == mailing.id)
        .group_by(OutboxMail.status)
    ).all())


def settle(mailing):
    """Mark a sending mailing sent once none of its rows is left to send. Commits."""
    if mailing is None or mailing.status != MailingStatus.sending:
        return
    counts = _counts(mailing)
    if not any(counts.get(status, 0) for status in LEFT_STATUSES):
        last = db.session.scalar(select(func.max(OutboxMail.sent_at)).where(OutboxMail.mailing_id == mailing.id))
        update_where(Mailing, Mailing.id == mailing.id, Mailing.status == MailingStatus.sending,
                     status=MailingStatus.sent, finished_at=last or utcnow())
    db.session.commit()
    db.session.expire(mailing)


def cancel(mailing, by):
    """Cancel a draft, scheduled or sending mailing: its rows not sent yet are cancelled (a row a
    worker holds at that moment may still leave). Raises MailingError. Commits; returns how many
    rows were cancelled."""
    now = utcnow()
    if not update_where(Mailing, Mailing.id == mailing.id,
                        Mailing.status.in_([*EDITABLE, MailingStatus.sending]),
                        status=MailingStatus.cancelled, finished_at=now):
        db.session.rollback()
        raise MailingError(Code.not_cancellable)
    cancelled = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.mailing_id == mailing.id, OutboxMail.status.in_([OutboxStatus.queued, OutboxStatus.retrying]))
        .values(status=OutboxStatus.cancelled, last_error="the mailing was cancelled")
        .execution_options(synchronize_session=False)
    ).rowcount
    journal.record(mailing.event, by, JournalAction.mailing_cancelled, subject=mailing.subject,
                   mailing_id=mailing.id, count=cancelled)
    db.session.commit()
    db.session.expire(mailing)
    return cancelled


def retry_failed(mailing, by, row_ids=None):
    """Send the mailing's failed rows again (those of `row_ids`, or all); a sent mailing is sending
    again until they are done. Journalled when any row is requeued. Commits; returns their ids."""
    if mailing.status == MailingStatus.cancelled:
        return []
    query = select(OutboxMail.id).where(OutboxMail.mailing_id == mailing.id, OutboxMail.status == OutboxStatus.failed)
    if row_ids is not None:
        query = query.where(OutboxMail.id.in_(list(row_ids)))
    requeued = outbox.requeue_failed(db.session.scalars(query).all(), bulk=True)
    if requeued:
        update_where(Mailing, Mailing.id == mailing.id, Mailing.status == MailingStatus.sent,
                     status=MailingStatus.sending, finished_at=None)
        journal.record(mailing.event, by, JournalAction.mails_requeued, count=len(requeued), outbox_ids=requeued)
    db.session.commit()
    db.session.expire(mailing)
    return requeued


# --- Following ---

@dataclass(frozen=True)
class Progress:
    status: MailingStatus
    total: int
    queued: int     # not sent yet: waiting, with a worker, or to be tried again
    sent: int
    failed: int
    cancelled: int  # withdrawn (address listed meanwhile) or cancelled with the mailing
    per_minute: float | None  # mails sent per minute since the fan-out
    estimated_end: object     # a UTC datetime, or None

    @property
    def done(self):
        return self.total - self.queued

    def to_json(self):
        return {"status": self.status.value, "total": self.total, "queued": self.queued, "sent": self.sent,
                "failed": self.failed, "cancelled": self.cancelled, "left": self.queued,
                "per_minute": round(self.per_minute, 1) if self.per_minute is not None else None,
                "estimated_end": self.estimated_end.isoformat() if self.estimated_end else None}


def progress(mailing, now=None):
    """Where the mailing stands (marks it sent first if nothing is left)."""
    settle(mailing)
    now = now or utcnow()
    counts = _counts(mailing)
    left = sum(counts.get(status, 0) for status in LEFT_STATUSES)
    sent = counts.get(OutboxStatus.sent, 0)
    per_minute = estimated_end = None
    if mailing.started_at is not None and sent:
        until = mailing.finished_at if mailing.status != MailingStatus.sending else now
        seconds = max((until - mailing.started_at).total_seconds(), 1.0)
        per_minute = sent * 60 / seconds
        if left and mailing.status == MailingStatus.sending:
            estimated_end = now + timedelta(minutes=left / per_minute)
    return Progress(mailing.status, sum(counts.values()), left, sent, counts.get(OutboxStatus.failed, 0),
                    counts.get(OutboxStatus.cancelled, 0), per_minute, estimated_end)


def recipient_log(mailing, status=None, limit=LOG_LIMIT):
    """The mailing's rows (one per recipient), failed ones first, then by id; `status` filters."""
    query = select(OutboxMail).where(OutboxMail.mailing_id == mailing.id)
    if status is not None:
        query = query.where(OutboxMail.status == status)
    failed_first = (OutboxMail.status != OutboxStatus.failed)
    return db.session.scalars(query.order_by(failed_first, OutboxMail.id).limit(limit)).all()
