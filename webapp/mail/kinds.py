"""The registry of mail kinds: each kind names its templates (`<kind>.txt`, `<kind>.html` in
`email_templates/`), builds what they need from its outbox row, and says whether it carries the
calendar invite, whether it shows the check-in code, and whether it is transactional or bulk.

Transactional mail (everything a registration's life causes) is never suppressed; bulk mail
(organiser mailings, survey invitations) carries the unsubscribe headers and link, and is not
sent to an address on the unsubscribe or undeliverable list (`services.suppressions`).
"""
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..formatting import event_when, in_language, sentence, venue_line
from ..links import absolute_url
from ..models import (
    BookingStatus,
    EventStatus,
    Mailing,
    MailingStatus,
    Registration,
    RegistrationStatus,
    SeatOffer,
    SurveyParticipant,
    User,
)
from ..models.base import utcnow
from ..models.registrations import ACTIVE_STATUSES
from ..rich_text import to_html, to_text
from ..services import accounts, consents, mailings, suppressions, survey_answers, surveys, tokens
from ..services.registrations import waiting_position


class MailFamily(enum.Enum):
    transactional = "transactional"
    bulk = "bulk"


class InviteMethod(enum.StrEnum):
    request = "REQUEST"  # the person holds a seat: add or update the event in their calendar
    cancel = "CANCEL"    # the registration or the event is cancelled: remove it


class MailNotDeliverable(Exception):
    """This row can never be sent (unknown kind, registration or offer gone, bad address)."""


@dataclass(frozen=True)
class MailKind:
    name: str
    # outbox row -> what the templates need besides `lang`, `registration` and `event`.
    build_context: Callable
    invite: InviteMethod | None = None
    # Mails that give or restate a seat show the check-in code (QR image and text) to a person
    # who holds one when the mail is sent (`Registration.shows_checkin_code`).
    checkin_code: bool = False
    family: MailFamily = MailFamily.transactional
    # outbox row -> why it is no longer wanted at sending time (then it is cancelled, not sent), or None.
    withdrawn_if: Callable | None = None


def withdrawal_reason(row):
    """Why the row's mail is no longer wanted, or None: checked by the worker before sending.
    Bulk mail to an address on a suppression list is withdrawn; then the kind's own rule."""
    kind = KINDS.get(row.kind)
    if kind is None:
        return None  # rendering says it cannot be sent
    if kind.family == MailFamily.bulk:
        reasons = suppressions.reasons_for(row.recipient)
        if reasons:
            return "the address is on the list: " + ", ".join(sorted(reasons))
    return kind.withdrawn_if(row) if kind.withdrawn_if is not None else None


def _participant_url(endpoint, token):
    return absolute_url(endpoint, token=token)


def _registration_context(row):
    """Context of every mail about one registration: the person, the event, the manage link."""
    registration = row.registration
    if registration is None:
        raise MailNotDeliverable("the registration no longer exists")
    context = {
        "registration": registration,
        "event": registration.event,
        "event_url": absolute_url("public.event", slug=registration.event.slug),
        "manage_url": _participant_url("participant.manage", tokens.manage_token(registration)),
    }
    if consents.has_news(registration):  # withdrawn in one click from any of their mails
        context["news_withdraw_url"] = _participant_url("participant.news_consent",
                                                        tokens.news_consent_token(registration))
    return context


def _workshops_context(row):
    context = _registration_context(row)
    bookings = context["registration"].bookings
    context["booked_workshops"] = [b.workshop for b in bookings if b.status == BookingStatus.booked]
    context["waiting_workshops"] = [
        b.workshop for b in bookings if b.status in (BookingStatus.waiting, BookingStatus.offered)
    ]
    return context


def _requested_workshops_context(row):
    """A request that awaits the organisers' decision: the workshops chosen (booked once accepted)."""
    context = _registration_context(row)
    context["requested_workshops"] = [b.workshop for b in context["registration"].active_bookings()]
    return context


def _invite_updated_context(row):
    """The workshops as they are now, and what changed in the event when it moved: the
    payload's `previous` holds the time and place before the change."""
    context = _workshops_context(row)
    event = context["event"]
    previous = row.payload.get("previous") or {}
    changes = []
    if "starts_at" in previous:
        before = event_when(event, datetime.fromisoformat(previous["starts_at"]),
                            datetime.fromisoformat(previous["ends_at"]))
        changes.append((_("Date et heure"), before, event_when(event)))
    if "venue_name" in previous:
        before = venue_line(previous["venue_name"], previous["venue_address"]) or _("non précisé")
        changes.append((_("Lieu"), before, venue_line(event.venue_name, event.venue_address) or _("non précisé")))
    context["changes"] = [change for change in changes if change[1] != change[2]]
    return context


def _reminder_withdrawn(row):
    """A reminder goes to a person who still holds a seat, before the event: a cancellation after
    the reminder was queued stops it."""
    registration = row.registration
    if registration is None:
        return None  # the context says it cannot be sent
    if registration.status != RegistrationStatus.confirmed or registration.event.status == EventStatus.cancelled:
        return "the registration or the event is cancelled"
    if utcnow() >= registration.event.starts_at:
        return "the event has started"
    return None


def _reminder_context(row):
    """The event's practical information, and how many days are left on the event's clock."""
    context = _workshops_context(row)
    event = context["event"]
    now = utcnow()
    context["days_left"] = (event.local_start.date() - now.astimezone(event.tz).date()).days
    context["practical_info_html"] = to_html(event.practical_info)
    context["practical_info_text"] = to_text(event.practical_info)
    return context


def _workshop_removed_context(row):
    """The workshops as they are now, and the workshop removed, from the payload (its row is gone):
    title, room, start and end (ISO)."""
    context = _workshops_context(row)
    removed = row.payload["workshop"]
    context["removed_workshop"] = SimpleNamespace(
        event=context["event"], title=removed["title"], room=removed["room"],
        starts_at=datetime.fromisoformat(removed["starts_at"]), ends_at=datetime.fromisoformat(removed["ends_at"]),
    )
    return context


def _confirm_address_context(row):
    context = _registration_context(row)
    context["confirm_url"] = _participant_url("participant.confirm", tokens.confirm_token(context["registration"]))
    context["confirm_hours"] = int(current_app.config["CONFIRM_LINK_MAX_AGE"].total_seconds() // 3600)
    return context


def _waiting_list_context(row):
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
        target = _("l'atelier « %(workshop)s » de l'événement « %(title)s »")
        names = {"workshop": offer.workshop.title, "title": event.title}
    else:
        context["offer_title"] = event.title
        target = _("l'événement « %(title)s »")
        names = {"title": event.title}
    context["offer_target"] = target % names
    # For the HTML part: the names marked with their language.
    context["offer_target_html"] = sentence(
        target, **{key: in_language(name, event.content_language) for key, name in names.items()})
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
        # Answers go to the people who organise the events listed (a mail about no single event).
        "reply_to": list(dict.fromkeys(registration.event.contact_email for registration in registrations)),
    }


def _mailing_of(row):
    mailing = db.session.get(Mailing, row.payload.get("mailing_id"))
    if mailing is None:
        raise MailNotDeliverable("the mailing no longer exists")
    return mailing


def _mailing_withdrawn(row):
    mailing = db.session.get(Mailing, row.payload.get("mailing_id"))
    if mailing is not None and mailing.status == MailingStatus.cancelled:
        return "the mailing was cancelled"
    return None


def _mailing_context(row):
    """An organiser mailing, its placeholders filled in for the person (for a test sent to an
    organiser: for the person of the payload's `sample_registration_id`)."""
    mailing = _mailing_of(row)
    registration = row.registration or db.session.get(Registration, row.payload.get("sample_registration_id"))
    if registration is None:
        raise MailNotDeliverable("the registration no longer exists")
    values = mailings.placeholder_values(registration)
    body_html, body_text = mailings.personal_body(mailing, values)
    return {
        "registration": registration,
        "event": registration.event,
        "mailing_subject": mailings.personal_subject(mailing, values),
        "body_html": body_html,
        "body_text": body_text,
    }


def _data_access_context(row):
    """The link to download everything held about the address, signed now (at sending time)."""
    context = _registration_context(row)
    context["data_url"] = _participant_url("participant.my_data", tokens.data_access_token(context["registration"]))
    context["valid_hours"] = int(current_app.config["DATA_ACCESS_LINK_MAX_AGE"].total_seconds() // 3600)
    return context


def _password_link_context(row, purpose, max_age_setting):
    """A back-office account and its link to choose a password, signed now (at sending time)."""
    user = db.session.get(User, row.payload.get("user_id"))
    if user is None or not user.active:
        raise MailNotDeliverable("the account no longer exists or is disabled")
    return {
        "account": user,
        "password_url": absolute_url("organiser.reset_password", token=accounts.password_token(user, purpose)),
        "valid_minutes": int(current_app.config[max_age_setting].total_seconds() // 60),
    }


def _password_reset_context(row):
    return _password_link_context(row, accounts.RESET_LINK, "PASSWORD_RESET_MAX_AGE")


def _account_invitation_context(row):
    context = _password_link_context(row, accounts.INVITATION_LINK, "ACCOUNT_INVITATION_MAX_AGE")
    context["valid_hours"] = context["valid_minutes"] // 60
    return context


def _survey_participant(row):
    participant = db.session.get(SurveyParticipant, row.payload.get("participant_id"))
    if participant is None:
        raise MailNotDeliverable("the survey or its participant no longer exists")
    return participant


def _survey_context(row):
    """The survey, the person's link to it, and when it closes."""
    context = _registration_context(row)
    participant = _survey_participant(row)
    context["survey"] = participant.survey
    context["survey_url"] = _participant_url("participant.survey", survey_answers.survey_token(participant))
    return context


def _survey_invitation_withdrawn(row):
    """No invitation to a survey that closed before it could be sent."""
    participant = db.session.get(SurveyParticipant, row.payload.get("participant_id"))
    if participant is not None and not surveys.is_open(participant.survey):
        return "the survey is closed"
    return None


def _survey_reminder_withdrawn(row):
    """No reminder to a person who answered or started answering meanwhile, nor for a closed survey."""
    participant = db.session.get(SurveyParticipant, row.payload.get("participant_id"))
    if participant is not None and (participant.answered or participant.started):
        return "the person answered or started answering"
    return _survey_invitation_withdrawn(row)


KINDS = {kind.name: kind for kind in [
    MailKind("confirm_address", _confirm_address_context),
    MailKind("manage_link", _registration_context),
    MailKind("registration_confirmed", _workshops_context, invite=InviteMethod.request, checkin_code=True),
    MailKind("waiting_list", _waiting_list_context),
    MailKind("seat_offer", _offer_context),
    MailKind("offer_expired", _offer_context),
    MailKind("invite_updated", _invite_updated_context, invite=InviteMethod.request, checkin_code=True),
    MailKind("workshop_removed", _workshop_removed_context, invite=InviteMethod.request, checkin_code=True),
    MailKind("registration_cancelled", _registration_context, invite=InviteMethod.cancel),
    MailKind("approval_requested", _requested_workshops_context),
    MailKind("registration_declined", _registration_context),
    MailKind("event_cancelled", _registration_context, invite=InviteMethod.cancel),
    MailKind("event_reminder", _reminder_context, invite=InviteMethod.request, withdrawn_if=_reminder_withdrawn),
    MailKind("lost_links", _lost_links_context),
    MailKind("data_access", _data_access_context),
    MailKind("password_reset", _password_reset_context),
    MailKind("account_invitation", _account_invitation_context),
    MailKind("organiser_mailing", _mailing_context, family=MailFamily.bulk, withdrawn_if=_mailing_withdrawn),
    MailKind("survey_invitation", _survey_context, family=MailFamily.bulk, withdrawn_if=_survey_invitation_withdrawn),
    MailKind("survey_reminder", _survey_context, family=MailFamily.bulk, withdrawn_if=_survey_reminder_withdrawn),
]}


def kinds_of(family):
    """The names of the kinds of a `MailFamily`."""
    return [name for name, kind in KINDS.items() if kind.family == family]
