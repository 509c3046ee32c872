"""A known survey for the tests of its results, pages and exports: an event with two workshops,
twelve people invited (ess 5, asi 4, recherche 1, paysanne 1, collectivite 1) and nine responses
over three days, written straight into the tables (as the answering form would store them).

What the figures must be is worked out by hand in tests/test_survey_results.py.
"""
import uuid
from datetime import date, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Event, EventStatus, Registration, Workshop
from webapp.models.surveys import (
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyParticipant,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
    SurveyStatus,
)

from . import support

START = support.START
DAY = {13: date(2030, 6, 13), 14: date(2030, 6, 14), 15: date(2030, 6, 15)}
# key: (kind, label, choices, workshop key)
QUESTIONS = {
    "overall": (SurveyQuestionKind.rating, "Satisfaction générale", (), None),
    "recommend": (SurveyQuestionKind.scale, "Recommanderiez-vous cette journée ?", (), None),
    "useful": (SurveyQuestionKind.single_choice, "Le plus utile", ("Les ateliers", "Les rencontres", "Les pauses"),
               None),
    "cooperate": (SurveyQuestionKind.multiple_choice, "Coopérer avec", ("Une association", "Une collectivité",
                                                                       "Un laboratoire"), None),
    "again": (SurveyQuestionKind.yes_no, "Reviendriez-vous ?", (), None),
    "comment": (SurveyQuestionKind.long_text, "Commentaires", (), None),
    "agro": (SurveyQuestionKind.rating, "Atelier agroécologie", (), "agro"),
    "riaa": (SurveyQuestionKind.rating, "Atelier RIAA", (), "riaa"),
}
# (name, actor type, day, answers); the names are those of the registrations.
RESPONSES = [
    ("Anne", "ess", 13, dict(overall=5, recommend=10, useful="Les ateliers", again=True, agro=5,
                             cooperate=["Une association", "Un laboratoire"], comment="Très bien organisé")),
    ("Bleuenn", "ess", 13, dict(overall=4, recommend=9, useful="Les ateliers", cooperate=["Une association"],
                                again=True, comment="", agro=4)),
    ("Corentin", "ess", 15, dict(overall=4, recommend=9, useful="Les rencontres", again=False, comment="Trop court")),
    ("Deniz", "ess", 15, dict(overall=3, recommend=7, useful="Les ateliers", cooperate=["Une collectivité"],
                              again=True, comment="Bravo")),
    ("Elouan", "asi", 13, dict(overall=2, recommend=8, useful="Les rencontres", again=False,
                               comment="Manque de temps", agro=3)),
    ("Fanch", "asi", 13, dict(overall=5, recommend=0, useful="Les rencontres", again=True, riaa=4)),
    ("Gaid", "asi", 15, dict(overall=3, recommend=6, useful="Les ateliers", again=True)),
    ("Hoel", "recherche", 15, dict(overall=1, recommend=3, again=False, comment="Salle trop petite", agro=2)),
    ("Iwen", "paysanne", 13, dict(overall=4, recommend=10, again=True, riaa=5)),
]
# Invited, not answering.
SILENT = [("Jakez", "ess"), ("Katell", "asi"), ("Loic", "collectivite")]


def make_story(app, anonymous=True):
    """The event, its survey, the invitations and the responses; returns their ids:
    {"event", "survey", "workshops": {key: id}, "questions": {key: id}, "people": {name: registration id},
    "responses": [response id in the order of RESPONSES]}. The responses' random ids are chosen in
    descending order, so that an order of ids is never the order of the rows' writing."""
    with app.app_context():
        event = Event(slug=f"journee-{uuid.uuid4().hex[:8]}", title="Journée régionale : regards croisés",
                      starts_at=START, ends_at=START + timedelta(hours=8), contact_email="contact@example.org",
                      status=EventStatus.published, capacity=None,
                      workshops=[Workshop(key="agro", title="Agroécologie", starts_at=START + timedelta(hours=1),
                                          ends_at=START + timedelta(hours=2)),
                                 Workshop(key="riaa", title="RIAA", starts_at=START + timedelta(hours=3),
                                          ends_at=START + timedelta(hours=4))])
        db.session.add(event)
        db.session.commit()
        event_id = event.id
        workshops = {workshop.key: workshop.id for workshop in event.workshops}
    people = {name: support.person_id(app, event_id, name, actor_type=actor_type,
                                      organisation=f"Structure de {name}")
              for name, actor_type in [(name, actor_type) for name, actor_type, _day, _answers in RESPONSES] + SILENT}
    with app.app_context():
        survey = Survey(event_id=event_id, title="Votre avis sur la journée", anonymous=anonymous,
                        status=SurveyStatus.active, invited_at=START + timedelta(days=1))
        questions = {}
        for position, (key, (kind, label, choices, workshop)) in enumerate(QUESTIONS.items()):
            question = SurveyQuestion(kind=kind, label=label, position=position,
                                      workshop_id=workshops[workshop] if workshop else None,
                                      choices=[SurveyChoice(label=choice, position=index)
                                               for index, choice in enumerate(choices)])
            survey.questions.append(question)
            questions[key] = question
        db.session.add(survey)
        db.session.flush()
        for registration_id in people.values():
            db.session.add(SurveyParticipant(survey_id=survey.id, registration_id=registration_id,
                                             invited_at=START + timedelta(days=1)))
        response_ids = []
        for index, (name, actor_type, day, answers) in enumerate(RESPONSES):
            response_id = str(uuid.UUID(int=(len(RESPONSES) - index) << 64, version=4))
            response = SurveyResponse(
                id=response_id, survey_id=survey.id, actor_type=actor_type, answered_on=DAY[day],
                respondent_key=uuid.uuid4().hex if anonymous else str(people[name]),
                registration_id=None if anonymous else people[name])
            for key, value in answers.items():
                question = questions[key]
                answer = SurveyAnswer(question_id=question.id)
                if question.kind in (SurveyQuestionKind.rating, SurveyQuestionKind.scale):
                    answer.number = value
                elif question.kind == SurveyQuestionKind.yes_no:
                    answer.yes = value
                elif question.has_choices:
                    answer.choices = [choice for choice in question.choices if choice.label in value]
                else:
                    answer.text = value
                response.answers.append(answer)
            db.session.add(response)
            response_ids.append(response_id)
            db.session.flush()
        db.session.commit()
        return {"event": event_id, "survey": survey.id, "workshops": workshops,
                "questions": {key: question.id for key, question in questions.items()}, "people": people,
                "responses": response_ids}


def registrations_of(app, story):
    """The story's registrations as (id, first name, last name, email, organisation)."""
    with app.app_context():
        return db.session.execute(
            select(Registration.id, Registration.first_name, Registration.last_name, Registration.email,
                   Registration.organisation).where(Registration.event_id == story["event"])).all()
