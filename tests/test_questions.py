"""An event's own registration questions: the rules (answers read and checked per kind, choices
hidden rather than deleted once chosen, a kind that no longer changes), the public form and the
manage page with questions, the back-office pages of the questions, a person's answers, the list
filtered by an answer and the exports with one column per question."""
import csv
import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    Answer,
    Event,
    JournalAction,
    JournalEntry,
    OutboxMail,
    Question,
    QuestionChoice,
    QuestionKind,
    Registration,
)
from webapp.services import events, questions
from webapp.services.questions import AnswerError, ChoiceChanges, QuestionError

from . import support
from .support import logged_in_as, make_user, page_text, person_id, post_registration, submit


@pytest.fixture
def quiz(app, make_event):
    """A published event with one question of each kind; returns the ids: event, questions by
    key, choices by label."""
    event_id = make_event(slug="journee")
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        made = {
            "diet": questions.add_question(event, None, kind="single_choice", label="Régime alimentaire",
                                           help_text="Pour le déjeuner sur place.", required=True,
                                           choices=["Végétarien", "Sans gluten", "Aucun"]),
            "evening": questions.add_question(event, None, kind="multiple_choice", label="Le soir",
                                              choices=["Visite", "Concert", "Repas"]),
            "certificate": questions.add_question(event, None, kind="yes_no", label="Besoin d'une attestation ?"),
            "role": questions.add_question(event, None, kind="short_text", label="Votre fonction"),
            "notes": questions.add_question(event, None, kind="long_text", label="Remarques"),
        }
        ids = {"event": event_id, **{key: question.id for key, question in made.items()}}
        ids.update({choice.label: choice.id for question in made.values() for choice in question.choices})
    return ids


def answers(ids, **given):
    """The form's answers by question key: {question id: list of strings}."""
    return {ids[key]: value if isinstance(value, list) else [value] for key, value in given.items()}


def stored_answers(app, registration_id):
    """{question label: answer as one line} of a registration."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        return {answer.question.label: questions.answer_text(answer) for answer in registration.answers}


def form_fields(ids, **given):
    """The answers as the public form sends them (question_<id> fields)."""
    return {f"question_{question_id}": value for question_id, value in answers(ids, **given).items()}


# --- The rules ----------------------------------------------------------------------------------

def test_answers_are_read_and_checked_per_kind(app, quiz):
    with app.test_request_context():
        event = db.session.get(Event, quiz["event"])
        diet, evening, certificate, role, notes = event.questions

        def read(question, *raw, required=True):
            return questions.read_answer(question, list(raw), offered=question.offered_choices(), required=required)

        assert read(diet, str(quiz["Aucun"])).choices[0].label == "Aucun"
        assert [c.label for c in read(evening, str(quiz["Repas"]), str(quiz["Visite"])).choices] == ["Visite", "Repas"]
        assert read(certificate, "yes").yes is True and read(certificate, "no").yes is False
        assert read(role, "  Chargée de mission ").text == "Chargée de mission"
        assert read(notes, "Ligne 1\r\nLigne 2").text == "Ligne 1\nLigne 2"
        assert read(evening) is None and read(diet, required=False) is None  # optional, or not required here

        for question, raw, message in [
            (diet, [], "Choisissez une réponse."),
            (diet, [str(quiz["Aucun"]), str(quiz["Végétarien"])], "Choisissez parmi les réponses proposées."),
            (diet, [str(quiz["Visite"])], "Choisissez parmi les réponses proposées."),  # another question's
            (diet, ["abc"], "Choisissez parmi les réponses proposées."),
            (evening, [str(quiz["Visite"])] * 2, "Choisissez parmi les réponses proposées."),
            (certificate, ["peut-être"], "Choisissez parmi les réponses proposées."),
            (role, ["x" * 201], "200 caractères au plus."),
            (role, ["Chargée\nde mission"], "retour à la ligne"),
            (notes, ["x" * 2001], "2000 caractères au plus."),
        ]:
            with pytest.raises(AnswerError, match=message):
                read(question, *raw)


def test_a_hidden_choice_is_refused_to_new_answers_and_kept_by_those_who_chose_it(app, quiz):
    anne = person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Sans gluten"])))
    with app.test_request_context():
        question = db.session.get(Question, quiz["diet"])
        hidden = questions.update_question(question, None, kind="single_choice", label="Régime alimentaire",
                                           required=True, choices=ChoiceChanges(removed={quiz["Sans gluten"]}))
        assert hidden == ["Sans gluten"]
        assert db.session.get(QuestionChoice, quiz["Sans gluten"]).hidden
        with pytest.raises(AnswerError):
            questions.read_answer(question, [str(quiz["Sans gluten"])], offered=question.offered_choices())
        assert [c.label for c in question.offered_choices({quiz["Sans gluten"]})] == [
            "Végétarien", "Sans gluten", "Aucun"]
    assert stored_answers(app, anne)["Régime alimentaire"] == "Sans gluten"
    with app.test_request_context():
        with pytest.raises(questions.AnswersError):  # a new registration cannot choose it
            support.person(db.session.get(Event, quiz["event"]), "Bleuenn",
                           answers=answers(quiz, diet=str(quiz["Sans gluten"])))


def test_a_choice_nobody_chose_is_deleted_and_one_can_be_offered_again(app, quiz):
    with app.test_request_context():
        question = db.session.get(Question, quiz["diet"])
        questions.update_question(question, None, kind="single_choice", label="Régime", required=True,
                                  choices=ChoiceChanges(removed={quiz["Aucun"]}, added=["Halal"],
                                                        labels={quiz["Végétarien"]: "Végétarien ou végan"}))
        assert db.session.get(QuestionChoice, quiz["Aucun"]) is None
        assert [c.label for c in question.choices] == ["Végétarien ou végan", "Sans gluten", "Halal"]
        entries = db.session.scalars(select(JournalEntry.action).where(JournalEntry.event_id == quiz["event"])).all()
        assert entries.count(JournalAction.question_updated) == 1


def test_the_rules_refuse_what_would_break_the_answers(app, quiz):
    person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"]), role="Trésorière"))
    with app.test_request_context():
        event = db.session.get(Event, quiz["event"])
        role = db.session.get(Question, quiz["role"])
        with pytest.raises(QuestionError, match="son type ne peut plus changer"):
            questions.update_question(role, None, kind="long_text", label="Votre fonction")
        diet = db.session.get(Question, quiz["diet"])
        with pytest.raises(QuestionError, match="au moins un choix proposé"):
            questions.update_question(diet, None, kind="single_choice", label="Régime", choices=ChoiceChanges(
                removed={quiz["Végétarien"], quiz["Sans gluten"], quiz["Aucun"]}))
        with pytest.raises(QuestionError, match="au moins un choix"):
            questions.add_question(event, None, kind="multiple_choice", label="Vide", choices=[" "])
        with pytest.raises(QuestionError, match="même libellé"):
            questions.add_question(event, None, kind="single_choice", label="Double", choices=["Oui", "oui"])
        assert [c.hidden for c in db.session.get(Question, quiz["diet"]).choices] == [False, False, False]
        assert db.session.get(Question, quiz["role"]).kind == QuestionKind.short_text


def test_deleting_a_question_deletes_its_answers_and_says_how_many(app, quiz):
    person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"]), evening=[
        str(quiz["Visite"]), str(quiz["Repas"])]))
    person_id(app, quiz["event"], "Bleuenn", answers=answers(quiz, diet=str(quiz["Aucun"])))
    with app.test_request_context():
        assert questions.delete_question(db.session.get(Question, quiz["diet"]), None) == 2
        assert questions.delete_question(db.session.get(Question, quiz["evening"]), None) == 1
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
        entry = db.session.scalars(select(JournalEntry).where(
            JournalEntry.action == JournalAction.question_deleted).order_by(JournalEntry.id)).first()
        assert entry.details == {"label": "Régime alimentaire", "count": 2}


def test_questions_move_up_and_down_and_the_copy_of_an_event_keeps_them(app, quiz):
    with app.test_request_context():
        event = db.session.get(Event, quiz["event"])
        assert questions.move_question(db.session.get(Question, quiz["notes"]), None, -1)
        assert not questions.move_question(db.session.get(Question, quiz["diet"]), None, -1)
        db.session.expire_all()
        event = db.session.get(Event, quiz["event"])
        assert [q.label for q in event.questions] == [
            "Régime alimentaire", "Le soir", "Besoin d'une attestation ?", "Remarques", "Votre fonction"]
        questions.update_question(event.questions[0], None, kind="single_choice", label="Régime alimentaire",
                                  required=True, choices=ChoiceChanges(removed={quiz["Aucun"]}))
        person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Sans gluten"])))
        questions.update_question(db.session.get(Question, quiz["diet"]), None, kind="single_choice",
                                  label="Régime alimentaire", required=True,
                                  choices=ChoiceChanges(removed={quiz["Sans gluten"]}))
        event = db.session.get(Event, quiz["event"])
        copy = events.copy_event(event, slug="journee-2031", title="Journée 2031",
                                 starts_at=event.starts_at.replace(year=event.starts_at.year + 1),
                                 ends_at=event.ends_at.replace(year=event.ends_at.year + 1))
        assert [(q.label, q.kind, q.required) for q in copy.questions] == [
            (q.label, q.kind, q.required) for q in event.questions]
        assert [c.label for c in copy.questions[0].choices] == ["Végétarien"]  # the choices still offered
        assert db.session.scalar(select(func.count()).select_from(Answer).join(Question).where(
            Question.event_id == copy.id)) == 0


# --- The public form and the manage page --------------------------------------------------------

def test_the_form_asks_the_questions_accessibly(app, client, quiz):
    content = page_text(client.get("/events/journee/register"))

    diet = re.search(rf'<fieldset id="question_{quiz["diet"]}".*?</fieldset>', content, re.S).group(0)
    assert '<legend>Régime alimentaire</legend>' in diet
    assert f'aria-describedby="question_{quiz["diet"]}-hint"' in diet
    assert f'<p class="hint field-hint" id="question_{quiz["diet"]}-hint">Pour le déjeuner sur place.</p>' in diet
    assert diet.count('type="radio"') == 3
    evening = re.search(rf'<fieldset id="question_{quiz["evening"]}".*?</fieldset>', content, re.S).group(0)
    assert "<legend>Le soir (facultatif)</legend>" in evening and evening.count('type="checkbox"') == 3
    assert f'<label for="question_{quiz["role"]}">Votre fonction (facultatif)</label>' in content
    assert f'<textarea id="question_{quiz["notes"]}"' in content
    # After the usual fields, before the consent.
    assert content.index("Régime alimentaire") < content.index('id="privacy_consent"')


def test_answers_are_stored_with_the_registration(app, client, quiz):
    response = post_registration(client, "journee", **form_fields(
        quiz, diet=str(quiz["Végétarien"]), evening=[str(quiz["Concert"]), str(quiz["Visite"])], certificate="yes",
        role="Coordinatrice", notes="Arrivée\nvers 10 h"))

    assert response.status_code == 303
    with app.app_context():
        registration_id = db.session.scalars(select(Registration.id)).one()
    assert stored_answers(app, registration_id) == {
        "Régime alimentaire": "Végétarien", "Le soir": "Visite ; Concert", "Besoin d'une attestation ?": "oui",
        "Votre fonction": "Coordinatrice", "Remarques": "Arrivée\nvers 10 h"}


@pytest.mark.parametrize("given, field, message", [
    (dict(), "diet", "Choisissez une réponse."),  # the required question left out
    (dict(diet="999999"), "diet", "Choisissez parmi les réponses proposées."),
    (dict(diet="abc"), "diet", "Choisissez parmi les réponses proposées."),
    (dict(diet="Concert"), "diet", "Choisissez parmi les réponses proposées."),  # a choice of another question
    (dict(diet="Aucun", certificate="peut-être"), "certificate", "Choisissez parmi les réponses proposées."),
    (dict(diet="Aucun", role="x" * 201), "role", "200 caractères au plus."),
])
def test_a_wrong_answer_gets_the_error_summary_and_writes_nothing(app, client, quiz, given, field, message):
    values = {key: str(quiz[value]) if value in quiz else value for key, value in given.items()}

    response = post_registration(client, "journee", **form_fields(quiz, **values))

    assert response.status_code == 422
    content = page_text(response)
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', content, re.S).group(0)
    assert message in html.unescape(summary)
    first_input = f"question_{quiz[field]}" + ("" if field == "role" else "-0")
    assert f'href="#{first_input}"' in summary
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0


def test_html_in_a_question_or_an_answer_is_shown_as_text(app, client, make_event):
    event_id = make_event(slug="html")
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        question = questions.add_question(event, None, kind="single_choice", label="<b>Gras</b> ?",
                                          help_text="<script>alert(1)</script>", choices=["<i>oui</i>"])
        choice_id = question.choices[0].id

    content = client.get("/events/html/register").get_data(as_text=True)
    assert "<b>Gras</b>" not in content and "&lt;b&gt;Gras&lt;/b&gt;" in content
    assert "<script>alert(1)</script>" not in content and "<i>oui</i>" not in content
    response = post_registration(client, "html", **{f"question_{question.id}": "999"})
    assert response.status_code == 422 and "<b>Gras</b>" not in response.get_data(as_text=True)

    post_registration(client, "html", **{f"question_{question.id}": str(choice_id)})
    with app.app_context():
        registration_id = db.session.scalars(select(Registration.id)).one()
        organiser = make_user("anne.organisation@example.org", events=[event_id])
    back_office = app.test_client()
    with app.app_context():
        logged_in_as(back_office, organiser)
    page = back_office.get(f"/organiser/events/{event_id}/registrations/{registration_id}").get_data(as_text=True)
    assert "&lt;i&gt;oui&lt;/i&gt;" in page and "<i>oui</i>" not in page


def test_the_manage_page_changes_the_answers(app, client, quiz):
    anne = person_id(app, quiz["event"], "Anne", answers=answers(
        quiz, diet=str(quiz["Sans gluten"]), evening=[str(quiz["Visite"])], role="Bénévole"))
    with app.test_request_context():
        questions.update_question(db.session.get(Question, quiz["diet"]), None, kind="single_choice",
                                  label="Régime alimentaire", required=True,
                                  choices=ChoiceChanges(removed={quiz["Sans gluten"]}))
    path = support.personal_link(app, "manage", anne)
    content = page_text(client.get(path))
    # Her answers, the hidden choice she had still offered to her.
    assert re.search(rf'value="{quiz["Sans gluten"]}" checked', content)
    assert re.search(rf'value="{quiz["Visite"]}" checked', content)
    assert 'value="Bénévole"' in content

    details = dict(first_name="Anne", last_name="Le Goff", organisation="", actor_type="asi", language="fr")
    refused = submit(client, path, **details, **form_fields(quiz, role="Bénévole"))  # the required one left out
    assert refused.status_code == 422 and "Choisissez une réponse." in page_text(refused)
    assert stored_answers(app, anne)["Régime alimentaire"] == "Sans gluten"

    response = submit(client, path, **details, **form_fields(
        quiz, diet=str(quiz["Sans gluten"]), evening=[str(quiz["Repas"])], certificate="no", notes="Merci"))
    assert response.status_code == 302
    assert stored_answers(app, anne) == {"Régime alimentaire": "Sans gluten", "Le soir": "Repas",
                                         "Besoin d'une attestation ?": "non", "Remarques": "Merci"}
    response = submit(client, path, **details, **form_fields(quiz, diet=str(quiz["Aucun"])))
    assert response.status_code == 302
    assert stored_answers(app, anne) == {"Régime alimentaire": "Aucun"}
    # Once she left it, the hidden choice is no longer hers to take back.
    assert f'value="{quiz["Sans gluten"]}"' not in page_text(client.get(path))


# --- The back office ----------------------------------------------------------------------------

@pytest.fixture
def organiser(app, quiz):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, make_user("anne.organisation@example.org", events=[quiz["event"]]))
    return client


def questions_url(quiz, *rest):
    return "/".join([f"/organiser/events/{quiz['event']}/questions", *map(str, rest)])


def test_organisers_add_a_question_with_its_choices(app, organiser, quiz):
    assert "Régime alimentaire" in page_text(organiser.get(questions_url(quiz)))

    response = submit(organiser, questions_url(quiz, "new"), label="Covoiturage", kind="single_choice",
                      help_text="Nous mettrons les personnes en relation.",
                      new_choices="Je propose des places\r\nJe cherche une place\r\n\r\n", required="y")

    assert response.status_code == 302
    with app.app_context():
        question = db.session.scalars(select(Question).where(Question.label == "Covoiturage")).one()
        assert (question.kind, question.required, question.position) == (QuestionKind.single_choice, True, 6)
        assert [c.label for c in question.choices] == ["Je propose des places", "Je cherche une place"]
    refused = submit(organiser, questions_url(quiz, "new"), label="", kind="multiple_choice", new_choices="")
    assert refused.status_code == 422
    text = page_text(refused)
    assert "Indiquez la question." in text


def test_removing_a_chosen_choice_hides_it_and_the_page_says_so(app, organiser, quiz):
    person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"])))
    url = questions_url(quiz, quiz["diet"], "edit")
    content = page_text(organiser.get(url))
    assert "Choisi par 1 personne." in content and "son type ne peut plus changer" in content
    assert 'name="kind"' not in content  # answered: its kind stays

    response = submit(organiser, url, label="Régime alimentaire", required="y",
                      **{f"choice_{quiz['Végétarien']}": "Végétarien", f"choice_{quiz['Sans gluten']}": "Sans gluten",
                         f"choice_{quiz['Aucun']}": "Aucun", f"remove_{quiz['Aucun']}": "y",
                         f"remove_{quiz['Sans gluten']}": "y"})

    assert response.status_code == 302
    listing = page_text(organiser.get(response.headers["Location"]))
    assert "Le choix « Aucun » a déjà été choisi : il n'est plus proposé" in listing
    with app.app_context():
        assert db.session.get(QuestionChoice, quiz["Aucun"]).hidden
        assert db.session.get(QuestionChoice, quiz["Sans gluten"]) is None
    content = page_text(organiser.get(url))
    assert "Retiré : plus proposé aux nouvelles inscriptions." in content
    assert "Proposer de nouveau ce choix" in content


def test_deleting_a_question_asks_first_saying_how_many_answers_go(app, organiser, quiz):
    person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"])))
    url = questions_url(quiz, quiz["diet"], "delete")

    assert "1 personne a répondu à cette question" in page_text(organiser.get(url))
    response = submit(organiser, url)

    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Question, quiz["diet"]) is None
    assert "réponses effacées : 1" in page_text(organiser.get(questions_url(quiz)))


def test_moving_a_question_is_a_post(app, organiser, quiz):
    token = support.csrf_token(organiser, questions_url(quiz))
    moved = organiser.post(questions_url(quiz, quiz["role"], "move", "up"), data={"csrf_token": token})
    assert moved.status_code == 302
    with app.app_context():
        assert [q.label for q in db.session.get(Event, quiz["event"]).questions][2:4] == [
            "Votre fonction", "Besoin d'une attestation ?"]
    assert organiser.get(questions_url(quiz, quiz["role"], "move", "up")).status_code == 405


def test_the_persons_page_shows_the_answers_and_organisers_change_them(app, organiser, quiz):
    anne = person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"]), certificate="yes"))
    page = f"/organiser/events/{quiz['event']}/registrations/{anne}"
    text = page_text(organiser.get(page))
    assert "Réponses aux questions" in text
    assert re.search(r"<dt>Régime alimentaire</dt>\s*<dd>Aucun</dd>", text)
    assert re.search(r"<dt>Besoin d'une attestation \?</dt>\s*<dd>oui</dd>", text)
    assert re.search(r"<dt>Votre fonction</dt>\s*<dd><span class=\"hint\">sans réponse</span></dd>", text)

    # Organisers may leave a required question unanswered (the person may not have told them).
    response = submit(organiser, page + "/edit", first_name="Anne", last_name="Le Goff", actor_type="asi",
                      language="fr", **form_fields(quiz, role="Trésorière"))
    assert response.status_code == 302
    assert stored_answers(app, anne) == {"Votre fonction": "Trésorière"}

    added = submit(organiser, f"/organiser/events/{quiz['event']}/registrations/new", first_name="Nolwenn",
                   last_name="Riou", email="nolwenn@example.org", actor_type="ess", language="fr", confirmed="no",
                   privacy_consent="y", **form_fields(quiz, evening=[str(quiz["Concert"])]))
    assert added.status_code == 302
    with app.app_context():
        nolwenn = db.session.scalars(select(Registration.id).where(Registration.first_name == "Nolwenn")).one()
    assert stored_answers(app, nolwenn) == {"Le soir": "Concert"}


def list_names(response):
    return [html.unescape(name) for name in re.findall(
        r'<th scope="row"><a href="/organiser/events/\d+/registrations/\d+">([^<]*)</a></th>',
        response.get_data(as_text=True))]


def test_the_list_filters_by_the_answer_to_a_choice_or_yes_no_question(app, organiser, quiz):
    person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"]), evening=[
        str(quiz["Visite"]), str(quiz["Concert"])], certificate="yes"))
    person_id(app, quiz["event"], "Bleuenn", answers=answers(quiz, diet=str(quiz["Végétarien"]), evening=[
        str(quiz["Concert"])], certificate="no"))
    person_id(app, quiz["event"], "Corentin", answers=answers(quiz, diet=str(quiz["Végétarien"])))
    url = f"/organiser/events/{quiz['event']}/registrations"

    content = page_text(organiser.get(url))
    assert "Réponse à une question" in content
    assert f'<option value="choice-{quiz["Concert"]}">Le soir : Concert</option>' in content
    assert list_names(organiser.get(f"{url}?answer=choice-{quiz['Végétarien']}")) == [
        "Le Goff Bleuenn", "Le Goff Corentin"]
    assert list_names(organiser.get(f"{url}?answer=choice-{quiz['Concert']}")) == ["Le Goff Anne", "Le Goff Bleuenn"]
    assert list_names(organiser.get(f"{url}?answer=choice-{quiz['Visite']}&q=bleuenn")) == []
    assert list_names(organiser.get(f"{url}?answer=yes-{quiz['certificate']}")) == ["Le Goff Anne"]
    assert list_names(organiser.get(f"{url}?answer=no-{quiz['certificate']}")) == ["Le Goff Bleuenn"]
    assert organiser.get(f"{url}?answer=choice-999999").status_code == 422
    assert organiser.get(f"{url}?answer=yes-{quiz['role']}").status_code == 422  # not a yes/no question


def export(client, quiz, file_format, **filters):
    token = support.csrf_token(client, f"/organiser/events/{quiz['event']}/registrations")
    return client.post(f"/organiser/events/{quiz['event']}/registrations/export.{file_format}",
                       data=dict(filters, csrf_token=token))


def test_the_exports_have_a_column_per_question(app, organiser, quiz):
    person_id(app, quiz["event"], "Anne", answers=answers(quiz, diet=str(quiz["Aucun"]), evening=[
        str(quiz["Repas"]), str(quiz["Visite"])], certificate="yes", role="=1+1", notes="Ligne 1\nLigne 2"))
    person_id(app, quiz["event"], "Bleuenn", answers=answers(quiz, diet=str(quiz["Végétarien"])))
    with app.app_context():  # a question typed like a formula is a text header too
        db.session.get(Question, quiz["notes"]).label = "=Remarques"
        db.session.commit()
    headers = ["Régime alimentaire", "Le soir", "Besoin d'une attestation ?", "Votre fonction", "'=Remarques"]

    content = export(organiser, quiz, "csv").get_data()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-5:] == headers
    by_name = {row[1]: row[-5:] for row in rows[1:]}
    assert by_name["Anne"] == ["Aucun", "Visite ; Repas", "oui", "'=1+1", "Ligne 1\nLigne 2"]
    assert by_name["Bleuenn"] == ["Végétarien", "", "", "", ""]

    response = export(organiser, quiz, "xlsx", answer=f"choice-{quiz['Aucun']}")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][-5:] == headers
    assert [row[1] for row in rows[1:]] == ["Anne"]
    assert rows[1][-5:] == ["Aucun", "Visite ; Repas", "oui", "'=1+1", "Ligne 1\nLigne 2"]


def test_an_event_without_questions_costs_no_query_of_its_own(app, client, make_event):
    """The questions come with the event (one query); no answer is written when there is none."""
    make_event(slug="simple")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    client.get("/events/simple/register")  # the CSRF token, templates compiled
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        client.get("/events/simple/register")
        assert post_registration(client, "simple").status_code == 303
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)

    event_queries = [s for s in statements if "FROM events" in s and "events.slug" in s]
    assert event_queries and all("LEFT OUTER JOIN questions" in s for s in event_queries)
    assert not [s for s in statements if s.startswith("SELECT") and "FROM questions" in s and "events" not in s]
    assert not [s for s in statements if "question_choices" in s or "answers" in s]
