"""Personal data as the law expects it (README « Données personnelles »).

- Retention (`apply_retention`, a beat task): once their period is over, registrations (and their
  answers) are anonymised, and mail log rows and journal entries deleted. Anonymising removes the
  person's name, address, organisation and free-text answers; statuses, actor types, workshop
  bookings, check-ins and choice answers stay, so the dashboards show the same figures. The
  registration's person key (a keyed hash of the address, `services.person_keys`) stays too, so
  that the people who came back to the network are still counted.
- Erasure on request (`erase`): the person's registrations still to come are cancelled through
  the usual service (seat to the next person waiting, CANCEL invite queued); the mails not sent yet
  to them are dropped first, so that the CANCEL invite, queued after, is their last mail. Once
  that mail is sent (or has failed for good), `complete_erasures` anonymises the registrations and
  removes the address itself.
- Access (`data_of`): everything held about an address, across events.

ANONYMISERS and ACCESS_SECTIONS are the one place that knows which tables hold people's data: a
new table of personal data gets an entry in each.
"""
import calendar
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, or_, select, update

from ..extensions import db
from ..mail.kinds import KINDS, InviteMethod
from ..mail.outbox import queue_registration_mail
from ..models import (
    Answer,
    DataAccess,
    DataAccessAction,
    Event,
    EventStatus,
    JournalEntry,
    OutboxMail,
    OutboxStatus,
    Registration,
    SurveyParticipant,
    SurveyResponse,
)
from ..models.base import utcnow
from ..models.registrations import ACTIVE_STATUSES
from . import registrations, survey_answers
from .errors import RegistrationError

# Outbox rows that may still be sent.
PENDING_MAIL = (OutboxStatus.queued, OutboxStatus.sending, OutboxStatus.retrying)
SETTLED_MAIL = (OutboxStatus.sent, OutboxStatus.failed, OutboxStatus.cancelled)
# What stands in the journal for a name or an address once removed.
REMOVED = "…"
# Registrations anonymised per transaction by the retention task.
BATCH_SIZE = 500


def months_before(moment, months):
    """The same day and time `months` months earlier (the month's last day when it is shorter)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _mails_to(people):
    """Outbox rows about these registrations or to their addresses."""
    addresses = [r.email for r in people if r.email is not None]
    return or_(OutboxMail.registration_id.in_([r.id for r in people]), OutboxMail.recipient.in_(addresses))


# --- What each table gives up. ---

def _anonymise_registrations(people, erased):
    now = utcnow()
    for registration in people:
        registration.first_name = registration.last_name = registration.organisation = ""
        registration.email = None
        if erased:  # nothing left to tell the person's registrations apart
            registration.person_key = None
        registration.anonymised_at = now


def _anonymise_answers(people, erased):
    """Free-text answers go; choices and yes/no stay (they are the anonymous statistics)."""
    db.session.execute(
        update(Answer).where(Answer.registration_id.in_([r.id for r in people]))
        .values(text="").execution_options(synchronize_session=False))


def _anonymise_journal(people, erased):
    """Journal entries about the registrations keep what was done, without the name and address."""
    for registration in people:
        entries = db.session.scalars(select(JournalEntry).where(
            JournalEntry.event_id == registration.event_id,
            JournalEntry.details["registration_id"].as_integer() == registration.id)).all()
        for entry in entries:
            entry.details = {key: REMOVED if key in ("name", "email") else value
                             for key, value in entry.details.items()}


def _anonymise_mails(people, erased):
    """The mail log keeps the kind and the outcome of each mail, not the address (nor an SMTP reply
    that may quote it). An erasure also scrubs the mails to the address about no registration
    (lost links); retention leaves the mails of the address's later registrations alone."""
    about = _mails_to(people) if erased else OutboxMail.registration_id.in_([r.id for r in people])
    db.session.execute(
        update(OutboxMail).where(about).values(recipient="", last_error=None)
        .execution_options(synchronize_session=False))


def _survey_responses(people):
    """The survey responses of these registrations: named ones, and anonymous ones found through
    their owner's invitation (as the person finds theirs again to change it)."""
    ids = [r.id for r in people]
    responses = {response.id: response for response in db.session.scalars(
        select(SurveyResponse).where(SurveyResponse.registration_id.in_(ids)))}
    for participant in db.session.scalars(select(SurveyParticipant).where(SurveyParticipant.registration_id.in_(ids))):
        response = survey_answers.response_of(participant)
        if response is not None:
            responses.setdefault(response.id, response)
    return list(responses.values())


def _anonymise_survey_responses(people, erased):
    """Survey results stay true: numbers, choices and yes/no stay; free text goes, and a named
    response no longer says whose it is."""
    for response in _survey_responses(people):
        for answer in response.answers:
            answer.text = ""
        if response.registration_id is not None:
            response.registration_id = None
            response.respondent_key = f"anonymised-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Anonymiser:
    """How one table gives up the personal data of some registrations: `scrub(registrations,
    erased)`, not committed; `erased` is true for an erasure on request (the person key goes too),
    false for the retention period."""
    table: str
    scrub: Callable


# Registrations last: the others find their rows by the registrations' ids and addresses.
ANONYMISERS = [
    Anonymiser("answers", _anonymise_answers),
    Anonymiser("survey_responses", _anonymise_survey_responses),
    Anonymiser("journal_entries", _anonymise_journal),
    Anonymiser("outbox", _anonymise_mails),
    Anonymiser("registrations", _anonymise_registrations),
]


def anonymise(people, *, erased):
    """Run every anonymiser on these registrations. Not committed."""
    people = [registration for registration in people if registration.anonymised_at is None]
    if people:
        for anonymiser in ANONYMISERS:
            anonymiser.scrub(people, erased)
    return people


# --- Retention. ---

@dataclass
class RetentionReport:
    registrations: int = 0
    mails: int = 0
    journal_entries: int = 0
    erasures: int = 0


def apply_retention(now=None):
    """Anonymise and delete what has passed its retention period; idempotent. Commits."""
    now = now or utcnow()
    config = current_app.config
    report = RetentionReport()
    ended_before = months_before(now, config["RETENTION_REGISTRATIONS_MONTHS"])
    while True:
        batch = db.session.scalars(
            select(Registration).join(Event, Event.id == Registration.event_id)
            .where(Registration.anonymised_at.is_(None), Event.ends_at < ended_before)
            .order_by(Registration.id).limit(BATCH_SIZE)
        ).all()
        if not batch:
            break
        report.registrations += len(anonymise(batch, erased=False))
        db.session.commit()
    report.mails = db.session.execute(
        delete(OutboxMail).where(OutboxMail.created_at < months_before(now, config["RETENTION_MAILS_MONTHS"]),
                                 OutboxMail.status.in_(SETTLED_MAIL))
    ).rowcount
    journal_before = months_before(now, config["RETENTION_JOURNAL_MONTHS"])
    report.journal_entries = db.session.execute(
        delete(JournalEntry).where(JournalEntry.created_at < journal_before)).rowcount
    report.journal_entries += db.session.execute(
        delete(DataAccess).where(DataAccess.created_at < journal_before)).rowcount
    db.session.commit()
    report.erasures = complete_erasures()
    return report


# --- Erasure on request. ---

def same_person(registration):
    """Every registration of the registration's address (itself alone without an address)."""
    if registration.email is None:
        return [registration]
    return db.session.scalars(
        select(Registration).where(Registration.email == registration.email).order_by(Registration.id)).all()


def _calendar_cancellations():
    """The kinds of mail that take the event out of the person's calendar (the CANCEL invite)."""
    return [name for name, kind in KINDS.items() if kind.invite == InviteMethod.cancel]


def erase(registration, by=None):
    """Erase the person's data (every registration of the address), at their request or by an
    admin (`by`, journalled): mails not sent yet are dropped, registrations to come are cancelled
    (seats to the people waiting, CANCEL invite queued), then everything is anonymised as soon as
    the last mails are settled (at once when there are none). Commits; idempotent."""
    people = same_person(registration)
    now = utcnow()
    # First the mails waiting to go (a reminder…): dropped before the cancellations queue theirs.
    # A CANCEL invite still waiting (the person cancelled just before) goes: their calendar must
    # lose the event.
    db.session.execute(
        update(OutboxMail)
        .where(_mails_to(people), OutboxMail.status.in_([OutboxStatus.queued, OutboxStatus.retrying]),
               OutboxMail.kind.not_in(_calendar_cancellations()))
        .values(status=OutboxStatus.cancelled, last_error="erased at the person's request")
        .execution_options(synchronize_session=False))
    for person in people:
        person.erasure_requested_at = person.erasure_requested_at or now
    if by is not None:
        db.session.add(DataAccess(user_id=by.id, action=DataAccessAction.erased, event_id=registration.event_id,
                                  registration_id=registration.id, count=len(people)))
    db.session.commit()
    for person in people:
        event = person.event
        if person.status in ACTIVE_STATUSES and event.ends_at > now and event.status != EventStatus.cancelled:
            try:
                registrations.cancel_registration(person, by=by)
            except RegistrationError:  # cancelled meanwhile
                db.session.rollback()
    complete_erasures([person.id for person in people])


def complete_erasures(registration_ids=None):
    """Anonymise the registrations whose erasure was asked for (those of `registration_ids` and of
    their addresses, or all) once no mail to their address is pending: the registrations of one
    address together, since their mails go to the same address. Commits; returns how many."""
    query = select(Registration).where(Registration.erasure_requested_at.is_not(None),
                                       Registration.anonymised_at.is_(None))
    if registration_ids is not None:
        ids = list(registration_ids)
        addresses = select(Registration.email).where(Registration.id.in_(ids), Registration.email.is_not(None))
        query = query.where(or_(Registration.id.in_(ids), Registration.email.in_(addresses)))
    by_person = {}
    for registration in db.session.scalars(query.order_by(Registration.id)):
        by_person.setdefault(registration.email or registration.id, []).append(registration)
    done = []
    for people in by_person.values():
        pending = db.session.scalar(
            select(OutboxMail.id).where(_mails_to(people), OutboxMail.status.in_(PENDING_MAIL)).limit(1))
        if pending is None:
            done += anonymise(people, erased=True)
    db.session.commit()
    return len(done)


def complete_erasures_after_mail(outbox_ids):
    """After the worker settled these outbox rows: complete the erasures that waited for them
    (an erasure marks every registration of the address, so the rows' own registrations tell)."""
    if not outbox_ids:
        return
    ids = db.session.scalars(
        select(OutboxMail.registration_id).join(Registration, Registration.id == OutboxMail.registration_id)
        .where(OutboxMail.id.in_(list(outbox_ids)), Registration.erasure_requested_at.is_not(None),
               Registration.anonymised_at.is_(None))).all()
    if ids:
        complete_erasures(ids)


# --- Access. ---

def _iso(moment):
    return moment.isoformat() if isinstance(moment, datetime) else None


def _registrations_section(people):
    items = []
    for registration in people:
        event = registration.event
        items.append({
            "event": {"title": event.title, "starts_at": _iso(event.starts_at), "ends_at": _iso(event.ends_at)},
            "first_name": registration.first_name,
            "last_name": registration.last_name,
            "email": registration.email,
            "organisation": registration.organisation,
            "actor_type": registration.actor_type,
            "language": registration.language,
            "status": registration.status.value,
            "registered_at": _iso(registration.created_at),
            "confirmed_at": _iso(registration.confirmed_at),
            "cancelled_at": _iso(registration.cancelled_at),
            "checked_in_at": _iso(registration.checkin.checked_in_at) if registration.checkin else None,
            "workshops": [{"title": booking.workshop.title, "status": booking.status.value}
                          for booking in registration.bookings],
            "answers": [{"question": answer.question.label, "text": answer.text, "yes": answer.yes,
                         "choices": [choice.label for choice in answer.choices]}
                        for answer in registration.answers],
            "consents": [{"purpose": consent.purpose.value, "text_version": consent.text_version,
                          "given_at": _iso(consent.given_at), "withdrawn_at": _iso(consent.withdrawn_at)}
                         for consent in registration.consents],
        })
    return items


def _mails_section(people):
    rows = db.session.scalars(select(OutboxMail).where(_mails_to(people)).order_by(OutboxMail.created_at,
                                                                                        OutboxMail.id)).all()
    return [{"kind": row.kind, "to": row.recipient, "event": row.event.title if row.event else None,
             "status": row.status.value, "queued_at": _iso(row.created_at), "sent_at": _iso(row.sent_at)}
            for row in rows]


def _surveys_section(people):
    ids = [r.id for r in people]
    items = []
    for participant in db.session.scalars(select(SurveyParticipant).where(SurveyParticipant.registration_id.in_(ids))
                                          .order_by(SurveyParticipant.id)):
        response = survey_answers.response_of(participant)
        items.append({
            "survey": participant.survey.title,
            "event": participant.survey.event.title,
            "anonymous": participant.survey.anonymous,
            "invited_at": _iso(participant.invited_at),
            "answered_on": response.answered_on.isoformat() if response is not None else None,
            "answers": [{"question": answer.question.label, "number": answer.number, "yes": answer.yes,
                         "text": answer.text, "choices": [choice.label for choice in answer.choices]}
                        for answer in (response.answers if response is not None else [])],
        })
    return items


# Sections of a person's data download: (key, registrations of the address -> JSON values).
ACCESS_SECTIONS = [
    ("registrations", _registrations_section),
    ("surveys", _surveys_section),
    ("mails", _mails_section),
]


def data_of(registration):
    """Everything held about the registration's address, across events (JSON values)."""
    people = [person for person in same_person(registration) if person.anonymised_at is None]
    data = {"address": registration.email, "generated_at": _iso(utcnow()),
            "controller": current_app.config["PRIVACY_CONTROLLER"]}
    for key, section in ACCESS_SECTIONS:
        data[key] = section(people)
    return data


def request_data_access(registration):
    """Mail the registration's address a link to download its data (at most one mail per address
    and window of `registrations.RESEND_WINDOW_SECONDS`). Commits; returns the id of the outbox row,
    or None (no address)."""
    if registration.email is None:
        return None
    digest = hashlib.sha256(registration.email.encode()).hexdigest()[:32]
    bucket = int(utcnow().timestamp()) // registrations.RESEND_WINDOW_SECONDS
    row_id = queue_registration_mail("data_access", registration, f"data-access:{digest}:{bucket}")
    db.session.commit()
    return row_id


# --- The back office's personal-data access journal. ---

def record_access(user, action, event, registration=None, count=1):
    """Journal that `user` looked at (`viewed`) or `exported` people's data. Not committed."""
    db.session.add(DataAccess(user_id=user.id, action=DataAccessAction(action), event_id=event.id,
                              registration_id=registration.id if registration is not None else None, count=count))


def record_view(user, registration):
    """Journal that `user` opened the person's page. Commits."""
    record_access(user, DataAccessAction.viewed, registration.event, registration)
    db.session.commit()


def access_journal(limit=300):
    """The latest entries of the personal-data access journal, the newest first."""
    return db.session.scalars(
        select(DataAccess).order_by(DataAccess.created_at.desc(), DataAccess.id.desc()).limit(limit)).all()
