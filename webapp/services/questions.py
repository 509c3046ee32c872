"""An event's own registration questions: the organisers add, change, order and delete them (each
change journalled), and the answers people give are read and checked here, whoever sends them
(public form, manage page, back office).

Answers come as the forms send them, a list of strings per question: the text, "yes" or "no",
or the ids of the chosen choices. `read_answer` checks one against its question (kind, required,
length, a choice that the form offered); `new_answers` and `set_answers` turn them into rows.

What organisers expect of a question people already answered:
- its kind cannot change (the answers would no longer fit it);
- a choice people chose cannot be deleted: removing it hides it from new registrations, the
  answers given stay (shown, exported, filtered on); a choice nobody chose is deleted. The
  database decides (the foreign key of `answer_choices`), so a registration that chooses it at
  the same moment keeps its answer;
- deleting the question deletes its answers: the back office asks first, saying how many.
"""
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import Answer, JournalAction, Question, QuestionChoice, QuestionKind
from ..models.questions import CHOICE_KINDS, answer_choices
from . import journal, ordering

# The longest answers a form takes, by kind.
TEXT_MAX_LENGTH = {QuestionKind.short_text: 200, QuestionKind.long_text: 2000}
YES, NO = "yes", "no"

KIND_LABELS = {
    QuestionKind.short_text: _l("texte court (une ligne)"),
    QuestionKind.long_text: _l("texte long (plusieurs lignes)"),
    QuestionKind.single_choice: _l("choix unique"),
    QuestionKind.multiple_choice: _l("choix multiple"),
    QuestionKind.yes_no: _l("oui ou non"),
}


class QuestionError(Exception):
    """A change of a question that the rules refuse; `errors` lists why (translated)."""

    def __init__(self, errors):
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = [str(error) for error in errors]


class AnswersError(Exception):
    """Answers that do not fit their questions; `errors` maps question ids to messages."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{question_id}: {message}" for question_id, message in errors.items()))
        self.errors = errors


class AnswerError(ValueError):
    """One answer that does not fit its question (the message, translated)."""


@dataclass(frozen=True)
class Given:
    """A valid, non-empty answer: `text`, `yes` (yes/no) or `choices` (QuestionChoice rows)."""
    text: str = ""
    yes: bool | None = None
    choices: tuple = field(default=())


def has_control_characters(text, allow_line_breaks):
    """Control characters (line breaks too, unless `allow_line_breaks`): never in an answer's text."""
    allowed = "\n\t" if allow_line_breaks else ""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch not in allowed for ch in text)


def read_answer(question, raw, *, offered, required=True):
    """The answer `raw` (list of strings from a form) to `question`: a Given, or None when left
    empty (allowed unless the question is required and `required` is true). `offered`: the choices
    the form offered (a QuestionChoice list). Raises AnswerError."""
    values = [value.strip() for value in raw or () if isinstance(value, str) and value.strip()]
    if not values:
        if required and question.required:
            raise AnswerError(_("Répondez à cette question.") if question.kind in (
                QuestionKind.short_text, QuestionKind.long_text) else _("Choisissez une réponse."))
        return None
    if question.kind in TEXT_MAX_LENGTH:
        text = values[0].replace("\r\n", "\n")
        limit = TEXT_MAX_LENGTH[question.kind]
        if len(values) > 1:
            raise AnswerError(_("Une seule réponse est attendue."))
        if len(text) > limit:
            raise AnswerError(_("%(max)d caractères au plus.", max=limit))
        if has_control_characters(text, allow_line_breaks=question.kind == QuestionKind.long_text):
            raise AnswerError(_("Ce champ ne peut pas contenir de retour à la ligne ni de caractère de contrôle."))
        return Given(text=text)
    if question.kind == QuestionKind.yes_no:
        if len(values) > 1 or values[0] not in (YES, NO):
            raise AnswerError(_("Choisissez parmi les réponses proposées."))
        return Given(yes=values[0] == YES)
    by_id = {str(choice.id): choice for choice in offered}
    if any(value not in by_id for value in values) or len(set(values)) != len(values) or (
            question.kind == QuestionKind.single_choice and len(values) > 1):
        raise AnswerError(_("Choisissez parmi les réponses proposées."))
    return Given(choices=tuple(sorted((by_id[value] for value in values), key=lambda c: (c.position, c.id))))


def raw_of(answer):
    """An answer as a form sends it (the form's initial data)."""
    if answer is None:
        return []
    if answer.question.kind == QuestionKind.yes_no:
        return [] if answer.yes is None else [YES if answer.yes else NO]
    if answer.question.kind in CHOICE_KINDS:
        return [str(choice.id) for choice in answer.choices]
    return [answer.text] if answer.text else []


def _read_all(questions, answers, required, chosen):
    """{question: Given or None} for every question; raises AnswersError listing every problem."""
    given, errors = {}, {}
    for question in questions:
        try:
            given[question] = read_answer(question, answers.get(question.id), required=required,
                                          offered=question.offered_choices(chosen.get(question.id, ())))
        except AnswerError as error:
            errors[question.id] = str(error)
    if errors:
        raise AnswersError(errors)
    return given


def _fill(answer, given):
    answer.text, answer.yes, answer.choices = given.text, given.yes, list(given.choices)
    return answer


def new_answers(questions, answers, *, required=True):
    """The Answer rows (unsaved) of a new registration: `answers` maps question ids to what the
    form sent. Raises AnswersError."""
    given = _read_all(questions, answers or {}, required, {})
    return [_fill(Answer(question=question), value) for question, value in given.items() if value is not None]


def choices_gone(answers):
    """After the database refused new `answers` (Answer rows): an AnswersError for those whose
    chosen choice was deleted in the meantime, or None when none was."""
    chosen = {choice.id for answer in answers for choice in answer.choices}
    if not chosen:
        return None
    present = set(db.session.scalars(select(QuestionChoice.id).where(QuestionChoice.id.in_(chosen))))
    gone = {answer.question.id: _("Ce choix n'est plus proposé : choisissez de nouveau.") for answer in answers
            if any(choice.id not in present for choice in answer.choices)}
    return AnswersError(gone) if gone else None


def set_answers(registration, questions, answers, *, required=True):
    """Replace a registration's answers to `questions` with `answers` (question id -> what the form
    sent); a hidden choice the person had chosen may stay chosen. Not committed. Raises AnswersError."""
    current = {answer.question_id: answer for answer in registration.answers}
    chosen = {question_id: {choice.id for choice in answer.choices} for question_id, answer in current.items()}
    given = _read_all(questions, answers or {}, required, chosen)
    for question, value in given.items():
        answer = current.get(question.id)
        if value is None:
            if answer is not None:
                registration.answers.remove(answer)
        elif answer is None:
            registration.answers.append(_fill(Answer(question=question), value))
        else:
            _fill(answer, value)


def answer_text(answer):
    """An answer as one line of text: the text, « oui »/« non », or the choices « A ; B »."""
    if answer is None:
        return ""
    if answer.question.kind == QuestionKind.yes_no:
        return "" if answer.yes is None else (_("oui") if answer.yes else _("non"))
    if answer.question.kind in CHOICE_KINDS:
        return " ; ".join(choice.label for choice in answer.choices)
    return answer.text


def kind_label(kind):
    return str(KIND_LABELS[QuestionKind(kind)])


def load(event):
    """The event's questions with their choices, in one query (two when it has questions), set as
    `event.questions`: pages then read them without a query per question."""
    found = db.session.scalars(
        select(Question).where(Question.event_id == event.id).order_by(Question.position, Question.id)
        .options(selectinload(Question.choices))).all()
    set_committed_value(event, "questions", list(found))
    return event.questions


# --- The organisers' side -----------------------------------------------------------------------

def answer_counts(event):
    """{question id: how many registrations answered it} for the event's questions (unanswered left out)."""
    rows = db.session.execute(
        select(Answer.question_id, func.count()).join(Question, Question.id == Answer.question_id)
        .where(Question.event_id == event.id).group_by(Answer.question_id))
    return dict(rows.all())


def answer_count(question):
    """How many registrations answered the question (cancelled ones too)."""
    return db.session.scalar(select(func.count()).select_from(Answer).where(Answer.question_id == question.id))


def choice_answer_counts(question):
    """{choice id: how many answers chose it} (choices nobody chose left out)."""
    rows = db.session.execute(
        select(answer_choices.c.choice_id, func.count()).join(QuestionChoice,
                                                              QuestionChoice.id == answer_choices.c.choice_id)
        .where(QuestionChoice.question_id == question.id).group_by(answer_choices.c.choice_id))
    return dict(rows.all())


def _check(kind, label, choice_labels):
    errors = []
    if not label.strip():
        errors.append(_l("Indiquez le libellé de la question."))
    if kind in CHOICE_KINDS and not [text for text in choice_labels if text.strip()]:
        errors.append(_l("Une question à choix a besoin d'au moins un choix proposé."))
    if len({text.strip().casefold() for text in choice_labels}) != len(choice_labels):
        errors.append(_l("Deux choix ont le même libellé."))
    return errors


def add_question(event, by, *, kind, label, help_text="", required=False, choices=()):
    """A new question at the end of the event's form (`choices`: labels, for the choice kinds).
    Journalled, committed; returns it. Raises QuestionError."""
    kind = QuestionKind(kind)
    choices = [text.strip() for text in choices if text.strip()] if kind in CHOICE_KINDS else []
    errors = _check(kind, label, choices)
    if errors:
        raise QuestionError(errors)
    last = db.session.scalar(select(func.max(Question.position)).where(Question.event_id == event.id))
    question = Question(event_id=event.id, kind=kind, label=label.strip(), help_text=(help_text or "").strip(),
                        required=required, position=(last or 0) + 1,
                        choices=[QuestionChoice(label=text, position=n) for n, text in enumerate(choices, 1)])
    db.session.add(question)
    journal.record(event, by, JournalAction.question_added, label=question.label)
    db.session.commit()
    return question


@dataclass
class ChoiceChanges:
    """What the question's page sends about its choices: new labels of existing ones (by id),
    those to remove, hidden ones to offer again, and new labels."""
    labels: dict = field(default_factory=dict)
    removed: set = field(default_factory=set)
    restored: set = field(default_factory=set)
    added: list = field(default_factory=list)


def update_question(question, by, *, kind, label, help_text="", required=False, choices=None):
    """Change a question; `choices` (ChoiceChanges) for the choice kinds. Refused (QuestionError):
    a new kind once people answered. A removed choice that people chose is hidden instead of
    deleted. Journalled, committed; returns the names of the choices hidden rather than deleted."""
    kind = QuestionKind(kind)
    choices = choices or ChoiceChanges()
    added = [text.strip() for text in choices.added if text.strip()]
    kept = [c for c in question.choices if c.id not in choices.removed]
    labels = {c.id: choices.labels.get(c.id, c.label).strip() for c in question.choices}
    offered = [labels[c.id] for c in kept if not c.hidden or c.id in choices.restored] + added
    errors = _check(kind, label, ([labels[c.id] for c in question.choices] + added) if kind in CHOICE_KINDS else [])
    if kind in CHOICE_KINDS and offered == [] and not errors:
        errors.append(_l("Une question à choix a besoin d'au moins un choix proposé."))
    if any(not text for text in labels.values()) and kind in CHOICE_KINDS:
        errors.append(_l("Un choix ne peut pas être vide : cochez « Retirer » pour l'enlever."))
    if kind != question.kind and answer_count(question):
        errors.append(_l("Des personnes ont déjà répondu à cette question : son type ne peut plus changer."))
    if errors:
        db.session.rollback()
        raise QuestionError(errors)
    question.kind, question.label, question.help_text, question.required = (
        kind, label.strip(), (help_text or "").strip(), required)
    hidden = []
    if kind in CHOICE_KINDS:
        for choice in question.choices:
            choice.label = labels[choice.id]
            if choice.id in choices.restored:
                choice.hidden = False
        position = max((c.position for c in question.choices), default=0)
        for number, text in enumerate(added, 1):
            question.choices.append(QuestionChoice(label=text, position=position + number))
        removed = [c for c in question.choices if c.id in choices.removed]
    else:
        removed = list(question.choices)
    db.session.flush()
    for choice in removed:
        if not _delete_choice(choice):
            choice.hidden = True
            hidden.append(choice.label)
    db.session.expire(question, ["choices"])
    journal.record(question.event, by, JournalAction.question_updated, label=question.label)
    db.session.commit()
    return hidden


def _delete_choice(choice):
    """Delete a choice nobody chose; False (nothing deleted) when somebody did, even at this moment:
    the foreign key of their answer refuses the deletion."""
    try:
        with db.session.begin_nested():
            deleted = db.session.execute(
                delete(QuestionChoice).where(QuestionChoice.id == choice.id,
                                             ~exists().where(answer_choices.c.choice_id == QuestionChoice.id))
                .execution_options(synchronize_session=False)).rowcount
    except IntegrityError:
        return False
    return deleted == 1


def move_question(question, by, offset):
    """Move the question one place up (`offset` -1) or down (+1) in the form; journalled, committed.
    False when it is first (or last) already."""
    if not ordering.move_one_place(question.event.questions, question, offset):
        return False
    journal.record(question.event, by, JournalAction.question_moved, label=question.label)
    db.session.commit()
    return True


def delete_question(question, by):
    """Delete the question and every answer to it; journalled with their number, committed."""
    event, label, count = question.event, question.label, answer_count(question)
    db.session.execute(delete(Answer).where(Answer.question_id == question.id))
    db.session.delete(question)
    journal.record(event, by, JournalAction.question_deleted, label=label, count=count)
    db.session.commit()
    return count


def copies_of(questions):
    """Unsaved copies of `questions` for another event (next year's edition): the choices still
    offered, no answers."""
    return [Question(kind=q.kind, label=q.label, help_text=q.help_text, required=q.required, position=q.position,
                     choices=[QuestionChoice(label=c.label, position=c.position) for c in q.choices if not c.hidden])
            for q in questions]
