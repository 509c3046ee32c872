"""Building a post-event survey: the default template, its settings and moments, and the editing
rules of its questions.

One survey per event. It is created from a template in French or English (overall satisfaction,
recommendation, each workshop attended, what was most useful, the cooperation the person would like
to start and with which kind of actor, free comments) and then edited by the organisers.

Once people answered, a change that would break their answers is refused with a clear message:
a new kind for an answered question, removing an answered question or a chosen choice, switching
between anonymous and named. Rewording (labels, help texts, choices) is always fine.
"""
import enum
from datetime import UTC, datetime, time, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, select

from ..extensions import db
from ..models import (
    ACTOR_TYPES,
    JournalAction,
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyParticipant,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
    SurveyStatus,
)
from ..models.base import utcnow
from ..models.surveys import CHOICE_KINDS, survey_answer_choices
from . import journal, ordering

Kind = SurveyQuestionKind

DEFAULT_INVITE_TIME = time(9, 0)
# Without closing date chosen, a survey made from the template closes this long after its invitation.
DEFAULT_OPEN_DAYS = 21
MAX_DAYS = 365

KIND_LABELS = {
    Kind.rating: _l("note de 1 à 5"),
    Kind.scale: _l("échelle de 0 à 10 (recommandation)"),
    Kind.single_choice: _l("choix unique"),
    Kind.multiple_choice: _l("choix multiple"),
    Kind.yes_no: _l("oui ou non"),
    Kind.short_text: _l("texte court (une ligne)"),
    Kind.long_text: _l("texte long (plusieurs lignes)"),
}

STATUS_LABELS = {
    SurveyStatus.draft: _l("brouillon : aucune invitation ne part"),
    SurveyStatus.active: _l("actif : les invitations partent au moment prévu"),
    SurveyStatus.closed: _l("clos : plus aucune réponse acceptée"),
}


class SurveyErrorCode(enum.StrEnum):
    invalid = "invalid"                  # a value the form should not have let through
    answered_kind = "answered_kind"      # changing the kind of an answered question
    answered_question = "answered_question"  # deleting an answered question
    chosen_choice = "chosen_choice"      # deleting a choice people chose
    anonymity_locked = "anonymity_locked"    # anonymous <-> named once invitations went out
    exists = "exists"                    # the event has a survey already
    closed = "closed"                    # answering a closed survey
    changed = "changed"                  # the questions changed while the person answered


class SurveyError(Exception):
    """A change or an answer the rules refuse; `messages` say why (translated)."""

    def __init__(self, code, *messages):
        super().__init__("; ".join(str(message) for message in messages) or code)
        self.code = SurveyErrorCode(code)
        self.messages = [str(message) for message in messages]


# --- Moments -----------------------------------------------------------------------------------

def moment_after_end(event, days_after, at):
    """`days_after` days after the event's end date, at the time `at` on the event's clock (UTC)."""
    day = event.local_end.date() + timedelta(days=days_after)
    return datetime.combine(day, at, tzinfo=event.tz).astimezone(UTC)


def invitation_moment(survey):
    """When the invitations go out (UTC): `invite_days_after` days after the event's end date, at
    `invite_time` on the event's clock."""
    return moment_after_end(survey.event, survey.invite_days_after, survey.invite_time)


def reminder_moment(survey):
    """When the reminder goes out (UTC), or None: no reminder, or no invitation yet."""
    if not survey.reminder_days or survey.invited_at is None:
        return None
    return survey.invited_at + timedelta(days=survey.reminder_days)


def is_open(survey, now=None):
    """Whether the survey takes answers at `now`: active, invitations sent, between its dates."""
    now = now or utcnow()
    if survey.status != SurveyStatus.active or survey.invited_at is None:
        return False
    if survey.opens_at is not None and now < survey.opens_at:
        return False
    return survey.closes_at is None or now < survey.closes_at


def local_day(survey, now=None):
    """Today on the event's clock: the only date a response keeps."""
    return (now or utcnow()).astimezone(survey.event.tz).date()


# --- The template ------------------------------------------------------------------------------

def survey_of(event):
    return db.session.scalar(select(Survey).where(Survey.event_id == event.id))


def _template_questions(event):
    """The template's questions, in the current locale (`force_locale`)."""
    questions = [
        SurveyQuestion(kind=Kind.rating, required=True,
                       label=_("Dans l'ensemble, quelle note donnez-vous à cette journée ?"),
                       help_text=_("1 : pas du tout satisfaisante ; 5 : très satisfaisante.")),
        SurveyQuestion(kind=Kind.scale,
                       label=_("Recommanderiez-vous ce type de journée à une personne de votre réseau ?"),
                       help_text=_("0 : pas du tout ; 10 : certainement.")),
    ]
    for workshop in event.workshops:
        questions.append(SurveyQuestion(
            kind=Kind.rating, workshop=workshop,
            label=_("Quelle note donnez-vous à l'atelier « %(title)s » ?", title=workshop.title)))
    questions += [
        SurveyQuestion(kind=Kind.long_text, label=_("Qu'est-ce qui vous a été le plus utile ?")),
        SurveyQuestion(kind=Kind.long_text, label=_("Quelle coopération aimeriez-vous engager à la suite de "
                                                    "cette journée ?")),
        SurveyQuestion(kind=Kind.multiple_choice, label=_("Avec quels types d'acteurs ?"),
                       choices=[SurveyChoice(label=_(label), key=key, position=n)
                                for n, (key, label) in enumerate(ACTOR_TYPES.items(), 1)]),
        SurveyQuestion(kind=Kind.long_text, label=_("Vos commentaires libres")),
    ]
    for position, question in enumerate(questions, 1):
        question.position = position
    return questions


def create_from_template(event, language, by=None):
    """The event's survey made from the template in `language` ("fr" or "en"): a draft, anonymous,
    invitations the morning after the event at 09:00, open three weeks, reminder after 4 days.
    Journalled (`by`: the organiser, None for the service itself), committed; raises
    SurveyError('exists') when the event has one."""
    if survey_of(event) is not None:
        raise SurveyError(SurveyErrorCode.exists, _("Cet événement a déjà un questionnaire."))
    with force_locale(language):
        survey = Survey(event=event, title=_("Votre avis sur « %(title)s »", title=event.title),
                        intro=_("Quelques minutes suffisent : vos réponses aident à préparer les prochaines "
                                "rencontres."),
                        questions=_template_questions(event))
    survey.invite_days_after, survey.invite_time = 1, DEFAULT_INVITE_TIME
    survey.closes_at = invitation_moment(survey) + timedelta(days=DEFAULT_OPEN_DAYS)
    db.session.add(survey)
    journal.record(event, by, JournalAction.survey_created, language=language)
    db.session.commit()
    return survey


# --- Settings ----------------------------------------------------------------------------------

def has_responses(survey):
    return db.session.scalar(select(exists().where(SurveyResponse.survey_id == survey.id)))


def update_settings(survey, by, *, title, intro, anonymous, status, invite_days_after, invite_time, opens_at, closes_at,
                    reminder_days):
    """Change the survey's settings. Refused (SurveyError): anonymous <-> named once invitations went
    out (people were told how their answers would be kept). Committed."""
    errors = []
    if not title.strip():
        errors.append(_("Indiquez le titre du questionnaire."))
    if anonymous != survey.anonymous and (survey.invited_at is not None or has_responses(survey)):
        raise SurveyError(SurveyErrorCode.anonymity_locked, _(
            "Les invitations sont parties : le questionnaire ne peut plus passer d'anonyme à nominatif ni "
            "l'inverse, les personnes ont répondu en le sachant."))
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        errors.append(_("La clôture doit venir après l'ouverture."))
    if not 0 <= invite_days_after <= MAX_DAYS or not 0 <= reminder_days <= MAX_DAYS:
        errors.append(_("Un nombre de jours va de 0 à %(max)d.", max=MAX_DAYS))
    elif survey.invited_at is None and closes_at is not None and (
            closes_at <= moment_after_end(survey.event, invite_days_after, invite_time)):
        errors.append(_("La clôture doit venir après l'envoi des invitations : personne ne pourrait répondre."))
    if errors:
        raise SurveyError(SurveyErrorCode.invalid, *errors)
    survey.title, survey.intro, survey.anonymous, survey.status = title.strip(), intro.strip(), anonymous, status
    survey.invite_days_after, survey.invite_time = invite_days_after, invite_time
    survey.opens_at, survey.closes_at, survey.reminder_days = opens_at, closes_at, reminder_days
    journal.record(survey.event, by, JournalAction.survey_updated)
    db.session.commit()


# --- Questions ---------------------------------------------------------------------------------

def answer_count(question):
    """How many responses answered the question."""
    return db.session.scalar(select(func.count()).select_from(SurveyAnswer)
                             .where(SurveyAnswer.question_id == question.id))


def _chosen(choice):
    return db.session.scalar(select(exists().where(survey_answer_choices.c.choice_id == choice.id)))


def match_choices(existing, lines):
    """Pair the choice labels the organisers typed (`lines`, one per choice) with the existing
    choices: a line equal to a choice's label keeps it; the other lines reword the other choices in
    order; what is left is added (lines) or removed (choices). Returns (kept pairs (choice, label),
    new labels, removed choices)."""
    lines = [line.strip() for line in lines if line.strip()]
    by_label = {choice.label: choice for choice in existing}
    exact = {line: by_label[line] for line in lines if line in by_label}
    other_choices = [choice for choice in existing if choice not in exact.values()]
    kept, added = [], []
    for line in lines:
        if line in exact:
            kept.append((exact[line], line))
        elif other_choices:
            kept.append((other_choices.pop(0), line))
        else:
            added.append(line)
    return kept, added, other_choices


def _check_question(kind, label, choice_lines, workshop_id, event):
    errors = []
    if not label.strip():
        errors.append(_("Indiquez le libellé de la question."))
    lines = [line.strip() for line in choice_lines if line.strip()]
    if kind in CHOICE_KINDS and not lines:
        errors.append(_("Une question à choix a besoin d'au moins un choix proposé (un par ligne)."))
    if len({line.casefold() for line in lines}) != len(lines):
        errors.append(_("Deux choix ont le même libellé."))
    if workshop_id is not None and workshop_id not in {workshop.id for workshop in event.workshops}:
        errors.append(_("Cet atelier n'existe pas (ou plus)."))
    return errors


def add_question(survey, by, *, kind, label, help_text="", required=False, workshop_id=None, choices=()):
    """A new question at the end of the survey (`choices`: labels, for the choice kinds). Committed;
    raises SurveyError."""
    kind = Kind(kind)
    lines = [line.strip() for line in choices if line.strip()] if kind in CHOICE_KINDS else []
    errors = _check_question(kind, label, lines, workshop_id, survey.event)
    if errors:
        raise SurveyError(SurveyErrorCode.invalid, *errors)
    last = db.session.scalar(select(func.max(SurveyQuestion.position)).where(SurveyQuestion.survey_id == survey.id))
    question = SurveyQuestion(
        survey_id=survey.id, kind=kind, label=label.strip(), help_text=(help_text or "").strip(), required=required,
        workshop_id=workshop_id, position=(last or 0) + 1,
        choices=[SurveyChoice(label=line, position=n) for n, line in enumerate(lines, 1)])
    db.session.add(question)
    journal.record(survey.event, by, JournalAction.survey_question_added, label=question.label)
    db.session.commit()
    return question


def update_question(question, by, *, kind, label, help_text="", required=False, workshop_id=None, choices=()):
    """Change a question (`choices`: the labels, one per choice, see `match_choices`). Refused
    (SurveyError), nothing changed: a new kind once people answered; removing a choice people chose.
    Committed."""
    kind = Kind(kind)
    lines = list(choices) if kind in CHOICE_KINDS else []
    errors = _check_question(kind, label, lines, workshop_id, question.survey.event)
    if errors:
        raise SurveyError(SurveyErrorCode.invalid, *errors)
    if kind != question.kind and answer_count(question):
        raise SurveyError(SurveyErrorCode.answered_kind, _(
            "Des personnes ont déjà répondu à cette question : son type ne peut plus changer. Vous pouvez "
            "en reformuler le libellé, ou ajouter une nouvelle question."))
    kept, added, removed = match_choices(question.choices, lines)
    chosen = [choice.label for choice in removed if _chosen(choice)]
    if chosen:
        raise SurveyError(SurveyErrorCode.chosen_choice, *[
            _("Le choix « %(label)s » a déjà été choisi dans des réponses : il ne peut pas être retiré "
              "(vous pouvez le reformuler).", label=label) for label in chosen])
    question.kind, question.label, question.help_text = kind, label.strip(), (help_text or "").strip()
    question.required, question.workshop_id = required, workshop_id
    for position, (choice, text) in enumerate(kept, 1):
        choice.label, choice.position = text, position
    for position, text in enumerate(added, len(kept) + 1):
        question.choices.append(SurveyChoice(label=text, position=position))
    for choice in removed:
        question.choices.remove(choice)
    journal.record(question.survey.event, by, JournalAction.survey_question_updated, label=question.label)
    db.session.commit()


def delete_question(question, by):
    """Delete a question nobody answered; refused (SurveyError) once somebody did. Committed."""
    if answer_count(question):
        raise SurveyError(SurveyErrorCode.answered_question, _(
            "Des personnes ont déjà répondu à cette question : elle ne peut plus être supprimée, ses "
            "réponses seraient perdues."))
    journal.record(question.survey.event, by, JournalAction.survey_question_deleted, label=question.label)
    db.session.execute(delete(SurveyQuestion).where(SurveyQuestion.id == question.id))
    db.session.commit()


def move_question(question, by, offset):
    """Move the question one place up (`offset` -1) or down (+1). Committed; False when it cannot go further."""
    if not ordering.move_one_place(question.survey.questions, question, offset):
        return False
    journal.record(question.survey.event, by, JournalAction.survey_question_moved, label=question.label)
    db.session.commit()
    return True


def kind_label(kind):
    return str(KIND_LABELS[Kind(kind)])


def status_label(status):
    return str(STATUS_LABELS[SurveyStatus(status)])


def participation(survey):
    """(invited, answered): how many people were invited and how many of them answered."""
    invited, answered = db.session.execute(
        select(func.count(), func.count().filter(SurveyParticipant.answered.is_(True)))
        .where(SurveyParticipant.survey_id == survey.id)).one()
    return invited, answered


def answer_counts(survey):
    """{question id: how many responses answered it}."""
    return dict(db.session.execute(
        select(SurveyAnswer.question_id, func.count())
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(SurveyQuestion.survey_id == survey.id).group_by(SurveyAnswer.question_id)).all())
