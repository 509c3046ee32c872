"""Post-event surveys: the template, the editing rules (moving questions too), the invitations and
the reminder (beat run twice, check-in or not, unsubscribed addresses), answering through the
personal link (types checked, answers changed, bad input, forged links, closed surveys), one
response per person under 20 simultaneous submissions (SQLite and PostgreSQL), anonymity of the
stored rows, and the end-to-end path through the real worker to the SMTP server. Time travels
(time_machine); nothing sleeps."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.mail import delivery
from webapp.models import (
    CheckIn,
    EventStatus,
    JournalAction,
    JournalEntry,
    OutboxMail,
    OutboxStatus,
    Registration,
    SurveyAnswer,
    SurveyChoice,
    SurveyParticipant,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
    SurveyStatus,
    Workshop,
)
from webapp.models.base import utcnow
from webapp.services import events, suppressions, survey_answers, survey_invitations, surveys
from webapp.services.surveys import SurveyError, SurveyErrorCode

from . import support
from .support import person
from .test_concurrency import run_together, target  # noqa: F401  (the fixture: SQLite and PostgreSQL)

PARIS = ZoneInfo("Europe/Paris")
Kind = SurveyQuestionKind


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


# Wednesday 12 June 2030, 09:30-17:30 in Paris: invitations on Thursday 13 June at 09:00 (Paris).
START = paris(2030, 6, 12, 9, 30)
INVITE = paris(2030, 6, 13, 9, 0)
REMIND = INVITE + timedelta(days=4)


def at(moment):
    """Travel to `moment` and stay there (the clock does not tick)."""
    return time_machine.travel(moment, tick=False)


def new_event(slug="journee", **values):
    """A published event with two workshops, created on 1 June 2030."""
    values = dict(title="Journée régionale", starts_at=START, ends_at=START + timedelta(hours=8),
                  contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published) | values
    with at(paris(2030, 6, 1, 12, 0)):
        event = events.create_event(slug=slug, **values)
        for key, title, hour in (("agro", "Agroécologie", 14), ("eau", "Accès à l'eau", 16)):
            event.workshops.append(Workshop(key=key, title=title, starts_at=START.replace(hour=hour),
                                            ends_at=START.replace(hour=hour, minute=59)))
        db.session.commit()
        return event


def register(event, name, **fields):
    """A confirmed registration made on 2 June 2030."""
    with at(paris(2030, 6, 2, 12, 0)):
        return person(event, name, **fields)


def active_survey(event, language="fr", **values):
    with at(paris(2030, 6, 3, 12, 0)):
        survey = surveys.create_from_template(event, language)
        survey.status = SurveyStatus.active
        for name, value in values.items():
            setattr(survey, name, value)
        db.session.commit()
        return survey


def question(survey, kind):
    return next(q for q in survey.questions if q.kind == kind and q.workshop_id is None)


def invitations():
    return db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "survey_invitation")
                              .order_by(OutboxMail.recipient)).all()


def link_of(participant):
    return f"/surveys/{survey_answers.survey_token(participant)}"


def participant_of(survey, registration):
    return db.session.scalars(select(SurveyParticipant).filter_by(survey_id=survey.id,
                                                                  registration_id=registration.id)).one()


# --- The template and the editing rules ---

def test_the_template_in_french_and_in_english(app_ctx):
    event = new_event()
    survey = surveys.create_from_template(event, "fr")
    labels = [support.plain(q.label) for q in survey.questions]
    assert labels[0] == "Dans l'ensemble, quelle note donnez-vous à cette journée ?"
    assert [q.kind for q in survey.questions][:2] == [Kind.rating, Kind.scale]
    by_workshop = {q.workshop.key: q for q in survey.questions if q.workshop is not None}
    assert set(by_workshop) == {"agro", "eau"} and by_workshop["agro"].kind == Kind.rating
    actors = next(q for q in survey.questions if q.kind == Kind.multiple_choice)
    assert [c.key for c in actors.choices] == ["asi", "ess", "collectivite", "recherche", "paysanne", "entreprise",
                                               "particulier", "autre"]
    assert survey.anonymous and survey.status == SurveyStatus.draft and survey.reminder_days == 4
    assert surveys.invitation_moment(survey) == INVITE.astimezone(UTC)
    with pytest.raises(SurveyError):
        surveys.create_from_template(event, "en")

    english = surveys.create_from_template(new_event(slug="day"), "en")
    assert english.questions[0].label == "Overall, how would you rate this day?"
    assert next(q for q in english.questions if q.kind == Kind.multiple_choice).choices[0].label == (
        "international solidarity association")


def test_once_answered_breaking_changes_are_refused_and_rewording_is_fine(app_ctx, client):
    event = new_event()
    anne = register(event, "Anne")
    survey = active_survey(event)
    actors = next(q for q in survey.questions if q.kind == Kind.multiple_choice)
    rating = question(survey, Kind.rating)
    with at(INVITE):
        survey_invitations.queue_due_invitations()
        participant = participant_of(survey, anne)
        survey_answers.submit(participant, {rating.id: ["4"], actors.id: [str(actors.choices[0].id)]})

    labels = [c.label for c in actors.choices]
    with pytest.raises(SurveyError) as refused:
        surveys.update_question(actors, None, kind=Kind.single_choice, label=actors.label, choices=labels)
    assert refused.value.code == SurveyErrorCode.answered_kind
    assert "son type ne peut plus changer" in support.plain(refused.value.messages[0])
    with pytest.raises(SurveyError) as refused:
        surveys.update_question(actors, None, kind=Kind.multiple_choice, label=actors.label, choices=labels[1:])
    assert refused.value.code == SurveyErrorCode.chosen_choice
    assert f"« {labels[0]} » a déjà été choisi" in support.plain(refused.value.messages[0])
    with pytest.raises(SurveyError) as refused:
        surveys.delete_question(rating, None)
    assert refused.value.code == SurveyErrorCode.answered_question
    with pytest.raises(SurveyError) as refused:
        surveys.update_settings(survey, None, title=survey.title, intro="", anonymous=False, status=survey.status,
                                invite_days_after=1, invite_time=survey.invite_time, opens_at=None,
                                closes_at=survey.closes_at, reminder_days=4)
    assert refused.value.code == SurveyErrorCode.anonymity_locked
    db.session.rollback()

    # Rewording keeps the choices (and the answers), removing a choice nobody chose is fine.
    chosen = actors.choices[0]
    surveys.update_question(actors, None, kind=Kind.multiple_choice, label="Avec qui ?",
                            choices=["ASI"] + labels[1:-1])
    db.session.expire_all()
    assert [c.label for c in actors.choices][:2] == ["ASI", labels[1]] and len(actors.choices) == 7
    assert actors.choices[0].id == chosen.id and actors.label == "Avec qui ?"
    surveys.update_question(rating, None, kind=Kind.rating, label="Votre note", help_text="De 1 à 5.", required=True)
    unanswered = question(survey, Kind.scale)
    surveys.delete_question(unanswered, None)
    assert db.session.get(SurveyQuestion, unanswered.id) is None
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 2


def test_the_choices_typed_one_per_line_keep_their_identity():
    a, b, c = (SurveyChoice(id=n, label=label) for n, label in enumerate("ABC", 1))
    assert surveys.match_choices([a, b, c], ["A", "C"]) == ([(a, "A"), (c, "C")], [], [b])
    assert surveys.match_choices([a, b, c], ["A", "B2", "C", "D"]) == ([(a, "A"), (b, "B2"), (c, "C")], ["D"], [])
    assert surveys.match_choices([a, b, c], ["C", "A", "B"]) == ([(c, "C"), (a, "A"), (b, "B")], [], [])


# --- Invitations and the reminder ---

def test_invitations_go_once_to_confirmed_people_with_an_address_on_no_list(app_ctx):
    event = new_event()
    anne = register(event, "Anne")
    bob = register(event, "Bob", language="en")
    register(event, "Chloe", confirm=False)  # never confirmed
    dan = register(event, "Dan")
    suppressions.unsubscribe(suppressions.address_hash(dan.email))
    survey = active_survey(event)

    with at(INVITE - timedelta(minutes=1)):
        assert survey_invitations.queue_due_invitations() == 0
    with at(INVITE):
        assert survey_invitations.queue_due_invitations() == 2
        assert survey_invitations.queue_due_invitations() == 0  # beat again: nothing more
    rows = invitations()
    assert [(r.recipient, r.language, r.dedup_key) for r in rows] == [
        ("anne@example.org", "fr", f"survey:{survey.id}:invite:{anne.id}"),
        ("bob@example.org", "en", f"survey:{survey.id}:invite:{bob.id}"),
    ]
    assert db.session.scalar(select(func.count()).select_from(SurveyParticipant)) == 2


def test_when_check_in_was_used_only_the_people_checked_in_are_invited(app_ctx):
    event = new_event()
    anne, bob = register(event, "Anne"), register(event, "Bob")
    db.session.add(CheckIn(registration_id=bob.id, event_id=event.id))
    db.session.commit()
    survey = active_survey(event)
    with at(INVITE):
        survey_invitations.queue_due_invitations()
    assert [r.recipient for r in invitations()] == ["bob@example.org"]
    assert anne.id not in {p.registration_id for p in db.session.scalars(select(SurveyParticipant))}
    assert survey.invited_at is not None


def test_a_draft_survey_or_a_cancelled_event_invites_nobody(app_ctx):
    event = new_event()
    register(event, "Anne")
    with at(paris(2030, 6, 3, 12, 0)):
        surveys.create_from_template(event, "fr")  # stays a draft
    with at(INVITE):
        assert survey_invitations.queue_due_invitations() == 0
    assert invitations() == []


def test_two_beat_processes_at_once_invite_each_person_once(target):  # noqa: F811
    env, target_app = target
    with target_app.test_request_context():
        event = new_event()
        for name in ("Anne", "Bob", "Chloe"):
            register(event, name)
        active_survey(event)
    with at(INVITE):
        results = run_together(target_app, [survey_invitations.queue_due_invitations] * 4)
    assert sorted(results) == [0, 0, 0, 3]
    with target_app.app_context():
        assert len(invitations()) == 3


def test_at_delivery_an_invitation_to_an_address_unsubscribed_meanwhile_is_withdrawn(app_ctx, smtp_server):
    event = new_event()
    register(event, "Anne")
    register(event, "Bob")
    active_survey(event)
    with at(INVITE):
        survey_invitations.queue_due_invitations()
    suppressions.unsubscribe(suppressions.address_hash("anne@example.org"))
    rows = invitations()
    with at(INVITE + timedelta(minutes=1)):
        delivery.deliver_batch([row.id for row in rows])
    db.session.expire_all()
    assert {row.recipient: row.status for row in invitations()} == {
        "anne@example.org": OutboxStatus.cancelled, "bob@example.org": OutboxStatus.sent}
    [mail] = smtp_server.wait_for("bob@example.org", kind="survey_invitation")
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    assert smtp_server.to("anne@example.org") == []


def test_the_reminder_goes_once_to_those_who_neither_answered_nor_started(app_ctx, client):
    event = new_event()
    people = {name: register(event, name) for name in ("Anne", "Bob", "Chloe", "Dan")}
    survey = active_survey(event)
    with at(INVITE):
        survey_invitations.queue_due_invitations()
    with at(INVITE + timedelta(days=1)):
        anne = participant_of(survey, people["Anne"])
        survey_answers.submit(anne, {question(survey, Kind.rating).id: ["5"]})
        bob = link_of(participant_of(survey, people["Bob"]))
        started = client.post(bob, data={"csrf_token": support.csrf_token(client, bob)})  # sent, with mistakes
        assert started.status_code == 422
        # Only opened: not enough to count as started (mail scanners open links too).
        assert client.get(link_of(participant_of(survey, people["Dan"]))).status_code == 200
    with at(REMIND - timedelta(minutes=1)):
        assert survey_invitations.queue_due_reminders() == 0
    with at(REMIND):
        assert survey_invitations.queue_due_reminders() == 2
        assert survey_invitations.queue_due_reminders() == 0
    rows = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "survey_reminder")
                              .order_by(OutboxMail.recipient)).all()
    assert [(r.recipient, r.dedup_key) for r in rows] == [
        (f"{name.lower()}@example.org", f"survey:{survey.id}:remind:{people[name].id}") for name in ("Chloe", "Dan")]


# --- Answering through the personal link ---

def invited(event, survey, names=("Anne",), **fields):
    """Register `names`, send the invitations; returns their participants."""
    people = [register(event, name, **fields) for name in names]
    with at(surveys.invitation_moment(survey)):
        survey_invitations.queue_due_invitations()
    return [participant_of(survey, registration) for registration in people]


def fields(survey, **answers):
    """Form data: {kind name: value} for the first question of each kind asked of everyone."""
    return {f"question_{question(survey, Kind[kind]).id}": value for kind, value in answers.items()}


def test_a_person_answers_then_changes_an_answer_over_http(app_ctx, client):
    event = new_event()
    survey = active_survey(event)
    [anne] = invited(event, survey, workshops=[event.workshops[0]])
    path = link_of(anne)
    actors = question(survey, Kind.multiple_choice)
    with at(INVITE + timedelta(hours=2)):
        page = client.get(path)
        text = support.page_text(page)
        assert "Dans l'ensemble, quelle note donnez-vous à cette journée ?" in support.plain(text)
        assert "Agroécologie" in text and "Accès à l" not in text  # only the workshop she attended
        token = support.csrf_token_in(page.get_data(as_text=True))
        data = fields(survey, rating="4", scale="9", long_text="Les rencontres.") | {
            f"question_{actors.id}": [str(actors.choices[1].id), str(actors.choices[2].id)], "csrf_token": token}
        answered = client.post(path, data=data, follow_redirects=True)
        assert answered.status_code == 200
        assert "Vos réponses sont enregistrées" in support.page_text(answered)
        assert 'value="4" checked' in answered.get_data(as_text=True)
        changed = client.post(path, data=data | fields(survey, rating="2"), follow_redirects=True)
        assert changed.status_code == 200
    response = db.session.scalars(select(SurveyResponse)).one()
    numbers = {a.question_id: a.number for a in response.answers}
    assert numbers[question(survey, Kind.rating).id] == 2 and numbers[question(survey, Kind.scale).id] == 9
    assert {c.key for a in response.answers for c in a.choices} == {"ess", "collectivite"}
    assert response.answered_on.isoformat() == "2030-06-13" and response.actor_type == "asi"
    db.session.refresh(anne)
    assert anne.answered and anne.started


@pytest.mark.parametrize("case, data, message", [
    ("rating out of range", dict(rating="7"), "Choisissez un nombre de 1 à 5."),
    ("required missing", dict(rating=""), "Choisissez une réponse."),
    ("unknown choice", dict(rating="3", multiple_choice="999999"), "Choisissez parmi les réponses proposées."),
    ("1 MB of text", dict(rating="3", long_text="a" * 1_000_000),
     "Votre réponse fait 1000000 caractères : 5000 au plus."),
    ("not a number", dict(rating="3,5"), "Choisissez un nombre de 1 à 5."),
])
def test_bad_answers_are_explained_and_nothing_is_stored(app_ctx, client, case, data, message):
    event = new_event()
    survey = active_survey(event)
    [anne] = invited(event, survey)
    path = link_of(anne)
    with at(INVITE + timedelta(hours=2)):
        token = support.csrf_token(client, path)
        page = client.post(path, data=fields(survey, **data) | {"csrf_token": token})
    assert page.status_code == 422
    text = support.plain(support.page_text(page))
    assert "Le formulaire n'a pas pu être envoyé" in text and message in text
    assert 'aria-invalid="true"' in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 0
    db.session.refresh(anne)
    assert not anne.answered


def test_a_tampered_or_revoked_link_gets_a_friendly_page(app_ctx, client):
    event = new_event()
    survey = active_survey(event)
    [anne] = invited(event, survey)
    token = survey_answers.survey_token(anne)
    with at(INVITE + timedelta(hours=2)):
        for path in (f"/surveys/{support.forge(token)}", "/surveys/nimportequoi", f"/confirm/{token}"):
            page = client.get(path)
            assert page.status_code == 404
            assert "Lien non valable" in support.page_text(page)
        posted = client.post(f"/surveys/{support.forge(token)}", data=fields(survey, rating="5"))
        assert posted.status_code in (400, 404)  # CSRF first, or the link: never stored
        anne.token_version += 1
        db.session.commit()
        assert client.get(f"/surveys/{token}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_a_closed_survey_or_one_not_open_yet_says_so_politely(app_ctx, client):
    event = new_event()
    survey = active_survey(event)
    [anne] = invited(event, survey)
    path = link_of(anne)
    with at(survey.closes_at):
        page = client.get(path)
        assert page.status_code == 410 and "Questionnaire clos" in support.page_text(page)
        assert client.post(path, data=fields(survey, rating="5")).status_code in (400, 410)
    survey.opens_at = INVITE + timedelta(days=1)
    db.session.commit()
    with at(INVITE + timedelta(hours=1)):
        page = client.get(path)
        assert page.status_code == 409 and "pas encore ouvert" in support.page_text(page)
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_sending_the_form_is_rate_limited(app_ctx, limited_app):
    event = new_event()
    survey = active_survey(event)
    [anne] = invited(event, survey)
    path, data = link_of(anne), fields(survey, rating="4")
    db.session.commit()  # this test's transaction ends: the other app writes to the same database
    client = limited_app().test_client()  # two public POSTs a minute
    with at(INVITE + timedelta(hours=2)):
        token = support.csrf_token(client, path)
        statuses = [client.post(path, data=data | {"csrf_token": token}).status_code for _ in range(3)]
        assert client.get(path).status_code == 200  # reading is not limited
    assert statuses == [302, 302, 429]


# --- One response per person, anonymity ---

def test_twenty_simultaneous_submissions_of_one_person_leave_one_response(target):  # noqa: F811
    env, target_app = target
    with target_app.test_request_context():
        event = new_event()
        survey = active_survey(event)
        [anne] = invited(event, survey)
        rating, scale = question(survey, Kind.rating).id, question(survey, Kind.scale).id
        participant_id = anne.id

    def submit(n):
        def call():
            survey_answers.submit(db.session.get(SurveyParticipant, participant_id),
                                  {rating: [str(1 + n % 5)], scale: [str(n % 11)]})
            return "ok"
        return call

    with at(INVITE + timedelta(hours=2)):
        results = run_together(target_app, [submit(n) for n in range(20)])
    assert results == ["ok"] * 20
    with target_app.app_context():
        response = db.session.scalars(select(SurveyResponse)).one()
        assert len(response.answers) == 2  # the answers of one submission, whole
        assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 2


def test_twenty_tabs_sending_the_form_at_once_over_http_leave_one_response(app, live_server):
    """The same person's form sent from 20 tabs at once to the server (gunicorn, two processes)."""
    with app.test_request_context():
        event = new_event()
        survey = active_survey(event)
        [anne] = invited(event, survey)  # open until July 2030: the server lives in real time
        db.session.commit()
        path, data = link_of(anne), fields(survey, rating="4")
    with requests.Session() as http:
        token = support.csrf_token_in(http.get(live_server + path, timeout=30).text)
        cookies = http.cookies.get_dict()
    barrier = threading.Barrier(20)

    def send(n):
        barrier.wait()
        return requests.post(live_server + path, data=data | {"csrf_token": token}, cookies=cookies,
                             allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert statuses == [302] * 20
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 1


def test_without_the_unique_respondent_key_twenty_submissions_would_make_several_responses(app_ctx):
    """The guard is the database's: the same rows inserted without ON CONFLICT fail on the constraint."""
    event = new_event()
    survey = active_survey(event)
    [anne] = invited(event, survey)
    key = survey_answers.respondent_key(anne)
    db.session.add(SurveyResponse(survey_id=survey.id, respondent_key=key, actor_type="asi",
                                  answered_on=INVITE.date()))
    db.session.commit()
    db.session.add(SurveyResponse(survey_id=survey.id, respondent_key=key, actor_type="asi",
                                  answered_on=INVITE.date()))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_anonymous_responses_cannot_be_joined_to_registrations(app_ctx):
    event = new_event()
    survey = active_survey(event)
    participants = invited(event, survey, names=("Anne", "Bob", "Chloe", "Dan", "Emma"))
    with at(INVITE + timedelta(hours=3)):
        for participant in reversed(participants):
            survey_answers.submit(participant, {question(survey, Kind.rating).id: ["4"]})
    registrations = db.session.scalars(select(Registration)).all()
    known = {str(value) for r in registrations for value in (r.id, r.uid, r.email, r.checkin_code)}
    known |= {str(p.id) for p in participants} | {suppressions.address_hash(r.email) for r in registrations}
    rows = db.session.execute(select(SurveyResponse.__table__)).mappings().all()
    assert len(rows) == 5
    for row in rows:
        assert row["registration_id"] is None
        assert not known & {str(value) for name, value in row.items() if name != "survey_id"}
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", row["id"])
        assert type(row["answered_on"]).__name__ == "date"  # the day only, no time
    answer_columns = set(SurveyAnswer.__table__.columns.keys())
    assert answer_columns == {"id", "response_id", "question_id", "number", "yes", "text"}
    # The participants keep only the fact of having answered, no time of it.
    assert all(p.answered for p in db.session.scalars(select(SurveyParticipant)))
    assert set(SurveyParticipant.__table__.columns.keys()) == {
        "id", "survey_id", "registration_id", "invited_at", "reminded_at", "started", "answered", "token_version"}


def test_a_named_survey_keeps_the_registration(app_ctx):
    event = new_event()
    survey = active_survey(event, anonymous=False)
    [anne] = invited(event, survey)
    with at(INVITE + timedelta(hours=3)):
        survey_answers.submit(anne, {question(survey, Kind.rating).id: ["4"]})
    response = db.session.scalars(select(SurveyResponse)).one()
    assert response.registration_id == anne.registration_id and response.respondent_key == str(anne.registration_id)


# --- The back office ---

def test_organisers_create_the_survey_from_the_template_and_edit_it(app_ctx):
    event = new_event()
    client = support.logged_in_as(app_ctx.test_client(), support.make_user("anne@bretagne-solidaire.bzh",
                                                                           events=[event.id]))
    base = f"/organiser/events/{event.id}/survey"
    page = client.get(base)
    assert "Créer le questionnaire à partir du modèle" in support.plain(support.page_text(page))
    assert support.submit(client, base, language="en").status_code == 302
    survey = surveys.survey_of(event)
    assert survey.questions[0].label == "Overall, how would you rate this day?"

    settings = dict(title="Your feedback", intro="", status="active", anonymous="y", invite_days_after="2",
                    invite_time="18:30", opens_at="", closes_at="2030-07-01T12:00", reminder_days="3")
    assert support.submit(client, base, **settings).status_code == 302
    db.session.refresh(survey)
    assert (survey.status, survey.invite_days_after, survey.reminder_days) == (SurveyStatus.active, 2, 3)
    assert surveys.invitation_moment(survey) == paris(2030, 6, 14, 18, 30).astimezone(UTC)
    assert survey.closes_at == paris(2030, 7, 1, 12, 0).astimezone(UTC)
    wrong = support.submit(client, base, **(settings | {"opens_at": "2030-07-02T12:00", "reminder_days": "-1"}))
    assert wrong.status_code == 422
    assert "La clôture doit venir après l'ouverture." in support.plain(support.page_text(wrong))
    too_early = support.submit(client, base, **(settings | {"closes_at": "2030-06-14T18:00"}))
    assert "La clôture doit venir après l'envoi des invitations" in support.plain(support.page_text(too_early))

    new = f"{base}/questions/new"
    agro = event.workshops[0]
    added = support.submit(client, new, label="Which topic next time?", kind="single_choice", workshop_id=str(agro.id),
                           choices="Water\nSeeds")
    assert added.status_code == 302
    question_ = survey.questions[-1]
    assert (question_.kind, question_.workshop_id, [c.label for c in question_.choices]) == (
        Kind.single_choice, agro.id, ["Water", "Seeds"])
    empty = support.submit(client, new, label="Pick one", kind="single_choice", choices="")
    assert empty.status_code == 422 and "au moins un choix" in support.plain(support.page_text(empty))

    # Once answered: a new kind and a chosen choice removed are refused, with a clear message.
    [anne] = invited(event, survey, workshops=[agro])
    with at(surveys.invitation_moment(survey)):
        survey_answers.submit(anne, {question(survey, Kind.rating).id: ["5"],
                                     question_.id: [str(question_.choices[0].id)]})
    edit = f"{base}/questions/{question_.id}/edit"
    refused = support.submit(client, edit, label="Which topic?", kind="single_choice", workshop_id=str(agro.id),
                             choices="Seeds")
    assert refused.status_code == 422
    assert "« Water » a déjà été choisi" in support.plain(support.page_text(refused))
    reworded = support.submit(client, edit, label="Which topic?", kind="single_choice", workshop_id=str(agro.id),
                              choices="Drinking water\nSeeds\nLand")
    assert reworded.status_code == 302
    db.session.expire_all()
    assert [c.label for c in question_.choices] == ["Drinking water", "Seeds", "Land"]
    deleted = client.post(f"{base}/questions/{question_.id}/delete",
                          data={"csrf_token": support.csrf_token(client, base)}, follow_redirects=True)
    assert "elle ne peut plus être supprimée" in support.plain(support.page_text(deleted))
    assert db.session.get(SurveyQuestion, question_.id) is not None


def test_organisers_move_survey_questions_up_and_down(app_ctx):
    event = new_event()
    survey = active_survey(event)
    client = support.logged_in_as(app_ctx.test_client(), support.make_user("anne@bretagne-solidaire.bzh",
                                                                           events=[event.id]))
    base = f"/organiser/events/{event.id}/survey"
    first, second, *rest = [q.id for q in survey.questions]
    last = rest[-1]

    def move(question_id, direction):
        return client.post(f"{base}/questions/{question_id}/move/{direction}",
                           data={"csrf_token": support.csrf_token(client, base)})

    def order():
        db.session.expire_all()
        return [(q.id, q.position) for q in surveys.survey_of(event).questions]

    assert move(second, "up").status_code == 302
    assert order() == [(q, position) for position, q in enumerate([second, first, *rest], 1)]
    assert move(last, "down").status_code == 302  # the last stays last
    assert move(second, "up").status_code == 302  # and the first first
    assert order() == [(q, position) for position, q in enumerate([second, first, *rest], 1)]
    journalled = db.session.scalars(select(JournalEntry.action).where(JournalEntry.event_id == event.id)).all()
    assert journalled.count(JournalAction.survey_question_moved) == 1  # the moves that moved nothing are not


# --- End to end: the real worker, the SMTP server, answers over HTTP ---

def answer_over_http(base_url, path, **answers):
    """Open the survey page on the server, then send its form with `answers` (question field -> value)."""
    with requests.Session() as http:
        page = http.get(base_url + path, timeout=30)
        assert page.status_code == 200, page.status_code
        sent = http.post(base_url + path, data=dict(answers, csrf_token=support.csrf_token_in(page.text)),
                         timeout=30)
        assert sent.status_code == 200 and "flash-success" in sent.text  # saved, in the person's language


def test_end_to_end_invitations_answers_and_the_reminder(app, base_env, live_server, smtp_server):
    """The worker lives in real time (without its own beat, so that the test decides when the beat
    task runs): everything before the answers happens in the past (time travel back), the answers
    over HTTP now, and the reminder's moment is yesterday."""
    worker = support.start_worker(base_env, beat=False)
    try:
        now = utcnow().replace(microsecond=0)
        with app.test_request_context():
            with time_machine.travel(now - timedelta(days=8), tick=True):
                start = now - timedelta(days=7)
                event = events.create_event(slug="journee-e2e", title="Journée régionale", starts_at=start,
                                            ends_at=start + timedelta(hours=8), contact_email="contact@example.org",
                                            status=EventStatus.published)
                people = {name: person(event, name, **fields).id for name, fields in (
                    ("Anne", {}), ("Bleuenn", {"language": "en"}), ("Corentin", {}), ("Emma", {}))}
                person(event, "Yann", confirm=False)
                suppressions.unsubscribe(suppressions.address_hash("emma@example.org"))
                survey = surveys.create_from_template(event, "fr")
                survey.status = SurveyStatus.active
                db.session.commit()
            invitation = surveys.invitation_moment(survey)
            assert invitation < now - timedelta(days=4)  # the morning after the event, at 09:00
            with time_machine.travel(invitation + timedelta(minutes=1), tick=True):
                runs = [survey_invitations.queue_due_invitations(), survey_invitations.queue_due_invitations()]
            assert sorted(runs) == [0, 3]
            rating, scale = question(survey, Kind.rating).id, question(survey, Kind.scale).id
            survey_id, invited_at = survey.id, survey.invited_at

        invited = ["anne@example.org", "bleuenn@example.org", "corentin@example.org"]
        links, subjects = {}, {}
        for address in invited:
            [mail] = smtp_server.wait_for(address, kind="survey_invitation")
            assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            links[address], subjects[address] = support.link_in(mail, "surveys"), mail["Subject"]
        assert subjects["bleuenn@example.org"].startswith("Your feedback")  # in her language
        assert subjects["anne@example.org"].startswith("Votre avis")

        answer_over_http(live_server, links["anne@example.org"],
                         **{f"question_{rating}": "5", f"question_{scale}": "9"})
        answer_over_http(live_server, links["bleuenn@example.org"], **{f"question_{rating}": "3"})
        answer_over_http(live_server, links["bleuenn@example.org"], **{f"question_{rating}": "4"})  # changed

        with app.test_request_context():
            with time_machine.travel(invited_at + timedelta(days=4), tick=True):
                runs = [survey_invitations.queue_due_reminders(), survey_invitations.queue_due_reminders()]
            assert sorted(runs) == [0, 1]
        [reminder] = smtp_server.wait_for("corentin@example.org", kind="survey_reminder")
        with app.app_context():
            def owner(path):
                return survey_answers.participant_from_token(path.rsplit("/", 1)[1]).registration_id
            assert owner(support.link_in(reminder, "surveys")) == owner(links["corentin@example.org"])
        support.wait_until_all_mail_sent(app)

        kinds = [(str(m["To"].addresses[0].addr_spec), m["X-Emgav-Kind"]) for m in smtp_server.messages
                 if m["X-Emgav-Kind"].startswith("survey_")]
        assert sorted(kinds) == sorted([(address, "survey_invitation") for address in invited]
                                       + [("corentin@example.org", "survey_reminder")])
        with app.app_context():
            responses = db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey_id)).all()
            ratings = sorted(a.number for r in responses for a in r.answers if a.question_id == rating)
            assert ratings == [4, 5]
            assert {p.registration_id: p.answered for p in db.session.scalars(select(SurveyParticipant))} == {
                people["Anne"]: True, people["Bleuenn"]: True, people["Corentin"]: False}
    finally:
        worker.stop()
