"""The results of a survey on a known story (tests/survey_story.py): counts, means, medians, NPS,
choices, yes/no and free-text answers, the response rate day by day, split by family of actors and
per workshop; the small groups of an anonymous survey withheld or pooled; the page, its pictures
and its exports in French and English; and nothing that joins an anonymous response to a
registration, by id, by order or by time."""
import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
import time_machine
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import EventStatus, JournalEntry
from webapp.models.base import utcnow
from webapp.models.surveys import Survey, SurveyResponse, SurveyStatus
from webapp.services import events, survey_answers, survey_exports, survey_invitations, survey_results, surveys
from webapp.services.survey_results import net_promoter_score, numbers

from . import support
from .support import logged_in_as, make_user, page_text, person
from .survey_story import DAY, RESPONSES, make_story, registrations_of
from .test_surveys import INVITE, Kind, active_survey, answer_over_http, at, invited, new_event, question


def results_of(app, story, **filters):
    with app.test_request_context():
        return survey_results.survey_results(db.session.get(Survey, story["survey"]), **filters)


def by_key(results, story):
    """{question key: QuestionResult}."""
    keys = {question_id: key for key, question_id in story["questions"].items()}
    return {keys[result.question.id]: result for result in results.questions}


def summary(result):
    figures = result.numbers
    return figures.count, figures.mean, figures.median, figures.nps


@pytest.fixture
def anonymous(app):
    return make_story(app, anonymous=True)


@pytest.fixture
def named(app):
    return make_story(app, anonymous=False)


# --- The figures of a list of numbers ---

def test_mean_median_and_distribution_of_ratings():
    figures = numbers([5, 4, 4, 3, 2, 5, 3, 1, 4], 1, 5)
    assert figures.distribution == [(1, 1), (2, 1), (3, 2), (4, 3), (5, 2)]
    assert (figures.count, figures.mean, figures.median, figures.nps) == (9, 3.44, 4, None)
    assert numbers([1, 2, 4, 5], 1, 5).median == 3  # an even count: the mean of the two middle values
    assert numbers([], 1, 5).mean is None


def test_net_promoter_score():
    # promoters 9–10: 4, passives 7–8: 2, detractors 0–6: 3 → (4 - 3) / 9 = 11 %
    figures = numbers([10, 9, 9, 7, 8, 0, 6, 3, 10], 0, 10, with_nps=True)
    assert (figures.promoters, figures.passives, figures.detractors, figures.nps) == (4, 2, 3, 11)
    assert net_promoter_score([9, 10]) == 100
    assert net_promoter_score([6, 0]) == -100
    assert net_promoter_score([7, 8]) == 0
    assert net_promoter_score([10, 6, 6]) == -33
    assert net_promoter_score([]) is None


# --- Every response ---

@pytest.mark.parametrize("anonymous_survey", [True, False], ids=["anonymous", "named"])
def test_every_question_over_every_response(app, anonymous_survey):
    story = make_story(app, anonymous=anonymous_survey)
    results = results_of(app, story)
    answers = by_key(results, story)

    assert (results.invited, results.respondents, results.withheld) == (12, 9, False)
    assert summary(answers["overall"]) == (9, 3.44, 4, None)
    assert summary(answers["recommend"]) == (9, 6.89, 8, 11)
    assert answers["useful"].counts == [("Les ateliers", 4), ("Les rencontres", 3), ("Les pauses", 0)]
    assert answers["useful"].answered == 7
    assert answers["cooperate"].counts == [("Une association", 2), ("Une collectivité", 1), ("Un laboratoire", 1)]
    assert answers["cooperate"].answered == 3
    assert answers["again"].counts == [("Oui", 6), ("Non", 3)]
    # Alphabetical, accents aside; the empty answer left out.
    assert answers["comment"].texts == ["Bravo", "Manque de temps", "Salle trop petite", "Très bien organisé",
                                        "Trop court"]
    assert summary(answers["agro"]) == (4, 3.5, 3.5, None)


@support.ON_BOTH_DATABASES
def test_response_rate_day_by_day_and_the_figures_by_family(db_app):
    story = make_story(db_app, anonymous=False)
    results = results_of(db_app, story)
    assert [(day.day, day.responses, day.total, day.rate) for day in results.days] == [
        (DAY[13], 5, 5, 42), (DAY[14], 0, 5, 42), (DAY[15], 4, 9, 75)]
    assert summary(by_key(results, story)["recommend"]) == (9, 6.89, 8, 11)
    assert [(group.key, group.respondents, group.invited) for group in results.groups] == [
        ("asi", 3, 4), ("ess", 4, 5), ("recherche", 1, 1), ("paysanne", 1, 1)]
    with db_app.app_context():  # the export's rows in the order of the responses' ids, on both databases
        survey = db.session.get(Survey, story["survey"])
        assert [row[1] for row in list(survey_exports.rows(survey))[1:]] == [
            name for name, *_rest in reversed(RESPONSES)]


# --- By family of actors ---

def test_named_survey_split_by_family_shows_every_family(app, named):
    results = results_of(app, named)
    groups = {group.key: group for group in results.groups}
    assert list(groups) == ["asi", "ess", "recherche", "paysanne"]  # the order of ACTOR_TYPES
    assert [(group.respondents, group.invited) for group in groups.values()] == [(3, 4), (4, 5), (1, 1), (1, 1)]
    ess = by_key_of_group(results, groups["ess"], named)
    assert summary(ess["overall"]) == (4, 4, 4, None)
    assert summary(ess["recommend"]) == (4, 8.75, 9, 75)
    asi = by_key_of_group(results, groups["asi"], named)
    assert summary(asi["overall"]) == (3, 3.33, 3, None)
    assert summary(asi["recommend"]) == (3, 4.67, 6, -67)
    assert asi["again"].counts == [("Oui", 2), ("Non", 1)]
    assert by_key_of_group(results, groups["recherche"], named)["comment"].texts == ["Salle trop petite"]


def by_key_of_group(results, group, story):
    keys = {question_id: key for key, question_id in story["questions"].items()}
    return {keys[result.question.id]: result for result in results.group_results(group)}


def test_named_survey_filtered_by_one_family(app, named):
    results = results_of(app, named, actor_type="recherche")
    assert (results.actor_type, results.respondents, results.invited, results.groups) == ("recherche", 1, 1, [])
    assert summary(by_key(results, named)["overall"]) == (1, 1, 1, None)
    assert [(day.day, day.total, day.rate) for day in results.days] == [(DAY[15], 1, 100)]


def test_anonymous_survey_pools_the_small_families(app, anonymous):
    """recherche (1) and paysanne (1) make 2 together: fewer than 3, so the smallest family shown
    (asi, 3) joins them; otherwise the whole minus ess and asi would give their two answers."""
    results = results_of(app, anonymous)
    assert [(group.key, group.actor_types, group.respondents, group.invited) for group in results.groups] == [
        ("ess", ("ess",), 4, 5), ("other", ("asi", "recherche", "paysanne"), 5, 6)]
    assert results.families == ["ess"]
    other = by_key_of_group(results, results.groups[1], anonymous)
    assert summary(other["overall"]) == (5, 3, 3, None)


@pytest.mark.parametrize("family", ["asi", "recherche", "paysanne", "collectivite", "unknown"])
def test_anonymous_survey_refuses_a_family_not_shown_on_its_own(app, anonymous, family):
    results = results_of(app, anonymous, actor_type=family)
    assert results.actor_type is None  # the filter is dropped: every response
    assert results.respondents == 9


def test_anonymous_survey_filtered_by_a_family_shown_on_its_own(app, anonymous):
    results = results_of(app, anonymous, actor_type="ess")
    assert (results.actor_type, results.respondents, results.withheld) == ("ess", 4, False)
    assert summary(by_key(results, anonymous)["recommend"]) == (4, 8.75, 9, 75)


# --- Per workshop ---

def test_a_workshops_respondents_are_those_who_answered_its_questions(app, named):
    results = results_of(app, named, workshop_id=named["workshops"]["agro"])
    answers = by_key(results, named)
    assert (results.workshop_id, results.respondents) == (named["workshops"]["agro"], 4)
    assert summary(answers["agro"]) == (4, 3.5, 3.5, None)
    assert summary(answers["overall"]) == (4, 3, 3, None)  # 5, 4, 2, 1
    assert [workshop.title for workshop in results.workshops] == ["Agroécologie", "RIAA"]
    both = results_of(app, named, workshop_id=named["workshops"]["agro"], actor_type="ess")
    assert summary(by_key(both, named)["agro"]) == (2, 4.5, 4.5, None)


def test_anonymous_workshop_of_too_few_respondents_is_withheld(app, anonymous):
    agro = results_of(app, anonymous, workshop_id=anonymous["workshops"]["agro"])
    assert (agro.withheld, agro.respondents, agro.groups) == (False, 4, [])  # no split inside a workshop
    riaa = results_of(app, anonymous, workshop_id=anonymous["workshops"]["riaa"])  # two respondents
    assert (riaa.withheld, riaa.respondents, riaa.days) == (True, 0, [])
    assert all(result.answered == 0 for result in riaa.questions)
    # One filter at a time: the family is dropped when a workshop is chosen.
    assert results_of(app, anonymous, workshop_id=anonymous["workshops"]["agro"], actor_type="ess").actor_type is None


def test_anonymous_survey_with_fewer_than_three_responses_shows_nothing(app, anonymous):
    with app.app_context():
        for response_id in anonymous["responses"][2:]:
            db.session.delete(db.session.get(SurveyResponse, response_id))
        db.session.commit()
    results = results_of(app, anonymous)
    assert (results.withheld, results.respondents, results.groups, results.days) == (True, 0, [], [])


# --- The page, its pictures, its exports ---

def organiser_client(app, story):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, make_user(f"orga-{story['survey']}@example.org", events=[story["event"]]))
    return client


@pytest.mark.parametrize("language", ["fr", "en"])
def test_results_page_with_its_tables(app, named, language):
    client = organiser_client(app, named)
    base = f"/organiser/events/{named['event']}/survey/results"
    text = page_text(client.get(f"{base}?lang={language}"))
    if language == "fr":
        assert "Réponses : 9 pour 12 personnes invitées (75" in text
        assert "NPS : 11" in text
        assert "moyenne : 3,44 ; médiane : 4" in text
    else:
        assert "Responses: 9 for 12 people invited (75" in text
        assert "NPS: 11" in text
        assert "mean: 3.44; median: 4" in text
    side = client.get(f"{base}?families=side&lang={language}")
    assert side.status_code == 200
    # The recommendation scale side by side: ess's row (4 answers, mean 8.75, median 9, NPS 75).
    assert re.search(r"<th scope=\"row\">[^<]+</th>\s*<td[^>]*>4</td>\s*<td[^>]*>8[.,]75</td>\s*"
                     r"<td[^>]*>9</td>\s*<td[^>]*>75</td>", side.get_data(as_text=True))
    picture = client.get(f"{base}/question-{named['questions']['recommend']}.svg?families=side")
    assert picture.status_code == 200 and picture.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<script" not in picture.data
    assert client.get(f"{base}/rate.svg").status_code == 200
    assert client.get(f"{base}/question-{named['questions']['comment']}.svg").status_code == 404  # text: no chart
    assert client.get(f"{base}?families=nothing").status_code == 422  # an unknown choice: said, not a 500


def test_results_page_without_a_survey(app, make_event):
    event_id = make_event()
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, make_user("sans-questionnaire@example.org", events=[event_id]))
    assert "n'a pas de questionnaire" in support.plain(page_text(client.get(
        f"/organiser/events/{event_id}/survey/results")))
    token = support.csrf_token(client, f"/organiser/events/{event_id}/survey/results")
    assert client.post(f"/organiser/events/{event_id}/survey/responses.csv",
                       data={"csrf_token": token}).status_code == 404


def export(app, story, file_format):
    client = organiser_client(app, story)
    path = f"/organiser/events/{story['event']}/survey/results"
    token = support.csrf_token(client, path)
    response = client.post(f"/organiser/events/{story['event']}/survey/responses.{file_format}",
                           data={"csrf_token": token})
    assert response.status_code == 200
    if file_format == "csv":
        return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    return [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_named_export_has_the_person_and_the_day(app, named, file_format):
    rows = export(app, named, file_format)
    assert rows[0][:6] == ["Nom", "Prénom", "Structure", "À quel titre", "Jour de la réponse",
                           "Satisfaction générale"]
    assert len(rows) == 10
    anne = next(row for row in rows if row[1] == "Anne")
    assert anne[:11] == ["Le Goff", "Anne", "Structure de Anne", "structure de l’ESS", "2030-06-13", "5", "10",
                         "Les ateliers", "Une association ; Un laboratoire", "Oui", "Très bien organisé"]
    # In the order of the responses' random ids (chosen in reverse of their writing here).
    assert [row[1] for row in rows[1:]] == [name for name, *_rest in reversed(RESPONSES)]
    with app.app_context():
        entry = db.session.scalars(select(JournalEntry).where(JournalEntry.event_id == named["event"])
                                   .order_by(JournalEntry.id.desc())).first()
        assert (entry.action, entry.details) == ("survey_responses_exported",
                                                 {"format": file_format.upper(), "count": 9})


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_anonymous_export_cannot_be_joined_to_the_registrations(app, anonymous, file_format):
    """An organiser holding the registrations and the export tries every join: by a person's
    details, by a registration's id, by the order of invitation or of answering, by a date."""
    rows = export(app, anonymous, file_format)
    # The RIAA workshop's question is left out: its two respondents would be known by their row.
    assert rows[0] == ["Satisfaction générale", "Recommanderiez-vous cette journée ?", "Le plus utile",
                       "Coopérer avec", "Reviendriez-vous ?", "Commentaires", "Atelier agroécologie"]
    cells = {cell for row in rows[1:] for cell in row}
    for _id, first_name, last_name, email, organisation in registrations_of(app, anonymous):
        assert not {first_name, last_name, email, organisation} & cells
    # No column of ids, families of actors, organisations or dates.
    assert not any(re.fullmatch(r"\d{4}-\d\d-\d\d.*|[0-9a-f-]{32,36}", cell) for cell in cells)
    assert not {"structure de l’ESS", "association de solidarité internationale", "ess", "asi"} & cells
    # The order is neither that of the invitations nor that of the answers (RESPONSES is both).
    overall = [row[0] for row in rows[1:]]
    assert overall != [str(answers["overall"]) for _name, _family, _day, answers in RESPONSES]
    assert overall == [str(answers["overall"]) for _name, _family, _day, answers in reversed(RESPONSES)]


def test_an_anonymous_survey_of_fewer_than_three_responses_is_not_exported(app, anonymous):
    with app.app_context():
        for response_id in anonymous["responses"][2:]:
            db.session.delete(db.session.get(SurveyResponse, response_id))
        db.session.commit()
    client = organiser_client(app, anonymous)
    path = f"/organiser/events/{anonymous['event']}/survey/results"
    assert "responses.csv" not in client.get(path).get_data(as_text=True)
    refused = client.post(f"/organiser/events/{anonymous['event']}/survey/responses.csv",
                          data={"csrf_token": support.csrf_token(client, path)}, follow_redirects=True)
    assert refused.status_code == 200 and "Content-Disposition" not in refused.headers
    assert "Trop peu de réponses pour exporter" in support.plain(page_text(refused))
    with app.app_context():
        assert db.session.scalars(select(JournalEntry).filter_by(action="survey_responses_exported")).all() == []


def test_anonymous_responses_and_pages_cannot_be_joined_to_the_registrations(app, anonymous):
    registrations = registrations_of(app, anonymous)
    with app.app_context():
        rows = db.session.execute(select(SurveyResponse).where(SurveyResponse.survey_id == anonymous["survey"])
                                  ).scalars().all()
        assert all(row.registration_id is None for row in rows)
        keys = {row.respondent_key for row in rows} | {row.id for row in rows}
        assert not keys & {str(registration.id) for registration in registrations}
        # Only a day, no time.
        assert {type(row.answered_on).__name__ for row in rows} == {"date"}
    client = organiser_client(app, anonymous)
    base = f"/organiser/events/{anonymous['event']}/survey/results"
    for query in ["", "?families=side", "?families=ess", f"?workshop={anonymous['workshops']['agro']}",
                  f"?workshop={anonymous['workshops']['riaa']}", "?families=recherche"]:
        html = client.get(base + query).get_data(as_text=True)
        for _id, first_name, last_name, email, organisation in registrations:
            assert not [word for word in (first_name, last_name, email, organisation) if word in html]
        # The single researcher's comment is never under their family.
        assert not re.search(r"université ou recherche</h3>", html)
        assert ("Salle trop petite" in html) == (query in ("", "?families=side", "?families=recherche",
                                                          f"?workshop={anonymous['workshops']['agro']}"))
    riaa = page_text(client.get(f"{base}?workshop={anonymous['workshops']['riaa']}"))
    assert "Trop peu de réponses" in riaa


# --- End to end: invitations by the real worker, answers over HTTP, the results page ---

def test_end_to_end_answers_over_http_show_in_the_results_by_family(app, base_env, live_server, smtp_server):
    """A named survey: the worker mails the invitations, three people of two families answer over
    HTTP (one changes an answer), the fourth does not; the results page and the export show the
    counts, means, medians and NPS, by family of actors."""
    worker = support.start_worker(base_env, beat=False)
    try:
        now = utcnow().replace(microsecond=0)
        with app.test_request_context():
            with time_machine.travel(now - timedelta(days=8), tick=True):
                start = now - timedelta(days=7)
                event = events.create_event(slug="journee-resultats", title="Journée régionale", starts_at=start,
                                            ends_at=start + timedelta(hours=8), contact_email="contact@example.org",
                                            status=EventStatus.published)
                for name, actor_type in (("Anne", "ess"), ("Bleuenn", "ess"), ("Corentin", "asi"),
                                         ("Deniz", "recherche")):
                    person(event, name, actor_type=actor_type)
                survey = surveys.create_from_template(event, "fr")
                survey.status, survey.anonymous = SurveyStatus.active, False
                db.session.commit()
            with time_machine.travel(surveys.invitation_moment(survey) + timedelta(minutes=1), tick=True):
                assert survey_invitations.queue_due_invitations() == 4
            rating, scale = question(survey, Kind.rating).id, question(survey, Kind.scale).id
            event_id, survey_id = event.id, survey.id
            organiser = make_user("resultats@example.org", events=[event_id])

        links = {}
        for name in ("anne", "bleuenn", "corentin", "deniz"):
            [mail] = smtp_server.wait_for(f"{name}@example.org", kind="survey_invitation")
            links[name] = support.link_in(mail, "surveys")
        for name, (score, recommend) in {"anne": (5, 10), "bleuenn": (3, 6), "corentin": (2, 9)}.items():
            answer_over_http(live_server, links[name], **{f"question_{rating}": str(score),
                                                          f"question_{scale}": str(recommend)})
        answer_over_http(live_server, links["bleuenn"], **{f"question_{rating}": "4", f"question_{scale}": "6"})

        client = app.test_client()
        with app.app_context():
            logged_in_as(client, organiser)
        base = f"/organiser/events/{event_id}/survey/results"
        text = support.plain(page_text(client.get(base)))
        assert "Réponses : 3 pour 4 personnes invitées (75" in text
        # Ratings 5, 4, 2: mean 3.67, median 4; scale 10, 6, 9: NPS (2 - 1) / 3 = 33.
        assert "Réponses : 3 ; moyenne : 3,67 ; médiane : 4." in text
        assert ("NPS : 33 (personnes qui recommandent, 9 ou 10 : 2 ; neutres, 7 ou 8 : 0 ; qui ne recommandent "
                "pas, 0 à 6 : 1)") in text
        side = client.get(base + "?families=side").get_data(as_text=True)
        side = side[side.index(f'id="chart-question-{scale}"'):]
        side = side[:side.index("</section>")]
        # The scale side by side: asi (1 answer, 9, NPS 100), then ess (2 answers, mean 8, NPS 0).
        rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([\d,]+)</td>\s*'
                          r'<td[^>]*>([\d,]+)</td>\s*<td[^>]*>(-?\d+)</td>', side)
        assert [row[1:] for row in rows] == [("1", "9", "9", "100"), ("2", "8", "8", "0")]
        ess = support.plain(page_text(client.get(base + "?families=ess")))
        assert "Réponses de la famille « structure de l'ESS » : 2." in ess
        assert "Réponses : 2 ; moyenne : 4,5 ; médiane : 4,5." in ess
        rows = export(app, {"event": event_id, "survey": survey_id}, "csv")
        assert sorted((row[1], row[3], row[5]) for row in rows[1:]) == [
            ("Anne", "structure de l’ESS", "5"), ("Bleuenn", "structure de l’ESS", "4"),
            ("Corentin", "association de solidarité internationale", "2")]
    finally:
        worker.stop()


def test_answers_given_through_the_survey_form_cannot_be_joined_to_the_registrations(app_ctx, client):
    """Eight people of an anonymous survey answer one after the other, an hour apart, in the order
    of their invitation: the export's rows follow the responses' random ids, hold no id, no date,
    no hour, and the page tells no hour either."""
    event = new_event(slug="journee-anonyme")
    survey = active_survey(event)
    names = ["Anne", "Bleuenn", "Corentin", "Deniz", "Elouan", "Fanch", "Gaid", "Hoel"]
    participants = invited(event, survey, names, actor_type="ess")
    rating = question(survey, Kind.rating).id
    for hour, participant in enumerate(participants):
        with at(INVITE + timedelta(hours=1 + hour, minutes=17)):
            survey_answers.submit(participant, {rating: [str(1 + hour % 5)]})
    by_id = sorted(db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)),
                   key=lambda response: response.id)
    assert all(response.registration_id is None for response in by_id)
    expected = [str(next(a.number for a in response.answers if a.question_id == rating)) for response in by_id]
    registrations = [(r.id, r.email, r.first_name) for r in (p.registration for p in participants)]
    participant_ids = [p.id for p in participants]
    label, event_id = question(survey, Kind.rating).label, event.id
    logged_in_as(client, make_user("anonyme@example.org", events=[event_id]))
    db.session.commit()  # the requests below write (the journal) from their own sessions

    path = f"/organiser/events/{event_id}/survey/results"
    token = support.csrf_token(client, path)
    exported = client.post(f"/organiser/events/{event_id}/survey/responses.csv", data={"csrf_token": token})
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
    column = rows[0].index(label)
    assert [row[column] for row in rows[1:]] == expected  # the order of the random ids, nothing else
    content = exported.data.decode("utf-8-sig") + client.get(path).get_data(as_text=True)
    assert not re.search(r"\b(1[0-9]|0?[89]):17\b", content)  # no hour of an answer
    cells, ratings = {cell for row in rows for cell in row}, {str(1 + n % 5) for n in range(8)}
    assert not cells & ({str(id_) for id_, _email, _name in registrations} | set(map(str, participant_ids))) - ratings
    assert not [email for _id, email, name in registrations if email in content or name in content]
