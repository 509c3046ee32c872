"""The event pages of the back office: create, edit, publish, unpublish, copy and cancel an event,
add, edit and remove its workshops, from the browser's forms. Every change goes through the rules
of events, so it has the effects of the same change by file import (updated invites, offers of
freed seats, cancellation mails); refusals are listed in the form (422) and change nothing."""
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    Event,
    EventStatus,
    JournalAction,
    JournalEntry,
    OutboxMail,
    Registration,
    UserRole,
    Workshop,
)
from webapp.services import event_files
from webapp.typography import french

from . import support
from .support import PASSWORD, START, logged_in_as, make_user, page_text, person_id

# START (12 June 2030, 07:30 UTC) on the Paris clock, as the forms show it.
START_LOCAL = "2030-06-12T09:30"


class _FormReader(HTMLParser):
    """The values a browser would send for the page's form (inputs, textareas and selects of the
    first form with fields to fill in, not the forms of buttons such as "Se déconnecter")."""

    def __init__(self):
        super().__init__()
        self.values, self._in_form, self._textarea, self._select, self._done = {}, False, None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "novalidate" in attrs and not self._done:  # not the buttons' forms
            self._in_form = True
        elif (self._in_form and tag == "input" and attrs.get("name") and attrs.get("type") != "submit"
              and (attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs)):
            self.values[attrs["name"]] = attrs.get("value") or ""
        elif self._in_form and tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""
        elif self._in_form and tag == "select":
            self._select = attrs["name"]
        elif self._in_form and tag == "option" and "selected" in attrs:
            self.values[self._select] = attrs["value"]

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_values(client, path):
    """The form of the page at `path`, as it is filled in (CSRF token included)."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    reader = _FormReader()
    reader.feed(page.get_data(as_text=True))
    return {name: value.removeprefix("\n") for name, value in reader.values.items()}


def change(client, path, **changes):
    """Send the form of the page at `path` with these fields changed, as a person would."""
    return client.post(path, data=dict(form_values(client, path), **changes))


def new_event_form(**changes):
    values = {"title": "Rencontre régionale", "slug": "rencontre-regionale", "content_language": "fr",
              "description": "", "timezone": "Europe/Paris", "starts_at": START_LOCAL, "ends_at": "2030-06-12T17:30",
              "venue_name": "Espace Anne de Bretagne", "venue_address": "15 rue Martenot, 35000 Rennes",
              "online_url": "", "capacity": "40", "registration_opens_at": "", "registration_closes_at": "",
              "contact_email": "contact@bretagne-solidaire.bzh"}
    return dict(values, **changes)


@pytest.fixture
def admin(app):
    with app.app_context():
        return make_user("admin@example.org", UserRole.admin)


@pytest.fixture
def admin_client(app, admin):
    with app.app_context():
        return logged_in_as(app.test_client(), admin)


@pytest.fixture
def event_id(make_event):
    """A published event on START (09:30-17:30, Paris), 2 seats, one workshop of 1 seat (11:00-12:00)."""
    agro = dict(key="agro", title="Agroécologie", starts_at=START + timedelta(hours=1, minutes=30),
                ends_at=START + timedelta(hours=2, minutes=30), room="Salle 1", capacity=1)
    return make_event(slug="journee", starts_at=START, ends_at=START + timedelta(hours=8), capacity=2,
                      workshops=[agro])


def fetch(app, model, object_id):
    with app.app_context():
        found = db.session.get(model, object_id)
        db.session.expunge(found)
        return found


def journal_actions(app, event_id):
    with app.app_context():
        return db.session.scalars(select(JournalEntry.action).where(JournalEntry.event_id == event_id)
                                  .order_by(JournalEntry.id)).all()


def outbox(app, kind=None):
    """(kind, registration id, payload) of the outbox rows, in order."""
    with app.app_context():
        query = select(OutboxMail).order_by(OutboxMail.id)
        if kind:
            query = query.where(OutboxMail.kind == kind)
        return [(row.kind, row.registration_id, row.payload) for row in db.session.scalars(query)]


def error_summary(response):
    match = re.search(r'<div class="error-summary".*?</div>', page_text(response), re.S)
    assert match, "no error summary"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(0))


# --- Creating -------------------------------------------------------------------------------

def test_an_admin_creates_a_draft_event_with_times_on_its_clock(app, admin_client):
    assert "Créer un événement" in page_text(admin_client.get("/organiser/"))

    response = support.submit(admin_client, "/organiser/events/new", **new_event_form(
        description="Une journée d'échanges.", registration_closes_at="2030-06-11T23:59", content_language="en"))

    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(select(Event)).one()
        assert response.headers["Location"] == f"/organiser/events/{event.id}"
        assert (event.slug, event.status, event.capacity, event.description, event.content_language) == (
            "rencontre-regionale", EventStatus.draft, 40, "Une journée d'échanges.", "en")
        assert event.starts_at == START  # 09:30 in Paris, summer time
        assert event.registration_closes_at == datetime(2030, 6, 11, 21, 59, tzinfo=UTC)
        assert event.organisers == []  # admins see every event: nobody is assigned
    assert journal_actions(app, event.id) == [JournalAction.event_created]
    home = page_text(admin_client.get(response.headers["Location"]))
    assert "L'événement est créé, en brouillon" in home and "Événement créé (brouillon)." in home


def test_only_admins_are_offered_to_create_an_event(app, make_event):
    with app.app_context():
        client = logged_in_as(app.test_client(), make_user("anne@example.org", events=[make_event()]))

    assert "Créer un événement" not in page_text(client.get("/organiser/"))
    assert client.get("/organiser/events/new").status_code == 404


@pytest.mark.parametrize("changes, message", [
    ({"ends_at": "2030-06-12T08:00"}, "Fin : La fin doit être après le début."),
    ({"registration_opens_at": "2030-06-10T10:00", "registration_closes_at": "2030-06-01T10:00"},
     "Clôture des inscriptions : La clôture doit être après l'ouverture."),
    ({"slug": "Journée 2030"}, "Adresse de la page (slug) : Seulement des minuscules sans accent"),
    ({"slug": ""}, "Adresse de la page (slug) : Indiquez l'adresse de la page."),
    ({"title": "Titre\r\nBcc: x@example.org"}, "Titre : Ce champ ne peut pas contenir de retour à la ligne."),
    ({"title": "x" * 201}, "Titre : 200 caractères au plus."),
    ({"timezone": "Europe/Rennes"}, "Fuseau horaire : Fuseau horaire inconnu"),
    ({"timezone": "../../etc/passwd"}, "Fuseau horaire : Fuseau horaire inconnu"),
    ({"starts_at": "demain matin"}, "Début : Saisissez une date et une heure valides."),
    ({"starts_at": "2030-02-30T09:00"}, "Début : Saisissez une date et une heure valides."),
    ({"capacity": "-1"}, "Nombre de places : Indiquez 0 ou plus."),
    ({"capacity": "beaucoup"}, "Nombre de places :"),
    ({"contact_email": "contact"}, "Adresse de contact : Saisissez une adresse électronique valide"),
    ({"online_url": "javascript:alert(1)"}, "Adresse de la réunion en ligne : Saisissez une adresse web complète"),
    ({"description": "x" * 20_001}, "Présentation : 20000 caractères au plus."),
    ({"content_language": "br"}, "Langue des textes :"),
])
def test_invalid_input_is_listed_and_creates_nothing(app, admin_client, changes, message):
    response = support.submit(admin_client, "/organiser/events/new", **new_event_form(**changes))

    assert response.status_code == 422
    assert message in error_summary(response)
    assert page_text(response).count("<title>Erreur :") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_a_refusal_of_the_rules_is_listed_in_the_form(app, admin_client, make_event):
    make_event(slug="rencontre-regionale")

    response = support.submit(admin_client, "/organiser/events/new", **new_event_form())

    assert response.status_code == 422
    assert "« slug » : un autre événement utilise déjà « rencontre-regionale »." in error_summary(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_nul_bytes_and_files_are_refused_without_an_error_of_ours(app, admin_client):
    token = support.csrf_token(admin_client, "/organiser/events/new")

    nul = admin_client.post("/organiser/events/new", data=dict(new_event_form(title="Jour\x00née"), csrf_token=token))
    file_part = admin_client.post("/organiser/events/new", content_type="multipart/form-data", data=dict(
        new_event_form(), csrf_token=token, description=(support.ROOT / "README.md").open("rb")))

    assert nul.status_code == 400
    assert file_part.status_code == 422
    assert "Présentation : Ce champ attend du texte, pas un fichier." in error_summary(file_part)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_the_preview_shows_the_description_as_the_public_page_will_and_saves_nothing(app, admin_client):
    description = "Premier paragraphe, **important**.\n\n- un point\n- un autre\n\nFin <script>alert(1)</script>"

    response = admin_client.post("/organiser/events/new", data=dict(
        new_event_form(description=description, title="", content_language="en"), preview="1",
        csrf_token=support.csrf_token(admin_client, "/organiser/events/new")))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    preview = re.search(r'<section class="preview" id="description-preview".*?</section>', page, re.S).group(0)
    assert "<p>Premier paragraphe, <strong>important</strong>.</p>" in preview
    assert "<li>un point</li>" in preview
    assert '<div lang="en">' in preview  # the text's language, on a French page
    assert "<script>" not in preview  # dropped, never markup
    assert "error-summary" not in page  # a preview is not a submission
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


# --- Editing --------------------------------------------------------------------------------

def test_the_edit_form_shows_the_event_on_its_clock_and_an_unchanged_form_changes_nothing(
        app, admin_client, make_event):
    # Imported events may have seconds: a form sent as it is must not move them by those seconds.
    event_id = make_event(starts_at=START + timedelta(seconds=42), ends_at=START + timedelta(hours=8))
    person_id(app, event_id, "Anne")
    before = outbox(app)

    values = form_values(admin_client, f"/organiser/events/{event_id}/edit")
    response = admin_client.post(f"/organiser/events/{event_id}/edit", data=values)

    assert (values["starts_at"], values["ends_at"], values["timezone"], values["content_language"]) == (
        START_LOCAL, "2030-06-12T17:30", "Europe/Paris", "fr")
    assert response.status_code == 302
    assert fetch(app, Event, event_id).starts_at == START + timedelta(seconds=42)
    assert outbox(app) == before
    assert journal_actions(app, event_id) == []


def test_moving_the_event_sends_the_same_updated_invites_as_an_import(app, admin_client, make_event):
    """The same move, once from the form and once by an event file: the same mails are queued."""
    by_form, by_file = (make_event(slug=slug, starts_at=START, ends_at=START + timedelta(hours=8), capacity=1)
                        for slug in ("par-formulaire", "par-fichier"))
    for event_id in (by_form, by_file):
        person_id(app, event_id, "Anne")
        person_id(app, event_id, "Bleunwenn")  # waiting: no invite
    before = len(outbox(app))

    response = change(admin_client, f"/organiser/events/{by_form}/edit", starts_at="2030-06-13T09:30",
                      ends_at="2030-06-13T17:30", venue_name="Le Diapason")
    with app.test_request_context():
        event = db.session.get(Event, by_file)
        data = {name: getattr(event, name) for name in ("slug", "title", "description", "contact_email",
                                                        "venue_address", "capacity")}
        event_files.import_event(dict(data, status="published", venue_name="Le Diapason",
                                      starts_at="2030-06-13T09:30:00", ends_at="2030-06-13T17:30:00"))

    assert response.status_code == 302
    rows = outbox(app)[before:]
    with app.app_context():
        owners = {r.id: (r.event_id, r.first_name) for r in db.session.scalars(select(Registration))}
    mails = {event_id: [(kind, owners[registration][1], payload) for kind, registration, payload in rows
                        if owners[registration][0] == event_id] for event_id in (by_form, by_file)}
    assert mails[by_form] == mails[by_file]
    [(kind, name, payload)] = mails[by_form]
    assert (kind, name, payload["sequence"]) == ("invite_updated", "Anne", 1)
    assert payload["previous"]["venue_name"] == "Espace Anne de Bretagne"
    assert fetch(app, Event, by_form).revision == fetch(app, Event, by_file).revision == 1
    assert journal_actions(app, by_form) == [JournalAction.event_updated]
    home = page_text(admin_client.get(f"/organiser/events/{by_form}"))
    assert "Informations modifiées : début, fin, lieu." in home
    assert "Details changed: start, end, venue." in page_text(admin_client.get(f"/organiser/events/{by_form}?lang=en"))


def test_an_event_with_workshops_moves_to_another_day_with_them(app, admin_client, event_id):
    person_id(app, event_id, "Anne", workshops=("agro",))
    path, next_day = f"/organiser/events/{event_id}/edit", dict(starts_at="2030-06-13T09:30",
                                                                ends_at="2030-06-13T17:30")
    assert "Décaler aussi les ateliers" in page_text(admin_client.get(path))

    # Without the box ticked, the workshop would stay on the old day: refused, and the box explains.
    kept = change(admin_client, path, **next_day)

    assert kept.status_code == 422
    assert "L'atelier « agro » doit avoir lieu pendant l'événement." in error_summary(kept)
    assert fetch(app, Event, event_id).starts_at == START

    moved = change(admin_client, path, move_workshops="y", **next_day)

    assert moved.status_code == 302
    assert fetch(app, Event, event_id).starts_at == START + timedelta(days=1)
    with app.app_context():
        [agro] = db.session.scalars(select(Workshop).where(Workshop.event_id == event_id)).all()
        assert (agro.starts_at, agro.ends_at, agro.seats_taken) == (
            START + timedelta(days=1, hours=1, minutes=30), START + timedelta(days=1, hours=2, minutes=30), 1)
    [(kind, _, payload)] = outbox(app, "invite_updated")
    assert payload["sequence"] == 1
    assert "Informations modifiées : début, fin, horaires des ateliers." in page_text(
        admin_client.get(f"/organiser/events/{event_id}"))


def test_a_raised_capacity_is_offered_to_the_person_waiting(app, admin_client, event_id, worker, smtp_server):
    person_id(app, event_id, "Anne")
    person_id(app, event_id, "Bleunwenn")
    person_id(app, event_id, "Corentin")  # waiting
    smtp_server.wait_for("corentin@example.org", kind="waiting_list")

    response = change(admin_client, f"/organiser/events/{event_id}/edit", capacity="3")

    assert response.status_code == 302
    [offer] = smtp_server.wait_for("corentin@example.org", kind="seat_offer")
    assert "Journée régionale" in support.mail_text(offer)
    with app.app_context():
        support.assert_counters_match_rows(event_id)


def test_a_capacity_below_the_seats_taken_is_refused_and_says_why(app, admin_client, event_id):
    person_id(app, event_id, "Anne")
    person_id(app, event_id, "Bleunwenn")
    edit = page_text(admin_client.get(f"/organiser/events/{event_id}/edit"))
    assert "Places déjà prises : 2 ; le nombre de places ne peut pas descendre en dessous." in edit

    response = change(admin_client, f"/organiser/events/{event_id}/edit", capacity="1", title="Nouveau titre")

    assert response.status_code == 422
    assert ("La capacité de l'événement (1) est inférieure au nombre de places déjà prises (2)."
            in error_summary(response))
    event = fetch(app, Event, event_id)
    assert (event.capacity, event.title) == (2, "Journée régionale : ESS et solidarité internationale")
    assert journal_actions(app, event_id) == []  # the entry went with the refused change


def test_the_edit_page_speaks_english(app, admin_client, event_id):
    page = page_text(admin_client.get(f"/organiser/events/{event_id}/edit?lang=en"))

    assert "Time zone" in page and "Registrations close" in page and "Preview the description" in page


# --- Publishing -----------------------------------------------------------------------------

def test_publish_then_unpublish_shows_then_hides_the_public_page(app, admin_client, make_event):
    draft = make_event(slug="brouillon", status=EventStatus.draft)
    assert admin_client.get("/events/brouillon").status_code == 404
    home = f"/organiser/events/{draft}"
    token = support.csrf_token(admin_client, home)

    assert admin_client.post(f"{home}/publish", data={"csrf_token": token}).status_code == 302
    assert admin_client.get("/events/brouillon").status_code == 200
    assert "L'événement est publié" in page_text(admin_client.get(home))

    assert admin_client.post(f"{home}/unpublish", data={"csrf_token": token}).status_code == 302
    assert admin_client.get("/events/brouillon").status_code == 404
    assert fetch(app, Event, draft).status == EventStatus.draft
    assert journal_actions(app, draft) == [JournalAction.event_published, JournalAction.event_unpublished]


def test_an_event_with_registrations_cannot_go_back_to_draft(app, admin_client, event_id):
    person_id(app, event_id, "Anne", confirm=False)  # even an address still to confirm
    home = f"/organiser/events/{event_id}"
    assert "Repasser en brouillon" not in page_text(admin_client.get(home))  # no button, but a POST anyway:

    response = admin_client.post(f"{home}/unpublish", data={"csrf_token": support.csrf_token(admin_client, home)})

    assert response.status_code == 302
    assert ("L'événement « journee » a des inscriptions (1) : il ne peut pas redevenir un brouillon. "
            "Annulez-le pour prévenir les personnes inscrites.") in page_text(admin_client.get(home))
    assert fetch(app, Event, event_id).status == EventStatus.published
    assert journal_actions(app, event_id) == []


# --- Cancelling -----------------------------------------------------------------------------

def test_cancelling_says_how_many_people_will_be_mailed_then_mails_them(app, admin_client, event_id):
    anne = person_id(app, event_id, "Anne")
    person_id(app, event_id, "Bleunwenn")
    waiting = person_id(app, event_id, "Corentin")
    pending = person_id(app, event_id, "Denez", confirm=False)
    with app.test_request_context():
        from webapp.services import registrations
        registrations.cancel_registration(db.session.get(Registration, person_id(app, event_id, "Erwan",
                                                                                  confirm=False)))
    path = f"/organiser/events/{event_id}/cancel"

    confirmation = page_text(admin_client.get(path))
    assert "Personnes qui seront prévenues par courriel : 4." in confirmation
    assert fetch(app, Event, event_id).status == EventStatus.published  # nothing done yet

    response = admin_client.post(path, data={"csrf_token": support.csrf_token(admin_client, path)})

    assert response.status_code == 302
    assert fetch(app, Event, event_id).status == EventStatus.cancelled
    cancelled = {registration: payload["with_invite"] for _, registration, payload in outbox(app, "event_cancelled")}
    assert len(cancelled) == 4 and cancelled[anne] and not cancelled[waiting] and not cancelled[pending]
    assert journal_actions(app, event_id) == [JournalAction.event_cancelled]
    home = page_text(admin_client.get(f"/organiser/events/{event_id}"))
    assert "Événement annulé ; inscriptions prévenues par courriel : 4." in home
    assert f'href="{path}"' not in home and "Cet événement est annulé." in page_text(admin_client.get(path))


# --- Workshops ------------------------------------------------------------------------------

def test_workshops_are_added_edited_and_removed(app, admin_client, event_id):
    workshops = f"/organiser/events/{event_id}/workshops"
    listing = page_text(admin_client.get(workshops))
    assert "Agroécologie" in listing and "0 sur 1" in listing

    added = support.submit(admin_client, f"{workshops}/new", key="fresque", title="Fresque du climat",
                           description="", starts_at="2030-06-12T14:00", ends_at="2030-06-12T15:30",
                           room="Salle 2", capacity="")
    assert (added.status_code, added.headers["Location"]) == (302, workshops)
    with app.app_context():
        fresque = db.session.scalars(select(Workshop).where(Workshop.key == "fresque")).one()
        assert (fresque.starts_at, fresque.capacity, fresque.room) == (
            datetime(2030, 6, 12, 12, 0, tzinfo=UTC), None, "Salle 2")

    edited = change(admin_client, f"{workshops}/{fresque.id}/edit", room="Salle 3", capacity="12")
    assert edited.status_code == 302
    assert (fetch(app, Workshop, fresque.id).room, fetch(app, Workshop, fresque.id).capacity) == ("Salle 3", 12)

    confirmation = page_text(admin_client.get(f"{workshops}/{fresque.id}/remove"))
    assert "Personne n'a réservé cet atelier : personne ne sera prévenu par courriel." in confirmation
    removed = admin_client.post(f"{workshops}/{fresque.id}/remove",
                                data={"csrf_token": support.csrf_token(admin_client, workshops), "people": "0"})
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.get(Workshop, fresque.id) is None
    assert journal_actions(app, event_id) == [JournalAction.workshop_added, JournalAction.workshop_updated,
                                              JournalAction.workshop_removed]
    journal = page_text(admin_client.get(f"/organiser/events/{event_id}"))
    assert "Atelier fresque modifié : salle, nombre de places." in journal


def test_a_workshop_must_take_place_during_its_event(app, admin_client, event_id):
    response = support.submit(admin_client, f"/organiser/events/{event_id}/workshops/new", key="tard",
                              title="Trop tard", starts_at="2030-06-12T18:00", ends_at="2030-06-12T19:00")

    assert response.status_code == 422
    assert "L'atelier « tard » doit avoir lieu pendant l'événement." in error_summary(response)
    with app.app_context():
        assert db.session.scalars(select(Workshop.key)).all() == ["agro"]


def test_a_workshop_key_is_given_once(app, admin_client, event_id):
    response = support.submit(admin_client, f"/organiser/events/{event_id}/workshops/new", key="agro",
                              title="Autre", starts_at="2030-06-12T14:00", ends_at="2030-06-12T15:00")

    assert response.status_code == 422
    assert "Deux ateliers ont la même clé « agro »." in error_summary(response)
    with app.app_context():
        assert db.session.scalars(select(Workshop.title)).all() == ["Agroécologie"]


def test_a_workshop_capacity_below_its_seats_taken_is_refused(app, admin_client, event_id):
    with app.app_context():
        agro = db.session.scalars(select(Workshop.id)).one()
    person_id(app, event_id, "Anne", workshops=["agro"])

    response = change(admin_client, f"/organiser/events/{event_id}/workshops/{agro}/edit", capacity="0")

    assert response.status_code == 422
    assert ("La capacité de l'atelier « agro » (0) est inférieure au nombre de places déjà prises (1)."
            in error_summary(response))
    assert fetch(app, Workshop, agro).capacity == 1


def test_removing_a_booked_workshop_says_how_many_people_are_mailed_and_needs_that_confirmation(app, admin_client,
                                                                                               event_id):
    with app.app_context():
        agro = db.session.scalars(select(Workshop.id)).one()
    anne = person_id(app, event_id, "Anne", workshops=["agro"])
    bleunwenn = person_id(app, event_id, "Bleunwenn", workshops=["agro"])  # waits for agro's only seat
    corentin = person_id(app, event_id, "Corentin", workshops=["agro"], confirm=False)
    path = f"/organiser/events/{event_id}/workshops/{agro}/remove"
    mails_before = len(outbox(app))

    page = page_text(admin_client.get(path))
    assert "Personnes qui seront prévenues par courriel : 3." in page
    assert "Retirer l'atelier et prévenir les personnes inscrites (3)</button>" in page
    assert re.search(r'<input[^>]*name="people"[^>]*value="3"', admin_client.get(path).get_data(as_text=True))

    # Without the number the page showed, or with another one, nothing is removed.
    token = support.csrf_token(admin_client, path)
    for sent in ({}, {"people": "2"}):
        refused = admin_client.post(path, data={"csrf_token": token, **sent})
        assert refused.status_code == 422
        assert "Le nombre de personnes à prévenir a changé : vérifiez-le avant de confirmer." in error_summary(refused)
        assert "Personnes qui seront prévenues par courriel : 3." in page_text(refused)
    assert fetch(app, Workshop, agro).key == "agro"
    assert (journal_actions(app, event_id), len(outbox(app))) == ([], mails_before)

    removed = admin_client.post(path, data={"csrf_token": token, "people": "3"})

    assert (removed.status_code, removed.headers["Location"]) == (302, f"/organiser/events/{event_id}/workshops")
    assert "L'atelier agro est retiré. Personnes prévenues par courriel : 3." in page_text(
        admin_client.get(removed.headers["Location"]))
    with app.app_context():
        assert db.session.get(Workshop, agro) is None
        support.assert_counters_match_rows(event_id)
    mailed = {registration: payload["with_invite"] for _, registration, payload in outbox(app, "workshop_removed")}
    assert mailed == {anne: True, bleunwenn: True, corentin: False}
    assert journal_actions(app, event_id) == [JournalAction.workshop_removed_booked]
    assert ("Atelier retiré : agro ; ses inscriptions sont annulées et les personnes prévenues par courriel : 3."
            in page_text(admin_client.get(f"/organiser/events/{event_id}")))


# --- Copying --------------------------------------------------------------------------------

def test_a_copy_is_a_draft_with_the_workshops_window_and_team_but_no_registrations(app, make_event):
    source = make_event(slug="journee-2030", starts_at=START, ends_at=START + timedelta(hours=8),
                        registration_closes_at=START - timedelta(days=1), capacity=10,
                        workshops=[dict(key="agro", title="Agroécologie", starts_at=START + timedelta(hours=5),
                                        ends_at=START + timedelta(hours=6), capacity=5)])
    person_id(app, source, "Anne", workshops=["agro"])
    with app.app_context():
        organiser = make_user("anne.orga@example.org", events=[source])
        client = logged_in_as(app.test_client(), organiser)
    path = f"/organiser/events/{source}/copy"
    offered = form_values(client, path)
    assert (offered["title"], offered["starts_at"], offered["ends_at"]) == (
        "Journée régionale : ESS et solidarité internationale", "2031-06-12T09:30", "2031-06-12T17:30")

    response = client.post(path, data=dict(offered, title="Journée 2031", slug="journee-2031",
                                           starts_at="2031-06-11T09:30", ends_at="2031-06-11T17:30"))

    assert response.status_code == 302
    with app.app_context():
        copy = db.session.scalars(select(Event).where(Event.slug == "journee-2031")).one()
        assert response.headers["Location"] == f"/organiser/events/{copy.id}"
        assert (copy.title, copy.status, copy.capacity, copy.seats_taken) == ("Journée 2031", EventStatus.draft, 10, 0)
        assert copy.starts_at == START + timedelta(days=364)
        assert copy.registration_closes_at == copy.starts_at - timedelta(days=1)
        [agro] = copy.workshops
        assert (agro.key, agro.starts_at, agro.capacity, agro.seats_taken) == (
            "agro", copy.starts_at + timedelta(hours=5), 5, 0)
        assert [user.email for user in copy.organisers] == ["anne.orga@example.org"]
        assert db.session.scalar(select(func.count()).select_from(Registration)
                                 .where(Registration.event_id == copy.id)) == 0
    assert journal_actions(app, copy.id) == [JournalAction.organiser_assigned, JournalAction.event_copied]
    assert journal_actions(app, source) == [JournalAction.event_copied_to]
    assert "Journée 2031" in page_text(client.get("/organiser/"))


def test_a_copy_needs_its_own_address(app, admin_client, event_id):
    response = change(admin_client, f"/organiser/events/{event_id}/copy", slug="journee")

    assert response.status_code == 422
    assert "« slug » : un autre événement utilise déjà « journee »." in error_summary(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1


# --- In a browser ---------------------------------------------------------------------------

def test_create_an_event_with_a_workshop_publish_it_and_see_it_public(app, page, live_server):
    with app.app_context():
        make_user("admin@example.org", UserRole.admin)
    page.goto(f"{live_server}/organiser/")
    page.get_by_label("Adresse électronique").fill("admin@example.org")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe", exact=True).press("Enter")

    page.get_by_role("link", name="Créer un événement").click()
    page.get_by_label("Titre").fill("Rencontre des ateliers")
    page.get_by_label("Adresse de la page (slug)").fill("rencontre-ateliers")
    page.get_by_label("Présentation").fill("Une journée pour **se rencontrer**.")
    page.get_by_role("button", name="Prévisualiser la présentation").click()
    expect(page.get_by_role("region", name="Aperçu de la présentation")).to_contain_text("se rencontrer")
    page.get_by_label("Début").fill("2030-06-12T09:30")
    page.get_by_label("Fin", exact=True).fill("2030-06-12T12:30")  # the browser's own date-time input
    page.get_by_label("Adresse de contact").fill("contact@bretagne-solidaire.bzh")
    page.get_by_role("button", name=french("Créer l'événement")).click()
    expect(page.get_by_role("status")).to_contain_text(french("L'événement est créé, en brouillon"))

    event_pages = page.get_by_role("navigation", name=french("Pages de l'événement"))
    event_pages.get_by_role("link", name="Ateliers").click()
    page.get_by_role("link", name="Ajouter un atelier").click()
    page.get_by_label("Titre").fill("Fresque du climat")
    page.get_by_label("Clé").fill("fresque")
    page.get_by_label("Début").fill("2030-06-12T10:00")
    page.get_by_label("Fin", exact=True).fill("2030-06-12T11:30")
    page.get_by_label("Nombre de places").fill("12")
    page.get_by_role("button", name=french("Ajouter l'atelier")).click()
    expect(page.get_by_role("status")).to_contain_text(french("L'atelier est ajouté."))

    event_pages.get_by_role("link", name=french("Vue d'ensemble")).click()
    page.get_by_role("button", name="Publier").focus()
    page.keyboard.press("Enter")  # the keyboard works the buttons
    expect(page.get_by_role("status")).to_contain_text(french("L'événement est publié"))

    page.goto(f"{live_server}/events/rencontre-ateliers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rencontre des ateliers")
    expect(page.get_by_role("heading", name="Fresque du climat")).to_be_visible()
    expect(page.get_by_text("mercredi 12 juin 2030, de 09:30 à 12:30")).to_be_visible()
    assert [url for url in page.requested if not url.startswith(live_server + "/")] == []
