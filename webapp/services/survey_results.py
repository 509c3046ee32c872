"""The results of an event's survey for its organisers: the response rate day by day, and for each
question its distribution (ratings 1–5 and scales 0–10 with their mean and median, the 0–10 scale
with its NPS), the counts of its choices or of yes and no, or its free-text answers; all of it for
every response, for one family of actors, side by side by family of actors, or for one workshop.

A family of actors is the `actor_type` kept on each response. A workshop's respondents are those
who answered at least one of the questions asked only of its people: the same rule for named and
anonymous surveys, read from the answers alone.

Anonymous surveys: nothing shown may single out a person.
- A group of fewer than MIN_GROUP respondents is not shown on its own: side by side, the small
  families are pooled in « other families », and when that pool is still smaller than MIN_GROUP the
  smallest shown families join it (so that nobody is found by subtracting the shown groups from
  the whole).
- One filter at a time (a family of actors, or a workshop): a family must be one shown on its own
  side by side; a view (and what the whole minus it leaves) must hold MIN_GROUP respondents or
  more, else it is withheld.
- Free-text answers are listed in alphabetical order, never in an order of time or of rows.
Named surveys: every group is shown, whatever its size, and both filters may be combined.
"""
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import ACTOR_TYPES, Registration
from ..models.surveys import (
    CHOICE_KINDS,
    SurveyAnswer,
    SurveyParticipant,
    SurveyQuestionKind,
    SurveyResponse,
    survey_answer_choices,
)

MIN_GROUP = 3
# The group of the small families of actors pooled together (anonymous surveys).
OTHER_FAMILIES = "other"
TEXT_KINDS = (SurveyQuestionKind.short_text, SurveyQuestionKind.long_text)
NUMBER_KINDS = (SurveyQuestionKind.rating, SurveyQuestionKind.scale)
PROMOTERS = (9, 10)   # on the 0–10 scale
DETRACTORS = (0, 6)


# --- Figures of a list of numbers ---

@dataclass(frozen=True)
class Numbers:
    """The answers to a rating (1–5) or a scale (0–10)."""
    distribution: list        # (value, count) for every value of the range, the lowest first
    mean: float | None
    median: float | None
    # The 0–10 scale only: people at 9–10, 7–8, 0–6, and the NPS: promoters minus detractors,
    # in % of the answers (a whole number from -100 to 100).
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    nps: int | None = None

    @property
    def count(self):
        return sum(count for _value, count in self.distribution)


def net_promoter_score(values):
    """The NPS of 0–10 answers (None without any): % at 9–10 minus % at 0–6, rounded."""
    if not values:
        return None
    promoters = sum(PROMOTERS[0] <= value <= PROMOTERS[1] for value in values)
    detractors = sum(DETRACTORS[0] <= value <= DETRACTORS[1] for value in values)
    return round(100 * (promoters - detractors) / len(values))


def numbers(values, lowest, highest, with_nps=False):
    """The figures of `values` (whole numbers between `lowest` and `highest`)."""
    counts = Counter(values)
    figures = dict(distribution=[(value, counts.get(value, 0)) for value in range(lowest, highest + 1)],
                   mean=round(statistics.fmean(values), 2) if values else None,
                   median=statistics.median(values) if values else None)
    if with_nps:
        promoters = sum(counts[value] for value in range(PROMOTERS[0], PROMOTERS[1] + 1))
        detractors = sum(counts[value] for value in range(DETRACTORS[0], DETRACTORS[1] + 1))
        figures.update(promoters=promoters, detractors=detractors, passives=len(values) - promoters - detractors,
                       nps=net_promoter_score(values))
    return Numbers(**figures)


# --- One question, one group of responses ---

@dataclass(frozen=True)
class QuestionResult:
    question: object          # SurveyQuestion
    answered: int             # responses with an answer to it
    numbers: Numbers | None = None
    counts: list | None = None   # choices and yes/no: (label, count), in the question's order
    texts: list | None = None    # text questions: the answers, in alphabetical order

    def share(self, count):
        """`count` in % of the answers to the question (None without any)."""
        return round(100 * count / self.answered) if self.answered else None


def yes_no_label(yes):
    return _("Oui") if yes else _("Non")


def _given(value):
    """An answer value that says something (not a skipped question, an empty text or no choice)."""
    return value not in (None, "", frozenset())


def question_result(question, answers):
    """The result of `question` from `answers`: the answer values of the group's responses to it
    (a number, True/False, a text, or a set of choice ids)."""
    answers = [value for value in answers if _given(value)]
    result = dict(question=question, answered=len(answers))
    if question.kind in NUMBER_KINDS:
        lowest, highest = question.number_range
        result["numbers"] = numbers(answers, lowest, highest, with_nps=question.kind == SurveyQuestionKind.scale)
    elif question.kind in CHOICE_KINDS:
        result["counts"] = [(choice.label, sum(choice.id in chosen for chosen in answers))
                            for choice in question.choices]
    elif question.kind == SurveyQuestionKind.yes_no:
        result["counts"] = [(yes_no_label(value), sum(answer is value for answer in answers))
                            for value in (True, False)]
    else:
        result["texts"] = sorted(answers, key=_alphabetical)
    return QuestionResult(**result)


def _alphabetical(text):
    """A sort key of texts as a dictionary orders them: accents and case aside first."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    return ("".join(ch for ch in plain if not unicodedata.combining(ch)), text)


# --- Loading the responses ---

@dataclass(frozen=True)
class Response:
    """One response as the results read it: its family of actors and its answers by question id."""
    actor_type: str
    answers: dict = field(default_factory=dict)


def load_responses(survey):
    """Every response of the survey (three statements, whatever their number)."""
    responses = {response_id: Response(actor_type) for response_id, actor_type in db.session.execute(
        select(SurveyResponse.id, SurveyResponse.actor_type).where(SurveyResponse.survey_id == survey.id))}
    rows = db.session.execute(
        select(SurveyAnswer.id, SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.number,
               SurveyAnswer.yes, SurveyAnswer.text)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)).all()
    chosen = defaultdict(set)
    for answer_id, choice_id in db.session.execute(
            select(survey_answer_choices.c.answer_id, survey_answer_choices.c.choice_id)
            .join(SurveyAnswer, SurveyAnswer.id == survey_answer_choices.c.answer_id)
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(SurveyResponse.survey_id == survey.id)):
        chosen[answer_id].add(choice_id)
    kinds = {question.id: question.kind for question in survey.questions}
    for answer_id, response_id, question_id, number, yes, text in rows:
        kind = kinds.get(question_id)
        if kind in NUMBER_KINDS:
            value = number
        elif kind in CHOICE_KINDS:
            value = frozenset(chosen.get(answer_id, ()))
        elif kind == SurveyQuestionKind.yes_no:
            value = yes
        else:
            value = text.strip()
        responses[response_id].answers[question_id] = value
    return list(responses.values())


def withheld_workshops(survey, responses):
    """Anonymous survey: the workshops whose respondents are too few to be shown (`enough`)."""
    return {workshop_id for workshop_id in {question.workshop_id for question in survey.questions}
            if workshop_id is not None
            and not enough(len(workshop_respondents(survey, responses, workshop_id)), len(responses))}


def workshop_respondents(survey, responses, workshop_id):
    """The responses with an answer to a question asked only of the workshop's people."""
    asked = {question.id for question in survey.questions if question.workshop_id == workshop_id}
    return [response for response in responses
            if any(_given(response.answers.get(question_id)) for question_id in asked)]


def results_of(survey, responses):
    """Each question's result over `responses`, in the survey's order."""
    return [question_result(question, [response.answers.get(question.id) for response in responses])
            for question in survey.questions]


# --- Groups by family of actors ---

@dataclass(frozen=True)
class Group:
    key: str                  # an actor type, or OTHER_FAMILIES
    actor_types: tuple        # the families in it (several for OTHER_FAMILIES)
    responses: list
    invited: int = 0          # people invited, of these families

    @property
    def respondents(self):
        return len(self.responses)


def _family_order(key):
    keys = list(ACTOR_TYPES)
    return (keys.index(key), key) if key in keys else (len(keys), key)


def actor_groups(responses, anonymous, invited=None):
    """The responses by family of actors, in the order of ACTOR_TYPES: every family with
    respondents; in an anonymous survey, the small ones pooled (see the module's note)."""
    invited = invited or {}
    by_type = defaultdict(list)
    for response in responses:
        by_type[response.actor_type].append(response)
    shown = sorted(by_type, key=_family_order)
    pooled = []
    if anonymous:
        pooled = [key for key in shown if len(by_type[key]) < MIN_GROUP]
        shown = [key for key in shown if key not in pooled]
        while pooled and sum(len(by_type[key]) for key in pooled) < MIN_GROUP and shown:
            smallest = min(shown, key=lambda key: (len(by_type[key]), _family_order(key)))
            shown.remove(smallest)
            pooled.append(smallest)
    groups = [Group(key, (key,), by_type[key], invited.get(key, 0)) for key in shown]
    pooled_responses = [response for key in pooled for response in by_type[key]]
    if pooled and (not anonymous or len(pooled_responses) >= MIN_GROUP):
        pooled = sorted(pooled, key=_family_order)
        groups.append(Group(OTHER_FAMILIES, tuple(pooled), pooled_responses,
                            sum(invited.get(key, 0) for key in pooled)))
    return groups


# --- The response rate ---

@dataclass(frozen=True)
class Day:
    day: object               # a date
    responses: int            # responses whose first answer was that day
    total: int                # running total
    rate: int | None          # running total in % of the people invited


def _invited_by_family(survey):
    """{actor type: people invited} (an aggregate of the invitations, never joined to a response)."""
    return dict(db.session.execute(
        select(Registration.actor_type, func.count())
        .join(SurveyParticipant, SurveyParticipant.registration_id == Registration.id)
        .where(SurveyParticipant.survey_id == survey.id).group_by(Registration.actor_type)).all())


def _days(survey, actor_types, invited):
    """The responses of these families (None: all) day by day, from the first to the last."""
    query = (select(SurveyResponse.answered_on, func.count()).where(SurveyResponse.survey_id == survey.id)
             .group_by(SurveyResponse.answered_on))
    if actor_types is not None:
        query = query.where(SurveyResponse.actor_type.in_(actor_types))
    counts = dict(db.session.execute(query).all())
    if not counts:
        return []
    days, total, day = [], 0, min(counts)
    while day <= max(counts):
        total += counts.get(day, 0)
        days.append(Day(day, counts.get(day, 0), total, round(100 * total / invited) if invited else None))
        day += timedelta(days=1)
    return days


# --- The view an organiser asks for ---

@dataclass(frozen=True)
class Results:
    survey: object
    actor_type: str | None    # the family of actors chosen (None: every family)
    workshop_id: int | None   # the workshop chosen (None: every response)
    invited: int              # people invited (of the family chosen)
    respondents: int          # responses in the view (0 when withheld)
    withheld: bool            # an anonymous view too small to be shown
    days: list                # Day, response rate over time (every workshop)
    questions: list           # QuestionResult per question of the survey
    groups: list              # Group, side by side by family of actors (within the workshop chosen)
    families: list            # the families that may be chosen as a filter
    workshops: list           # the workshops with questions of their own, that may be chosen

    def group_results(self, group):
        return results_of(self.survey, group.responses)


def enough(part, whole):
    """An anonymous view of `part` respondents out of `whole` leaves nobody to single out."""
    rest = whole - part
    return part >= MIN_GROUP and (rest == 0 or rest >= MIN_GROUP)


def survey_results(survey, actor_type=None, workshop_id=None):
    """The results of `survey` for one family of actors and/or one workshop (None: all); in an
    anonymous survey, one filter only (the workshop wins) and the rules of the module's note."""
    responses = load_responses(survey)
    invited = _invited_by_family(survey)
    anonymous = survey.anonymous
    workshops = sorted({question.workshop for question in survey.questions if question.workshop_id},
                       key=lambda workshop: (workshop.starts_at, workshop.id))
    if workshop_id not in {workshop.id for workshop in workshops}:
        workshop_id = None
    if anonymous and workshop_id is not None:
        actor_type = None
    families = [group.key for group in actor_groups(responses, anonymous) if group.key != OTHER_FAMILIES]
    if actor_type not in families:
        actor_type = None

    chosen = responses
    if workshop_id is not None:
        chosen = workshop_respondents(survey, chosen, workshop_id)
    if actor_type is not None:
        chosen = [response for response in chosen if response.actor_type == actor_type]
    withheld = anonymous and not enough(len(chosen), len(responses))
    if withheld:
        chosen = []
    families_chosen = None if actor_type is None else [actor_type]
    invited_chosen = invited.get(actor_type, 0) if actor_type else sum(invited.values())
    days = [] if withheld else _days(survey, families_chosen, invited_chosen)
    side_by_side = not withheld and actor_type is None and not (anonymous and workshop_id is not None)
    groups = actor_groups(chosen, anonymous, invited if workshop_id is None else None) if side_by_side else []
    return Results(survey, actor_type, workshop_id, invited_chosen, len(chosen), withheld, days,
                   results_of(survey, chosen), groups, families, workshops)

