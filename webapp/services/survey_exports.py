"""Exports of a survey's responses: CSV and Excel (.xlsx) files, one row per response, one column
per question (the file formats and their guard against formulas: webapp/services/exports.py).

A named survey's rows start with the person's name, organisation and family of actors and the day
of the response. An anonymous survey's rows hold the answers only: no family of actors, no
organisation, no date, nothing that a registration could be joined on; by the rules of the results
page (webapp/services/survey_results.py), it is refused below MIN_GROUP responses, and the questions
of a workshop whose respondents would be too few (or too many: those left outside) are left out, as
their answers would tell who wrote the row. In both, the rows come in the order of the responses'
random ids (UUIDs): never in the order people were invited or answered.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import formatting
from ..extensions import db
from ..models import JournalAction, Registration
from ..models.surveys import CHOICE_KINDS, SurveyAnswer, SurveyQuestionKind, SurveyResponse
from . import exports, journal, survey_results
from .exports import ExportFormat

NAMED_HEADERS = [_l("Nom"), _l("Prénom"), _l("Structure"), _l("À quel titre"), _l("Jour de la réponse")]


def _answer_cell(question, answer):
    if answer is None:
        return ""
    if question.kind in CHOICE_KINDS:
        return " ; ".join(choice.label for choice in answer.choices)
    if question.kind == SurveyQuestionKind.yes_no:
        return "" if answer.yes is None else survey_results.yes_no_label(answer.yes)
    if question.number_range:
        return "" if answer.number is None else answer.number
    return answer.text


def exportable(survey):
    """A named survey always; an anonymous one from MIN_GROUP responses."""
    return not survey.anonymous or db.session.scalar(
        select(func.count()).where(SurveyResponse.survey_id == survey.id)) >= survey_results.MIN_GROUP


def rows(survey):
    """The header, then one row per response (see the module's note)."""
    questions = survey.questions
    if survey.anonymous:
        left_out = survey_results.withheld_workshops(survey, survey_results.load_responses(survey))
        questions = [question for question in questions if question.workshop_id not in left_out]
    responses = db.session.scalars(
        select(SurveyResponse).where(SurveyResponse.survey_id == survey.id).order_by(SurveyResponse.id)
        .options(selectinload(SurveyResponse.answers).selectinload(SurveyAnswer.choices))).all()
    people = {}
    if not survey.anonymous:
        ids = [response.registration_id for response in responses if response.registration_id]
        people = {registration.id: registration for registration in db.session.scalars(
            select(Registration).where(Registration.id.in_(ids)))}
    yield ([] if survey.anonymous else [str(header) for header in NAMED_HEADERS]) + [q.label for q in questions]
    for response in responses:
        answers = {answer.question_id: answer for answer in response.answers}
        row = []
        if not survey.anonymous:
            person = people.get(response.registration_id)
            row = [person.last_name if person else "", person.first_name if person else "",
                   person.organisation if person else "", formatting.actor_type_label(response.actor_type),
                   response.answered_on.isoformat()]
        yield row + [_answer_cell(question, answers.get(question.id)) for question in questions]


def export(survey, by, file_format):
    """The survey's responses as a file of `file_format` (bytes); journalled as done by `by`. Commits.
    Only for an `exportable` survey."""
    table = list(rows(survey))
    if file_format == ExportFormat.csv:
        content = exports.csv_file(table)
    else:
        content = exports.xlsx_file(table, str(_l("Réponses")))
    journal.record(survey.event, by, JournalAction.survey_responses_exported, format=file_format.value.upper(),
                   count=len(table) - 1)
    db.session.commit()
    return content
