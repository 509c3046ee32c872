"""Answering a survey through one's personal link: the questions a person is asked, their answers
read and checked per kind, and the one response per person.

Answers come as the form sends them, a list of strings per question: a number (rating 1–5, scale
0–10), "yes" or "no", a text, or the ids of the chosen choices; a problem is an AnswerError, the
problems of a form an AnswersError, like the answers to registration questions (`services.questions`).
Everything is checked before anything is written; a response is written whole or not at all.

One response per person is a unique constraint of the database on (survey, respondent key): the
response row is inserted with ON CONFLICT DO NOTHING, then locked, and its answers replaced. Twenty
tabs submitting at once leave one response holding the answers of the last one.

In an anonymous survey the respondent key is an HMAC of the participant with the server's secret:
the response can be found again by its owner (to change the answers), never by the organisers.
"""
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..database import insert_ignoring_conflicts
from ..extensions import db
from ..models import (
    BookingStatus,
    SurveyAnswer,
    SurveyParticipant,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
)
from ..models.base import utcnow
from . import tokens
from .questions import NO, YES, AnswerError, AnswersError, has_control_characters
from .surveys import SurveyError, SurveyErrorCode, is_open, local_day

Kind = SurveyQuestionKind

TEXT_MAX_LENGTH = {Kind.short_text: 300, Kind.long_text: 5000}
TOKEN_PURPOSE = "survey"


@dataclass(frozen=True)
class Given:
    """A valid, non-empty answer: `number`, `yes`, `text` or `choices` (SurveyChoice rows)."""
    number: int | None = None
    yes: bool | None = None
    text: str = ""
    choices: tuple = field(default=())


# --- Links -------------------------------------------------------------------------------------

def survey_token(participant):
    return tokens.make_token(TOKEN_PURPOSE, participant.id, participant.token_version)


def participant_from_token(token):
    """The participant of a genuine, unrevoked survey link, or raise tokens.InvalidLink."""
    participant_id, version = (tokens.read_token(TOKEN_PURPOSE, token) + [None, None])[:2]
    participant = db.session.get(SurveyParticipant, participant_id) if isinstance(participant_id, int) else None
    if participant is None or participant.token_version != version:
        raise tokens.InvalidLink("invalid")
    return participant


def respondent_key(participant):
    """What stands for the person in their response: the registration id in a named survey; in an
    anonymous one, a keyed hash of the participant that cannot be reversed without the secret."""
    if not participant.survey.anonymous:
        return str(participant.registration_id)
    secret = current_app.config["SECRET_KEY"].encode()
    message = f"emgav-survey-respondent:{participant.survey_id}:{participant.id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# --- Questions and answers ---------------------------------------------------------------------

def questions_for(participant):
    """The questions this person is asked, in order: those of everyone, and those of the workshops
    they were booked on."""
    registration = participant.registration
    booked = {booking.workshop_id for booking in registration.bookings if booking.status == BookingStatus.booked}
    questions = db.session.scalars(
        select(SurveyQuestion).where(SurveyQuestion.survey_id == participant.survey_id)
        .order_by(SurveyQuestion.position, SurveyQuestion.id).options(selectinload(SurveyQuestion.choices))).all()
    return [question for question in questions if question.workshop_id is None or question.workshop_id in booked]


def response_of(participant):
    """The person's response, or None."""
    return db.session.scalar(
        select(SurveyResponse).where(SurveyResponse.survey_id == participant.survey_id,
                                     SurveyResponse.respondent_key == respondent_key(participant))
        .options(selectinload(SurveyResponse.answers).selectinload(SurveyAnswer.choices)))


def raw_answers(response):
    """{question id: list of strings} of a response, as the form sends them (the form's initial data)."""
    if response is None:
        return {}
    raw = {}
    for answer in response.answers:
        if answer.choices:
            raw[answer.question_id] = [str(choice.id) for choice in answer.choices]
        elif answer.yes is not None:
            raw[answer.question_id] = [YES if answer.yes else NO]
        elif answer.number is not None:
            raw[answer.question_id] = [str(answer.number)]
        elif answer.text:
            raw[answer.question_id] = [answer.text]
    return raw


def read_answer(question, raw):
    """The answer `raw` (list of strings from the form) to `question`: a Given, or None when left
    empty (allowed unless the question is required). Raises AnswerError."""
    values = [value.strip() for value in raw or () if isinstance(value, str) and value.strip()]
    if not values:
        if question.required:
            raise AnswerError(_("Répondez à cette question.") if question.kind in TEXT_MAX_LENGTH
                              else _("Choisissez une réponse."))
        return None
    if question.kind != Kind.multiple_choice and len(values) > 1:
        raise AnswerError(_("Une seule réponse est attendue."))
    value = values[0]
    if question.kind in TEXT_MAX_LENGTH:
        text = value.replace("\r\n", "\n")
        limit = TEXT_MAX_LENGTH[question.kind]
        if len(text) > limit:
            raise AnswerError(_("Votre réponse fait %(length)d caractères : %(max)d au plus.",
                                length=len(text), max=limit))
        if has_control_characters(text, allow_line_breaks=question.kind == Kind.long_text):
            raise AnswerError(_("Ce champ ne peut pas contenir de retour à la ligne ni de caractère de contrôle."))
        return Given(text=text)
    if question.number_range is not None:
        low, high = question.number_range
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise AnswerError(_("Choisissez un nombre de %(low)d à %(high)d.", low=low, high=high))
        return Given(number=int(value))
    if question.kind == Kind.yes_no:
        if value not in (YES, NO):
            raise AnswerError(_("Choisissez parmi les réponses proposées."))
        return Given(yes=value == YES)
    by_id = {str(choice.id): choice for choice in question.choices}
    if any(value not in by_id for value in values) or len(set(values)) != len(values):
        raise AnswerError(_("Choisissez parmi les réponses proposées."))
    return Given(choices=tuple(by_id[value] for value in by_id if value in values))


def read_answers(questions, raw):
    """{question: Given or None} for every question; raises AnswersError listing every problem."""
    given, errors = {}, {}
    for question in questions:
        try:
            given[question] = read_answer(question, raw.get(question.id))
        except AnswerError as error:
            errors[question.id] = str(error)
    if errors:
        raise AnswersError(errors)
    return given


# --- Writing -----------------------------------------------------------------------------------

def mark_started(participant):
    """The person sent the form (even with mistakes): they started answering, no reminder for them.
    Opening the page is not enough: mail scanners open links too. Committed."""
    if not participant.started:
        db.session.execute(update(SurveyParticipant).where(SurveyParticipant.id == participant.id)
                           .values(started=True).execution_options(synchronize_session=False))
        db.session.commit()
        db.session.refresh(participant)


def submit(participant, raw, now=None):
    """Save the person's answers (`raw`: question id -> what the form sent), creating their one
    response or replacing its answers. Raises SurveyError('closed'), AnswersError (nothing written),
    SurveyError('changed') when a choice vanished meanwhile. Committed."""
    now = now or utcnow()
    survey = participant.survey
    if not is_open(survey, now):
        raise SurveyError(SurveyErrorCode.closed)
    given = read_answers(questions_for(participant), raw)
    registration = participant.registration
    key = respondent_key(participant)
    session = db.session
    try:
        session.execute(insert_ignoring_conflicts(SurveyResponse, ["survey_id", "respondent_key"]).values(
            id=str(uuid.uuid4()), survey_id=survey.id, respondent_key=key,
            registration_id=None if survey.anonymous else registration.id,
            actor_type=registration.actor_type, answered_on=local_day(survey, now),
        ))
        # Locked until commit: two submissions of the same person replace the answers one after the other.
        response_id = session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id,
                                            SurveyResponse.respondent_key == key).with_for_update())
        session.execute(delete(SurveyAnswer).where(SurveyAnswer.response_id == response_id)
                        .execution_options(synchronize_session=False))
        for question, value in given.items():
            if value is not None:
                session.add(SurveyAnswer(id=str(uuid.uuid4()), response_id=response_id, question_id=question.id,
                                         number=value.number, yes=value.yes, text=value.text,
                                         choices=list(value.choices)))
        session.execute(update(SurveyParticipant).where(SurveyParticipant.id == participant.id)
                        .values(answered=True, started=True).execution_options(synchronize_session=False))
        session.commit()
    except IntegrityError:  # a question or a choice was deleted while the person answered
        session.rollback()
        raise SurveyError(SurveyErrorCode.changed) from None
    session.expire_all()
