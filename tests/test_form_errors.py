"""One behaviour for every form of the site, public, participant and back office: sent with
mistakes (or refused, like a wrong password), it answers 422, its page title starts with
« Erreur : » (« Error: » in English) and the page lists the errors. Every form page is rendered
by `webapp.web.render_form_page`, which does this."""
import ast
import re

import pytest

from webapp.extensions import db
from webapp.models import User, UserRole
from webapp.services import accounts

from .support import ROOT, csrf_token, logged_in_as, make_user, page_text, person_id, personal_link

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
ERROR_BOX = re.compile(r'<div class="error-summary" role="alert".*?</div>', re.S)
ERROR_TITLE = {"fr": "Erreur : ", "en": "Error: "}


def admin(app, client):
    with app.app_context():
        logged_in_as(client, make_user("admin@example.org", UserRole.admin))


def registration_form(app, client, make_event):
    make_event(slug="journee")
    return "/events/journee/register", {"first_name": "", "email": "anne@"}


def manage_form(app, client, make_event):
    return personal_link(app, "manage", person_id(app, make_event())), {
        "first_name": "", "last_name": "Le Goff", "actor_type": "asi", "language": "fr"}


def lost_link_form(app, client, make_event):
    return "/lost-link", {"email": "pas une adresse"}


def login_form(app, client, make_event):
    return "/organiser/login", {"email": "anne@", "password": ""}


def login_refused(app, client, make_event):
    with app.app_context():
        make_user("anne@example.org")
    return "/organiser/login", {"email": "anne@example.org", "password": "pas le bon mot de passe"}


def forgot_password_form(app, client, make_event):
    return "/organiser/password/forgot", {"email": "anne@"}


def reset_password_form(app, client, make_event):
    with app.test_request_context():
        user = db.session.get(User, make_user("anne@example.org"))
        return f"/organiser/password/reset/{accounts.password_token(user)}", {"password": "court", "confirm": "autre"}


def change_password_form(app, client, make_event):
    with app.app_context():
        logged_in_as(client, make_user("anne@example.org"))
    return "/organiser/account/password", {"current_password": "", "password": "court", "confirm": "court"}


def new_account_form(app, client, make_event):
    admin(app, client)
    return "/organiser/accounts/new", {"email": "", "role": "organiser"}


def event_team_form(app, client, make_event):
    event_id = make_event()
    admin(app, client)
    with app.app_context():
        make_user("anne@example.org")  # an account that could be given access
    return f"/organiser/events/{event_id}/team", {"user_id": "999"}


def new_event_form(app, client, make_event):
    admin(app, client)
    return "/organiser/events/new", {"title": "", "slug": "Pas un slug !"}


def event_edit_form(app, client, make_event):
    event_id = make_event()
    admin(app, client)
    return f"/organiser/events/{event_id}/edit", {"title": "", "contact_email": "contact@"}


FORMS = [registration_form, manage_form, lost_link_form, login_form, login_refused, forgot_password_form,
         reset_password_form, change_password_form, new_account_form, event_team_form, new_event_form,
         event_edit_form]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("form", FORMS)
def test_every_form_answers_mistakes_the_same_way(app, client, make_event, form, language):
    path, mistakes = form(app, client, make_event)
    path += f"?lang={language}"
    blank = client.get(path)
    assert blank.status_code == 200
    assert not TITLE.search(page_text(blank)).group(1).startswith(ERROR_TITLE[language])

    answer = client.post(path, data=dict(mistakes, csrf_token=csrf_token(client, path)))

    assert answer.status_code == 422
    page = page_text(answer)
    assert TITLE.search(page).group(1).startswith(ERROR_TITLE[language])
    assert not TITLE.search(page).group(1).startswith(ERROR_TITLE[language] * 2)
    assert ERROR_BOX.search(page), "the errors are not listed"


def test_every_page_with_a_form_is_rendered_by_render_form_page():
    """A view passing a `form` to render_template would skip the shared answer to mistakes."""
    offenders = []
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        views = [node for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.FunctionDef) and node.name != "render_form_page"]
        for node in (node for view in views for node in ast.walk(view)):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "render_template"
                    and any(keyword.arg == "form" for keyword in node.keywords)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize("language, expected", [
    ("fr", ("J'accepte que mes données soient utilisées pour gérer mon inscription à cet événement : "
            "Votre accord est nécessaire pour vous inscrire.")),
    ("en", ("I agree that my data will be used to manage my registration for this event: "
            "Your consent is needed to register.")),
])
def test_consent_error_link_has_one_punctuation_mark(client, make_event, language, expected):
    make_event(slug="journee")
    path = f"/events/journee/register?lang={language}"
    answer = client.post(path, data={"csrf_token": csrf_token(client, path)})
    links = re.findall(r'<a href="#privacy_consent">(.*?)</a>', page_text(answer))
    assert links == [expected]


@pytest.mark.parametrize("i18n_enabled, expected", [
    (True, "N'est pas un choix valide."),
    (False, "Not a valid choice."),
])
def test_wtforms_own_messages_are_in_the_page_language_unless_turned_off(app, client, make_event, monkeypatch,
                                                                        i18n_enabled, expected):
    """WTForms' built-in messages come from its French catalogue; WTF_I18N_ENABLED=False turns it
    off, as in Flask-WTF."""
    make_event(slug="journee")
    monkeypatch.setitem(app.config, "WTF_I18N_ENABLED", i18n_enabled)
    path = "/events/journee/register"
    answer = client.post(path, data={"csrf_token": csrf_token(client, path), "actor_type": "martien"})
    assert answer.status_code == 422
    assert expected in page_text(answer)
