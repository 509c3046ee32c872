"""One behaviour for every form of the site: sent with mistakes, it answers 422, its page title
starts with « Erreur : » (« Error: » in English) and a summary lists the mistakes with links to
their fields."""
import re

import pytest

from .support import csrf_token, page_text, person_id, personal_link

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
SUMMARY_LINKS = re.compile(r'<div class="error-summary" role="alert".*?</div>', re.S)
ERROR_TITLE = {"fr": "Erreur : ", "en": "Error: "}


def registration_form(app, make_event):
    make_event(slug="journee")
    return "/events/journee/register", {"first_name": "", "email": "anne@"}


def manage_form(app, make_event):
    return personal_link(app, "manage", person_id(app, make_event())), {
        "first_name": "", "last_name": "Le Goff", "actor_type": "asi", "language": "fr"}


def lost_link_form(app, make_event):
    return "/lost-link", {"email": "pas une adresse"}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("form", [registration_form, manage_form, lost_link_form])
def test_every_form_answers_mistakes_the_same_way(app, client, make_event, form, language):
    path, mistakes = form(app, make_event)
    path += f"?lang={language}"
    blank = client.get(path)
    assert blank.status_code == 200
    assert not TITLE.search(page_text(blank)).group(1).startswith(ERROR_TITLE[language])

    answer = client.post(path, data=dict(mistakes, csrf_token=csrf_token(client, path)))

    assert answer.status_code == 422
    page = page_text(answer)
    assert TITLE.search(page).group(1).startswith(ERROR_TITLE[language])
    summary = SUMMARY_LINKS.search(page)
    assert summary, "no error summary"
    assert re.search(r'<li><a href="#\w+">', summary.group(0))


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
