"""Personal data in the post-event surveys: retention and erasure remove the free text and the
identity of a person's survey responses while the results stay the same, and a person's download
holds their answers (named and anonymous surveys), nothing of anyone else's."""
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import SurveyResponse
from webapp.services import privacy, survey_answers, surveys

from .test_privacy import database_dump
from .test_surveys import INVITE, Kind, active_survey, at, invited, new_event, question

TEXT = "Azilis Le Goff, joignable au 06 12 34 56 78"


def results(survey):
    """What the survey's results are drawn from: who answered, and every answer but free text."""
    db.session.expire_all()
    answers = Counter()
    for response in db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)):
        for answer in response.answers:
            answers[(answer.question_id, answer.number, answer.yes,
                     tuple(choice.id for choice in answer.choices), response.actor_type)] += 1
    return surveys.participation(survey), surveys.answer_counts(survey), answers


def answered(event, anonymous):
    """A survey of `event`; Azilis answers with a free text, Bob without."""
    survey = active_survey(event, anonymous=anonymous)
    azilis, bob = invited(event, survey, names=("Azilis", "Bob"))
    with at(INVITE + timedelta(hours=3)):
        survey_answers.submit(azilis, {question(survey, Kind.rating).id: ["4"],
                                       question(survey, Kind.long_text).id: [TEXT]})
        survey_answers.submit(bob, {question(survey, Kind.rating).id: ["2"],
                                    question(survey, Kind.long_text).id: ["Très bien."]})
    return survey, azilis, bob


def test_after_retention_survey_responses_keep_their_results_without_free_text_or_identity(app_ctx):
    named, azilis, _bob = answered(new_event(), anonymous=False)
    anonymous, _azilis, _bob = answered(new_event(slug="forum"), anonymous=True)
    before = results(named), results(anonymous)
    assert TEXT in database_dump()
    with at(named.event.ends_at + timedelta(days=740)):
        assert privacy.apply_retention().registrations == 4
        assert privacy.apply_retention() == privacy.RetentionReport()
    assert (results(named), results(anonymous)) == before
    dump = database_dump()
    assert TEXT not in dump and "Azilis" not in dump and "Très bien." not in dump
    responses = db.session.scalars(select(SurveyResponse)).all()
    assert len(responses) == 4 and all(response.registration_id is None for response in responses)
    assert str(azilis.registration_id) not in {response.respondent_key for response in responses}


def test_erasure_reaches_the_survey_answers_and_the_survey_link_answers_410(app_ctx, client):
    survey, azilis, bob = answered(new_event(), anonymous=False)
    before = results(survey)
    link = f"/surveys/{survey_answers.survey_token(azilis)}"
    with at(INVITE + timedelta(hours=4)):
        privacy.erase(azilis.registration)  # the event is over: nothing to cancel, erased at once
        assert client.get(link).status_code == 410
        assert client.get(f"/surveys/{survey_answers.survey_token(bob)}").status_code == 200
    assert results(survey) == before
    assert TEXT not in database_dump() and "azilis@example.org" not in database_dump()
    assert "Très bien." in database_dump()  # Bob's answer is his


def test_the_download_holds_the_persons_survey_answers_named_or_anonymous(app_ctx):
    _named, azilis, _bob = answered(new_event(), anonymous=False)
    answered(new_event(slug="forum"), anonymous=True)
    data = privacy.data_of(azilis.registration)
    assert sorted(item["anonymous"] for item in data["surveys"]) == [False, True]
    for item in data["surveys"]:
        assert {answer["text"] for answer in item["answers"]} >= {TEXT}
        assert {answer["number"] for answer in item["answers"]} >= {4}
    assert "Très bien." not in str(data) and "bob@" not in str(data)
