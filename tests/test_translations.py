"""The English catalogue (webapp/translations/en): complete and up to date with the sources, and
really used: pages and mails come out in English when asked (browser, `?lang=en` switch, the
participant's stored language), in French by default."""
import html
import re

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext
from icalendar import Calendar

from . import support
from .support import PLACEHOLDER, outbox_message, page_text

CATALOGUE = support.ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# A gettext call or a {% trans %} block in a template.
TEMPLATE_GETTEXT = re.compile(r"(?<![\w.])(?:_|gettext|ngettext|pgettext|npgettext)\(|\{%-?\s*trans\b")

ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}


@pytest.fixture(scope="module")
def catalogue():
    with CATALOGUE.open("rb") as f:
        return read_po(f)


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


def french_leftovers(text, catalogue):
    """French sentences of the catalogue found in `text` (each one that the catalogue changes,
    has no placeholder and is more than one word): what should have been English."""
    return [message.id for message in catalogue
            if isinstance(message.id, str) and " " in message.id and message.string != message.id
            and not PLACEHOLDER.search(message.id) and message.id in text]


# --- The catalogue ---

def test_extraction_finds_the_strings_of_every_kind_of_source(extracted):
    found = {message.id for message in extracted}
    assert "Prénom" in found  # lazy form label (_l)
    assert "Indiquez votre prénom." in found  # WTForms validator message
    assert "organisation paysanne" in found  # actor type marked with N_
    assert "heure de %(city)s" in found  # gettext with a placeholder in Python
    assert ("%(num)d place restante", "%(num)d places restantes") in found  # ngettext in a page template
    assert "Confirmez votre adresse : %(title)s" in found  # mail subject (.txt template)
    assert "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :" in found  # HTML mail macro


def test_every_template_that_translates_is_extracted(extracted):
    """The Jinja extractor skips a template it cannot parse without a word: none may be skipped."""
    extracted_files = {filename for message in extracted for filename, _line in message.locations}
    templates = [path for folder in ("webapp/templates", "email_templates")
                 for path in sorted((support.ROOT / folder).rglob("*")) if path.suffix in (".html", ".txt")]
    skipped = [str(path.relative_to(support.ROOT)) for path in templates
               if TEMPLATE_GETTEXT.search(path.read_text())
               and str(path.relative_to(support.ROOT)) not in extracted_files]
    assert templates and skipped == []


def test_every_wrapped_string_has_an_english_translation(extracted, catalogue):
    """Fails as soon as a wrapped string is added or changed without its translation: run
    `make translations-update`, then translate the new entries of the catalogue."""
    problems = []
    for message in extracted:
        if not message.id:
            continue
        translation = catalogue.get(message.id, message.context)
        if translation is None or translation.id != message.id:
            problems.append(f"not in the catalogue: {message.id!r}")
            continue
        if translation.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if message.pluralizable:
            forms, sources = translation.string, message.id
            if len(forms) != catalogue.num_plurals:
                problems.append(f"{len(forms)} plural forms instead of {catalogue.num_plurals}: {message.id!r}")
        else:
            forms, sources = (translation.string,), (message.id,)
        for index, form in enumerate(forms):
            source = sources[min(index, len(sources) - 1)]
            if not form:
                problems.append(f"untranslated: {source!r}")
            elif placeholders(form) != placeholders(source):
                problems.append(f"placeholders differ: {source!r} -> {form!r}")
    assert problems == []


def test_catalogue_holds_no_stale_message(extracted, catalogue):
    current = {(message.id, message.context) for message in extracted}
    assert [message.id for message in catalogue if message.id and (message.id, message.context) not in current] == []
    assert not catalogue.obsolete


def test_plural_forms_follow_the_number(app_ctx):
    with force_locale("en"):
        assert ngettext("%(num)d place restante", "%(num)d places restantes", 1) == "1 seat left"
        assert ngettext("%(num)d place restante", "%(num)d places restantes", 3) == "3 seats left"
    with force_locale("fr"):
        assert ngettext("%(num)d place restante", "%(num)d places restantes", 3) == "3 places restantes"


# --- Pages ---


def test_templates_follow_a_language_forced_within_the_request(app):
    """The pages' gettext looks the translations up once per request and locale: a rendering in
    a forced language (as a mail rendered during a request) gets that language, and the page's
    own language comes back after it."""
    page = app.jinja_env.from_string('{{ _("Tous les événements") }} {{ pgettext("full name", "Nom") }}')
    with app.test_request_context("/?lang=en"):
        assert page.render() == "All events Name"
        with force_locale("fr"):
            assert page.render() == "Tous les événements Nom"
            with force_locale("en"):
                assert page.render() == "All events Name"
            assert page.render() == "Tous les événements Nom"
        assert page.render() == "All events Name"


def test_event_page_in_english_from_the_browser(client, event_slug, catalogue):
    page = page_text(client.get(f"/events/{event_slug}", headers=ENGLISH_BROWSER))
    assert '<html lang="en">' in page
    assert "<h2 id=\"registration-heading\">Registration</h2>" in page
    assert "Registration is open." in page
    assert f'<a class="button" href="/events/{event_slug}/register">Register</a>' in page
    assert "40 seats left" in page and 'room: <span lang="fr">Salle 1</span>' in page
    assert "Wednesday, June 12, 2030, from" in page and "(Paris time)" in page
    assert french_leftovers(page, catalogue) == []


def test_event_page_in_french_by_default(client, event_slug):
    page = page_text(client.get(f"/events/{event_slug}"))
    assert '<html lang="fr">' in page
    assert "Les inscriptions sont ouvertes." in page
    assert f'<a class="button" href="/events/{event_slug}/register">S\'inscrire</a>' in page
    assert "40 places restantes" in page and "(heure de Paris)" in page


@pytest.mark.parametrize("query, headers", [("?lang=en", {}), ("", ENGLISH_BROWSER)],
                         ids=["language switch", "browser language"])
def test_registration_form_and_its_errors_in_english(client, event_slug, catalogue, query, headers):
    path = f"/events/{event_slug}/register"
    form = page_text(client.get(path + query, headers=headers))
    assert '<html lang="en">' in form
    assert '<button type="submit">Register</button>' in form
    assert "First name" in form and "Email address" in form and "Workshops (optional)" in form
    assert french_leftovers(form, catalogue) == []

    # The switch is remembered in the session: the form's POST URL carries no ?lang=.
    response = client.post(path, headers=headers, data={
        "csrf_token": support.csrf_token_in(form), "first_name": "", "last_name": "Le Goff", "email": "pas-une-adresse",
        "actor_type": "asi",
    })
    assert response.status_code == 422
    page = page_text(response)
    assert "The form could not be sent:" in page
    assert "First name: Enter your first name." in page
    assert "Enter a valid email address, for example name@example.org." in page
    assert "Your consent is needed to register." in page
    assert french_leftovers(page, catalogue) == []


def test_registration_form_and_its_errors_in_french_by_default(client, event_slug):
    path = f"/events/{event_slug}/register"
    form = page_text(client.get(path))
    assert "<button type=\"submit\">Je m'inscris</button>" in form
    response = client.post(path, data={"csrf_token": support.csrf_token_in(form), "last_name": "Le Goff",
                                       "email": "anne@example.org", "actor_type": "asi"})
    assert response.status_code == 422
    page = page_text(response)
    assert "Prénom : Indiquez votre prénom." in page
    assert "Votre accord est nécessaire pour vous inscrire." in page


# --- Mails ---

def register_through_the_form(client, slug, query=""):
    """Fill in and send the registration form as a browser would, choosing every workshop."""
    path = f"/events/{slug}/register"
    form = page_text(client.get(path + query))
    data = {"csrf_token": support.csrf_token_in(form), "first_name": "Anne", "last_name": "Le Goff",
            "email": "anne@example.org", "organisation": "RIAA", "actor_type": "paysanne", "privacy_consent": "y",
            "workshops": re.findall(r'name="workshops" id="[^"]+" value="(\d+)"', form)}
    assert data["workshops"]
    assert client.post(path, data=data).status_code == 303


def text_and_html(message):
    """The mail's text and HTML parts, the HTML with its entities decoded."""
    text, html_part = support.text_and_html(message)
    return text, html.unescape(html_part)


def test_registration_made_in_english_gets_english_mails_and_pages(app, client, event_slug, catalogue):
    register_through_the_form(client, event_slug, query="?lang=en")

    message = outbox_message(app, "confirm_address")
    assert message["Subject"] == "Confirm your address: Journée régionale : ESS et solidarité internationale"
    text, html_part = text_and_html(message)
    for part in (text, html_part):
        assert "Hello Anne," in part
        assert "Thank you for registering for the following event:" in part
        assert "This link is valid for 72 hours." in part
        assert "Wednesday, June 12, 2030, from" in part and "(Paris time)" in part
        assert "Automatic message from Emgav about" in part
        assert french_leftovers(part, catalogue) == []
    assert '<html lang="en">' in html_part
    assert ">Confirm my address</a>" in html_part

    # The link opens in the participant's language, whatever the browser says.
    confirm_path = support.link_in(message, "confirm")
    page = page_text(app.test_client().get(confirm_path, headers={"Accept-Language": "fr"}))
    assert "<h1>Thank you, your address is confirmed</h1>" in page
    assert "Your registration is confirmed: a seat is booked for you." in page
    assert "<dt>Name</dt>" in page and "<dt>In what capacity</dt>" in page and "<dd>farmers' organisation</dd>" in page
    assert french_leftovers(page, catalogue) == []

    # A workshop and its state, with English punctuation.
    assert ('<strong lang="fr">Agroécologie</strong> (from 2:30 PM to 4:00 PM, '
            '<span lang="fr">Salle 1</span>): seat booked</li>') in page

    message = outbox_message(app, "registration_confirmed")
    assert message["Subject"] == "Registration confirmed: Journée régionale : ESS et solidarité internationale"
    text, html_part = text_and_html(message)
    for part in (text, html_part):
        assert "Your address is confirmed and your seat is booked:" in part
        assert "Your workshops:" in part
        assert "The attached invitation adds the event to your calendar." in part
        assert french_leftovers(part, catalogue) == []
    assert "Agroécologie (from 2:30" in text and "room: Salle 1" in text
    # The HTML part marks the organisers' French words for screen readers.
    assert '<span lang="fr">Agroécologie</span> (from 2:30' in html_part
    assert 'room: <span lang="fr">Salle 1</span>' in html_part
    assert ">Manage my registration</a>" in html_part
    invite = next(part for part in message.iter_attachments() if part.get_filename() == "invite.ics")
    [vevent] = Calendar.from_ical(invite.get_content()).events
    assert "Your workshops:" in vevent["DESCRIPTION"]
    assert "/manage/" not in vevent["DESCRIPTION"]


def test_mails_are_in_french_by_default(app, client, event_slug):
    register_through_the_form(client, event_slug)

    message = outbox_message(app, "confirm_address")
    # The subject keeps the no-break space of French typography (the title is the organisers', as typed).
    assert message["Subject"] == "Confirmez votre adresse\u00a0: Journée régionale : ESS et solidarité internationale"
    text, html_part = text_and_html(message)
    for part in (text, html_part):
        assert "Bonjour Anne," in part
        assert "Merci pour votre inscription à l'événement suivant :" in part
        assert "Ce lien est valable 72 heures." in part
        assert "mercredi 12 juin 2030" in part and "(heure de Paris)" in part
