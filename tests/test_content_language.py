"""Language of parts (RGAA 8.7): an event says in which language its organisers wrote it
(`content_language`, French by default); pages and HTML mails in another language mark those
texts with lang="…", and each language choice is marked with its own language."""
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.mail.message import build_message
from webapp.models import Event, OutboxMail, Registration
from webapp.services import event_files, events, tokens
from webapp.services.events import EventRuleError

from . import support
from .support import START, page_text, person_id


class LangParts(HTMLParser):
    """The text inside each element of <main> that carries a lang attribute: [(lang, text)]."""

    VOID = {"br", "input", "img", "hr", "meta", "link"}

    def __init__(self, html):
        super().__init__()
        self.parts, self.open, self.in_main = [], [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.in_main = True
        if tag in self.VOID:
            self.handle_data(" ")
        if not self.in_main or tag in self.VOID:
            return
        lang = dict(attrs).get("lang")
        self.open.append([tag, lang, []])

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False
        if not self.open or tag in self.VOID:
            return
        name, lang, text = self.open.pop()
        words = " ".join("".join(text).split())
        if lang:
            self.parts.append((lang, words))
        if self.open:
            self.open[-1][2].append("".join(text))

    def handle_data(self, data):
        if self.open:
            self.open[-1][2].append(data)


def lang_parts(response):
    return LangParts(response.get_data(as_text=True)).parts


@pytest.fixture
def french_event(make_event):
    """A French event (the default) with a description, a venue and a workshop in a room."""
    make_event(slug="rencontre", title="Rencontre régionale", description="Une journée **d'échanges**.",
               starts_at=START, ends_at=START + timedelta(hours=8), capacity=30,
               workshops=[dict(key="agro", title="Agroécologie", description="Partage de savoirs.",
                               starts_at=START + timedelta(hours=5), ends_at=START + timedelta(hours=6),
                               room="Salle Bréhat")])
    return "rencontre"


# --- Pages ---

def test_english_page_of_a_french_event_marks_the_organisers_words(client, french_event):
    response = client.get(f"/events/{french_event}?lang=en")
    page = page_text(response)
    assert '<html lang="en">' in page
    assert lang_parts(response) == [
        ("fr", "Rencontre régionale"),  # h1
        ("fr", "Espace Anne de Bretagne 15 rue Martenot, 35000 Rennes"),  # venue
        ("fr", "Une journée d'échanges."),  # description
        ("fr", "Agroécologie"),  # workshop title
        ("fr", "Salle Bréhat"),  # its room, inside « room: … »
        ("fr", "Partage de savoirs."),  # its description
    ]
    assert '<h1 lang="fr">Rencontre régionale</h1>' in page
    assert 'room: <span lang="fr">Salle Bréhat</span>' in page


def test_french_page_of_a_french_event_adds_no_lang(client, french_event):
    for path in (f"/events/{french_event}", f"/events/{french_event}/register", "/"):
        response = client.get(path + "?lang=fr")
        assert lang_parts(response) == [], path
        assert '<span lang="fr">' not in response.get_data(as_text=True)


def test_english_event_on_a_french_page_is_marked_english(client, make_event):
    make_event(slug="meeting", title="Regional meeting", content_language="en", venue_name="Town hall",
               venue_address="", description="A day of *exchanges*.")
    response = client.get("/events/meeting")
    assert lang_parts(response) == [("en", "Regional meeting"), ("en", "Town hall"), ("en", "A day of exchanges.")]
    assert lang_parts(client.get("/events/meeting?lang=en")) == []
    index = client.get("/?lang=fr")
    assert ("en", "Regional meeting") in lang_parts(index)


def test_registration_form_and_sent_page_mark_the_organisers_words(client, french_event):
    form = client.get(f"/events/{french_event}/register?lang=en")
    assert lang_parts(form) == [("fr", "Rencontre régionale"), ("fr", "Espace Anne de Bretagne"),
                                ("fr", "Agroécologie"), ("fr", "Salle Bréhat")]
    assert support.post_registration(client, french_event).status_code == 303
    sent = client.get(f"/events/{french_event}/register/sent")
    assert lang_parts(sent) == [("fr", "Rencontre régionale")]
    assert 'about your registration for “<span lang="fr">Rencontre régionale</span>”' in page_text(sent)


def test_participant_pages_mark_the_organisers_words(app, client, french_event):
    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == french_event))
    registration_id = person_id(app, event_id, workshops=["agro"], language="en")
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        manage = f"/manage/{tokens.manage_token(registration)}"

    page = client.get(manage)  # in the participant's language: English
    parts = lang_parts(page)
    assert ("fr", "Rencontre régionale") in parts and ("fr", "Agroécologie") in parts
    assert ("fr", "Salle Bréhat") in parts
    assert ("fr", "Français") in parts  # the language choice, named in itself

    page = client.get(manage + "?lang=fr")
    assert lang_parts(page) == [("en", "English")]  # the organisers' words are French, like the page

    # A message page fills a sentence with the event's title: marked, not escaped into text.
    assert support.submit(client, manage + "/cancel?lang=en").status_code == 200
    page = client.get(manage + "?lang=en")
    assert page.status_code == 410
    assert 'Your registration for “<span lang="fr">Rencontre régionale</span>” is cancelled' in page_text(page)


# --- Mails ---

def outbox_mail(app, kind):
    with app.app_context():
        return build_message(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind)).one())


def test_html_mail_marks_the_organisers_words_and_text_mail_has_no_markup(app, french_event):
    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == french_event))
    person_id(app, event_id, workshops=["agro"], language="en")

    text, html = support.text_and_html(outbox_mail(app, "registration_confirmed"))
    assert re.search(r'<p lang="fr"[^>]*><strong>Rencontre régionale</strong></p>', html)
    assert re.search(r'<p lang="fr"[^>]*>Espace Anne de Bretagne, 15 rue Martenot, 35000 Rennes</p>', html)
    assert '<span lang="fr">Agroécologie</span> (from' in html and 'room: <span lang="fr">Salle Bréhat</span>' in html
    assert 'Automatic message from Emgav about “<span lang="fr">Rencontre régionale</span>”' in html
    assert "lang=" not in text and "<span" not in text
    assert "Agroécologie (from" in text and "room: Salle Bréhat" in text


def test_mail_in_the_events_language_adds_no_lang(app, french_event):
    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == french_event))
    person_id(app, event_id, workshops=["agro"], language="fr")
    _text, html = support.text_and_html(outbox_mail(app, "registration_confirmed"))
    assert html.count("lang=") == 1  # <html lang="fr"> only


# --- The event's language: rules and event files ---

def test_event_language_defaults_to_french_and_must_be_one_of_the_apps(app_ctx):
    event = events.create_event(slug="par-defaut", title="Journée", starts_at=START, ends_at=START + timedelta(hours=2),
                                contact_email="contact@example.org")
    assert event.content_language == "fr"
    events.update_event(event, content_language="en")
    assert db.session.get(Event, event.id).content_language == "en"
    with pytest.raises(EventRuleError) as error:
        events.update_event(event, content_language="de")
    assert support.plain_list(error.value.errors) == [
        "La langue des textes de l'événement doit être fr, en, pas « de »."]
    assert db.session.get(Event, event.id).content_language == "en"


EVENT_FILE = {
    "slug": "journee-en", "title": "Regional day", "starts_at": "2031-03-11T14:00:00",
    "ends_at": "2031-03-11T17:00:00", "contact_email": "contact@example.org",
}


def test_event_file_language(app_ctx):
    event, created = event_files.import_event(EVENT_FILE)
    assert created and event.content_language == "fr"
    event, created = event_files.import_event(dict(EVENT_FILE, language="EN "))
    assert not created and event.content_language == "en"


@pytest.mark.parametrize("language, message", [
    ("de", "La langue des textes de l'événement doit être fr, en, pas « de »."),
    (3, "« language » doit être un texte entre guillemets."),
])
def test_event_file_with_a_wrong_language_is_refused(app_ctx, language, message):
    with pytest.raises(event_files.EventFileError) as error:
        event_files.import_event(dict(EVENT_FILE, language=language))
    assert support.plain_list(error.value.errors) == [message]
    assert db.session.scalars(select(Event)).all() == []
