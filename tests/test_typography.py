"""French typography: the French catalogue is generated from the msgids (plain spaces, straight
apostrophes) by `webapp.typography.french`, stays equal to what the sources give, and is what
French pages and mails print: no breakable space before « ; : ! ? » » or after « », no straight
apostrophe between letters. Dates write « 1er » for the first day of the month."""
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.extensions import db
from webapp.formatting import format_event_date, format_event_datetime
from webapp.mail import outbox
from webapp.mail.message import build_message
from webapp.models import Event, OutboxMail, Registration, SeatOffer, UserRole
from webapp.models.base import utcnow
from webapp.services import registrations, seats, tokens
from webapp.typography import french, french_catalogue

from . import support
from .support import PLACEHOLDER, logged_in_as, make_user, person, person_id, rows_of_every_kind, submit

TRANSLATIONS = support.ROOT / "webapp" / "translations"

# A space or line break that lets a line end there: any whitespace but the no-break spaces.
BREAKABLE = r"[^\S\u00a0\u202f]"
MISPLACED = re.compile(rf"{BREAKABLE}+[;:!?»]|«{BREAKABLE}|[^\W\d_]'[^\W\d_]")
URL = re.compile(r"https?://\S+")


def typography_problems(text):
    """Each place of `text` where French typography is missing, with some context."""
    text = URL.sub("", text)
    return [text[max(0, match.start() - 40):match.end() + 10] for match in MISPLACED.finditer(text)]


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(page_html):
    """The text of an HTML document as it is read: no tags, attributes, scripts or styles; entities decoded."""
    parser = _VisibleText()
    parser.feed(page_html)
    parser.close()
    return "".join(parser.parts)


# --- The rules ---

@pytest.mark.parametrize("source, printed", [
    ("Vos ateliers :", "Vos ateliers\u00a0:"),
    ("Annuler mon inscription ?", "Annuler mon inscription\u202f?"),
    ("Revenez bientôt !", "Revenez bientôt\u202f!"),
    ("par message ; vous aurez", "par message\u202f; vous aurez"),
    ("l'atelier « %(title)s »", "l’atelier «\u00a0%(title)s\u00a0»"),
    ("Merci!", "Merci\u202f!"),  # no space typed: the no-break space is added
    ("Note: lire", "Note\u00a0: lire"),
    ("«mot»", "«\u00a0mot\u00a0»"),
    ("ouvrez ce lien\n:", "ouvrez ce lien\u00a0:"),  # a line break or several spaces: one no-break space
    ("vraiment  ?", "vraiment\u202f?"),
    ("Quoi\u00a0?", "Quoi\u202f?"),  # a no-break space of the wrong width
    ("(pourquoi ?)", "(pourquoi\u202f?)"),
    ("aujourd'hui, l'ESS", "aujourd’hui, l’ESS"),
    ("l'atelier n° %(number)s", "l’atelier n°\u00a0%(number)s"),
])
def test_french_applies_each_rule(source, printed):
    assert french(source) == printed


@pytest.mark.parametrize("text", [
    "à 09:30", "2027-06-10T09:00:00", "https://example.org/a?b=c&d=e", "[texte](https://…)", "Europe/Paris",
    "%(name)s", "%(num)d places", "100 %%", "'guillemets simples'", "l'", "d'%(name)s",
])
def test_french_leaves_times_urls_placeholders_and_other_quotes_alone(text):
    assert french(text) == text


def test_french_keeps_every_placeholder_and_is_idempotent(extracted):
    texts = [text for message in extracted if message.id
             for text in (message.id if message.pluralizable else (message.id,))]
    assert len(texts) > 300
    for text in texts:
        printed = french(text)
        assert sorted(PLACEHOLDER.findall(printed)) == sorted(PLACEHOLDER.findall(text)), text
        assert french(printed) == printed, text


# --- The catalogues ---

def test_the_french_catalogue_is_generated_from_the_current_sources(extracted):
    """Fails as soon as a wrapped string is added or changed: run `make translations-fr`."""
    committed = (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert committed == french_catalogue(extracted), "the French catalogue is stale: run `make translations-fr`"


def test_the_french_catalogue_is_complete_with_its_plural_forms(extracted):
    with (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    assert not catalogue.fuzzy and str(catalogue.locale) == "fr"
    for message in extracted:
        if message.id:
            translation = catalogue.get(message.id, message.context)
            assert translation is not None and all(translation.string), message.id
            if message.pluralizable:
                assert len(translation.string) == catalogue.num_plurals


def test_the_english_catalogue_keeps_english_typography():
    with (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    strings = [form for message in catalogue if message.id
               for form in (message.string if isinstance(message.string, tuple) else (message.string,))]
    assert strings and [s for s in strings if re.search("[\u00a0\u202f\u2019]", s)] == []


def test_french_gettext_lazy_strings_and_plurals_come_from_the_french_catalogue(app_ctx):
    with force_locale("fr"):
        assert gettext("Vos ateliers :") == "Vos ateliers\u00a0:"
        assert str(_l("À quel titre venez-vous ?")) == "À quel titre venez-vous\u202f?"
        one, many = "Ce lien est valable %(num)d minute et ne sert qu'une fois.", \
            "Ce lien est valable %(num)d minutes et ne sert qu'une fois."
        assert ngettext(one, many, 1) == "Ce lien est valable 1 minute et ne sert qu’une fois."
        assert ngettext(one, many, 0) == "Ce lien est valable 0 minute et ne sert qu’une fois."
        assert ngettext(one, many, 30) == "Ce lien est valable 30 minutes et ne sert qu’une fois."
        assert ngettext(one, many, 1_000_000).startswith("Ce lien est valable 1000000 minutes")
    with force_locale("en"):
        assert gettext("Vos ateliers :") == "Your workshops:"


# --- Dates ---

def test_the_first_day_of_the_month_is_the_1er_in_french(app_ctx, make_event):
    # 07:30 UTC is 09:30 in Paris: on the Paris clock, 1 September 2030 is a Sunday.
    event = db.session.get(Event, make_event(starts_at=datetime(2030, 9, 1, 7, 30, tzinfo=UTC),
                                             ends_at=datetime(2030, 9, 2, 15, 0, tzinfo=UTC)))
    with force_locale("fr"):
        assert format_event_date(event.starts_at, event) == "dimanche 1er septembre 2030"
        assert format_event_datetime(event.starts_at, event) == "dimanche 1er septembre 2030 à 09:30"
        assert format_event_date(event.ends_at, event) == "lundi 2 septembre 2030"
        # In the event's zone: 23:30 UTC on 31 August is already 1 September in Paris.
        assert format_event_date(datetime(2030, 8, 31, 23, 30, tzinfo=UTC), event) == "dimanche 1er septembre 2030"
    with force_locale("en"):
        assert format_event_date(event.starts_at, event) == "Sunday, September 1, 2030"


# --- What people read ---

TITLE = "Rencontre régionale ESS"  # the organisers' words are theirs: these need no typography


def _workshop(key, title, start, hours, capacity):
    return dict(key=key, title=title, room="Salle 1", capacity=capacity, starts_at=start + timedelta(hours=hours),
                ends_at=start + timedelta(hours=hours + 1))


@pytest.fixture
def french_world(app, make_event):
    """Events, registrations and offers in every state a participant can see, with organisers'
    texts that need no typography. Returns the paths of the pages to read, in the order to read them."""
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    fields = dict(title=TITLE, description="Une journée pour échanger.", starts_at=start,
                  ends_at=start + timedelta(hours=8))
    open_id = make_event(slug="rencontre", workshops=[_workshop("agro", "Agroécologie", start, 1, 1),
                                                      _workshop("coop", "Coopération", start, 3, 1)], **fields)
    full_id = make_event(slug="complet", capacity=1, **fields)
    make_event(slug="close", registration_closes_at=utcnow() - timedelta(hours=1), **fields)

    anne = person_id(app, open_id, "Anne", workshops=("agro",))  # booked
    denez = person_id(app, open_id, "Denez", workshops=("coop",))
    bleunwenn = person_id(app, open_id, "Bleunwenn", workshops=("agro", "coop"))  # waits for both
    corentin = person_id(app, open_id, "Corentin", confirm=False)
    jos = person_id(app, open_id, "Jos")
    gwen = person_id(app, full_id, "Gwen")
    herve = person_id(app, full_id, "Herve")  # waits for the event
    iwan = person_id(app, full_id, "Iwan")
    with app.test_request_context():
        registrations.cancel_registration(db.session.get(Registration, denez))
        registrations.cancel_registration(db.session.get(Registration, gwen))
        seats.offer_free_seats(open_id)  # the coop seat, to Bleunwenn
        seats.offer_free_seats(full_id)  # the event's seat, to Herve
        admin = make_user("admin@example.org", UserRole.admin)

        def offer(registration_id):
            seat_offer = db.session.scalars(select(SeatOffer).filter_by(registration_id=registration_id)).one()
            return f"/offers/{tokens.offer_token(seat_offer)}"

        confirm = f"/confirm/{tokens.confirm_token(db.session.get(Registration, corentin))}"
        manage = {name: f"/manage/{tokens.manage_token(db.session.get(Registration, reg_id))}"
                  for name, reg_id in (("anne", anne), ("bleunwenn", bleunwenn), ("herve", herve), ("iwan", iwan),
                                       ("jos", jos))}
        offers = {"workshop": offer(bleunwenn), "event": offer(herve)}
    pages = [
        "/", "/events/rencontre", "/events/rencontre/register", "/events/rencontre/register/sent",
        "/events/complet", "/events/complet/register", "/events/close", "/events/close/register", "/privacy",
        confirm, "/confirm/forged-link", manage["anne"], manage["bleunwenn"], manage["herve"], manage["iwan"],
        manage["jos"] + "/cancel", offers["workshop"], offers["event"], "/lost-link", "/no-such-page",
        "/organiser/login", "/organiser/password/forgot",
    ]
    back_office = [
        "/organiser/", f"/organiser/events/{open_id}", f"/organiser/events/{open_id}/edit",
        f"/organiser/events/{open_id}/workshops", f"/organiser/events/{open_id}/workshops/new",
        f"/organiser/events/{full_id}/cancel", f"/organiser/events/{open_id}/copy", f"/organiser/events/{open_id}/team",
        "/organiser/accounts", "/organiser/accounts/new", "/organiser/account/password",
        f"/organiser/events/{open_id}/registrations", f"/organiser/events/{open_id}/registrations/{bleunwenn}",
        f"/organiser/events/{open_id}/registrations/{anne}/edit", f"/organiser/events/{open_id}/registrations/new",
        f"/organiser/events/{open_id}/mails",
    ]
    return dict(pages=pages, back_office=back_office, admin=admin, manage=manage, offers=offers)


def test_french_pages_keep_their_signs_with_their_words(app, client, french_world):
    read = {}
    for path in french_world["pages"]:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        read[path] = response.get_data(as_text=True)
    # Pages that answer a form.
    read["form with errors"] = support.post_registration(client, "rencontre", first_name="", email="pas-une-adresse",
                                                         privacy_consent=None).get_data(as_text=True)
    read["lost link sent"] = submit(client, "/lost-link", email="anne@example.org").get_data(as_text=True)
    manage = french_world["manage"]
    read["cancelled"] = submit(client, manage["jos"] + "/cancel").get_data(as_text=True)
    read["cancelled, again"] = client.get(manage["jos"]).get_data(as_text=True)
    read["offer accepted"] = submit(client, french_world["offers"]["event"], answer="accept").get_data(as_text=True)
    read["workshop offer declined"] = submit(client, french_world["offers"]["workshop"],
                                             answer="decline").get_data(as_text=True)
    with app.app_context():
        logged_in_as(client, french_world["admin"])
    for path in french_world["back_office"]:
        response = client.get(path)
        assert response.status_code == 200, path
        read[path] = response.get_data(as_text=True)

    assert all('<html lang="fr">' in page for page in read.values())
    problems = {name: typography_problems(visible_text(page)) for name, page in read.items()}
    assert {name: found for name, found in problems.items() if found} == {}
    assert "S’inscrire" in visible_text(read["/events/rencontre"])  # the French catalogue was used


def test_french_mails_keep_their_signs_with_their_words(app_ctx, make_event):
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event_id = make_event(title=TITLE, description="Une journée pour échanger.", starts_at=start,
                          ends_at=start + timedelta(hours=8),
                          workshops=[_workshop("agro", "Agroécologie", start, 1, None)])
    registration = person(event_id, "Anne", confirm=False)
    rows = rows_of_every_kind(registration, "typography")
    moved = {"starts_at": (start - timedelta(days=1)).isoformat(),
             "ends_at": (start - timedelta(days=1) + timedelta(hours=8)).isoformat(),
             "venue_name": "Salle des fêtes", "venue_address": "Rennes"}
    rows.append(db.session.get(OutboxMail, outbox.queue_mail(
        "invite_updated", registration.email, "typography:moved", registration=registration,
        payload={"sequence": 2, "previous": moved})))
    db.session.commit()

    problems = {}
    for row in rows:
        message = build_message(row)
        text = message.get_body(("plain",)).get_content()
        html_part = message.get_body(("html",)).get_content()
        assert message["Content-Language"] == "fr"
        found = typography_problems(message["Subject"]) + typography_problems(text) + \
            typography_problems(visible_text(html_part))
        if found:
            problems[row.dedup_key] = found
    assert problems == {}
