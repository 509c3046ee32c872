"""The check-in page on a phone, in Chromium (Playwright) against the app under gunicorn: a code read
by the scanner, a search and a tap, the warning for a cancelled registration, an undo, and the
event's dashboard (present people, attendance rate, families of actors) following them; a check-in
made while the server is down, kept pending by the page and stored once the server is back; and the
vendored QR decoder on QR codes made by segno."""
from datetime import timedelta

import pytest
import segno
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import CheckIn, Event, Registration, UserRole
from webapp.models.base import utcnow
from webapp.services import registrations

from . import support

STATIC = support.ROOT / "webapp" / "static"
PHONE = {"width": 390, "height": 844}
SCRIPT_READY = "typeof window.EmgavCheckin?.checkInCode === 'function'"


def qr_data_url(text, **options):
    """A PNG of the QR code of `text`, made by segno, as a data: URL."""
    return segno.make_qr(text).png_data_uri(**options)


@pytest.fixture
def decoder(browser):
    """A blank tab with the vendored decoder and the page's script (its decoding part needs no page)."""
    context = browser.new_context()
    tab = context.new_page()
    tab.set_content("<!doctype html><title>decoder</title>")
    tab.add_script_tag(path=str(STATIC / "vendor" / "zxing-library" / "zxing.min.js"))
    tab.add_script_tag(path=str(STATIC / "checkin.js"))
    yield tab
    context.close()


@pytest.mark.parametrize("options", [dict(scale=4), dict(scale=10, border=8, dark="#003d36", light="#f3f5f4"),
                                     dict(scale=2, border=4)], ids=["plain", "coloured", "small"])
def test_the_vendored_decoder_reads_a_qr_code_made_by_segno(decoder, options):
    code = "K7XM3PQ9HRT2"

    decoded = decoder.evaluate("url => EmgavCheckin.decodeImage(url)", qr_data_url(code, **options))

    assert decoded == code


def test_the_decoder_finds_nothing_in_an_image_without_a_code(decoder):
    blank = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/x8AAwMCAO"
             "+ip1sAAAAASUVORK5CYII=")
    assert decoder.evaluate("url => EmgavCheckin.decodeImage(url)", blank) is None


def phone_tab(browser, app, base_url, event_id):
    """A phone-sized tab of a browser in French, logged in as the event's organiser."""
    with app.app_context():
        user_id = support.make_user(f"accueil-{event_id}@example.org", UserRole.organiser, events=[event_id])
        client = support.logged_in_as(app.test_client(), user_id)
    cookie = client.get_cookie("session")
    context = browser.new_context(locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    tab = context.new_page()
    tab.requested = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    return tab


def scan(tab, code):
    """What the camera scanner does with a code it has read."""
    tab.wait_for_function(SCRIPT_READY)
    tab.evaluate("code => { EmgavCheckin.checkInCode(code); }", code)


def checked_in(app):
    with app.app_context():
        return sorted(db.session.scalars(select(Registration.first_name).join(CheckIn)).all())


def dashboard(tab, base_url, event_id):
    """The event's dashboard as the page shows it: its counts (« Personnes présentes : 1 »…), its
    attendance table and its table of the families of actors, as {first cell: [other cells]}."""
    tab.goto(f"{base_url}/organiser/events/{event_id}/dashboard")

    def table(chart):
        cells = tab.locator(f"section[aria-labelledby=chart-{chart}] table").evaluate(
            "table => [...table.tBodies[0].rows].map(row => [...row.cells].map(cell => cell.textContent.trim()))")
        return {row[0]: [" ".join(cell.split()) for cell in row[1:]] for row in cells}

    counts = [" ".join(item.split()) for item in tab.locator("ul.counts li").all_text_contents()]
    return counts, table("attendance"), table("mix")


def mix(ess=(0, 0, 0), collectivite=(0, 0, 0)):
    """The families of actors' table expected: (registered, with a seat, present) per family, the
    others at zero (the cancelled person, of a third family, is counted nowhere)."""
    rows = {label: ["0", "0", "0"] for label in ("association de solidarité internationale", "structure de l’ESS",
                                                  "collectivité ou institution", "université ou recherche",
                                                  "organisation paysanne", "entreprise", "à titre personnel", "autre")}
    rows["structure de l’ESS"] = [str(n) for n in ess]
    rows["collectivité ou institution"] = [str(n) for n in collectivite]
    return rows


def test_welcome_people_at_the_door_on_a_phone(app, browser, live_server, make_event):
    event_id = make_event(starts_at=support.START, ends_at=support.START + timedelta(hours=8))
    families = {"Anne": "ess", "Yann": "collectivite", "Loeiz": "asi"}
    people = {name: support.person_id(app, event_id, name, organisation=f"Structure de {name}", actor_type=family)
              for name, family in families.items()}
    with app.test_request_context():
        anne = db.session.get(Registration, people["Anne"])
        code = anne.checkin_code
        registrations.cancel_registration(db.session.get(Registration, people["Loeiz"]))
        # The day is today and has just ended (people are still being checked in from the door's
        # list): the dashboard shows the attendance rate too.
        event = db.session.get(Event, event_id)
        event.starts_at, event.ends_at = utcnow() - timedelta(hours=8), utcnow() - timedelta(minutes=5)
        db.session.commit()
        title = event.title
    tab = phone_tab(browser, app, live_server, event_id)

    # Before the door: two people with a seat, nobody present.
    counts, attendance, families_table = dashboard(tab, live_server, event_id)
    assert counts == ["Personnes inscrites : 2", "Places réservées : 2", "Personnes présentes : 0"]
    assert attendance == {title: ["2", "0", "0 %"]}
    assert families_table == mix(ess=(1, 1, 0), collectivite=(1, 1, 0))

    tab.goto(f"{live_server}/organiser/events/{event_id}/checkin")

    # Anne's QR code is read: she is checked in at once, and the page says so.
    scan(tab, code)
    result = tab.locator("[data-result]")
    expect(result.get_by_role("heading")).to_have_text("Anne Le Goff")
    expect(result).to_contain_text("Arrivée enregistrée : Anne Le Goff.")
    expect(result).to_contain_text("Structure de Anne")
    expect(tab.locator("[data-queue-list] li")).to_have_text("Anne Le Goff : enregistrée")

    # Yann is searched by name, tapped, then checked in with the card's button.
    tab.get_by_label("Nom ou structure").fill("yann")
    tab.get_by_role("button", name="Chercher").tap()
    tab.get_by_role("link", name="Yann Le Goff").tap()
    card = tab.locator(".checkin-card")
    expect(card.get_by_role("heading")).to_have_text("Yann Le Goff")
    card.get_by_role("button", name="Enregistrer l’arrivée").tap()
    expect(card.locator(".checkin-warnings")).to_contain_text("Arrivée déjà enregistrée le")
    expect(tab.locator(".checkin-count")).to_have_text("2 arrivées enregistrées")

    # Both are present on the dashboard, each in their family of actors.
    counts, attendance, families_table = dashboard(tab, live_server, event_id)
    assert counts[2] == "Personnes présentes : 2"
    assert attendance == {title: ["2", "2", "100 %"]}
    assert families_table == mix(ess=(1, 1, 1), collectivite=(1, 1, 1))
    tab.goto(f"{live_server}/organiser/events/{event_id}/checkin")

    # Loeiz cancelled: the card warns, and offers no check-in.
    tab.get_by_label("Nom ou structure").fill("loeiz")
    tab.get_by_role("button", name="Chercher").tap()
    tab.get_by_role("link", name="Loeiz Le Goff").tap()
    expect(card.locator(".checkin-warnings")).to_contain_text("Attention : Inscription annulée le")
    expect(card.get_by_role("button", name="Enregistrer l’arrivée")).to_have_count(0)

    # Yann was checked in by mistake: undone.
    tab.get_by_label("Nom ou structure").fill("yann")
    tab.get_by_role("button", name="Chercher").tap()
    tab.get_by_role("link", name="Yann Le Goff").tap()
    card.get_by_role("button", name="Annuler l’arrivée").tap()
    expect(tab.locator(".flash")).to_have_text("Arrivée annulée : Yann Le Goff.")

    assert checked_in(app) == ["Anne"]

    # Yann's arrival is gone from the dashboard: one present of two, from the ESS.
    counts, attendance, families_table = dashboard(tab, live_server, event_id)
    assert counts == ["Personnes inscrites : 2", "Places réservées : 2", "Personnes présentes : 1"]
    assert attendance == {title: ["2", "1", "50 %"]}
    assert families_table == mix(ess=(1, 1, 1), collectivite=(1, 1, 0))
    foreign = [url for url in tab.requested if not url.startswith(live_server + "/")]
    assert tab.requested and not foreign, foreign
    tab.context.close()


def test_a_check_in_made_while_the_server_is_down_is_stored_once_it_is_back(app, browser, base_env, make_event):
    event_id = make_event(starts_at=support.START, ends_at=support.START + timedelta(hours=8))
    anne = support.person_id(app, event_id, "Anne")
    with app.app_context():
        code = db.session.get(Registration, anne).checkin_code
    server, base_url = support.start_gunicorn(base_env, workers=1)
    port = int(base_url.rsplit(":", 1)[1])
    try:
        tab = phone_tab(browser, app, base_url, event_id)
        tab.goto(f"{base_url}/organiser/events/{event_id}/checkin")
        tab.wait_for_function(SCRIPT_READY)
        server.stop()

        scan(tab, code)
        item = tab.locator("[data-queue-list] li")
        expect(item).to_have_attribute("data-state", "pending")
        expect(item).to_contain_text("en attente")
        assert checked_in(app) == []

        server, _ = support.start_gunicorn(base_env, workers=1, port=port)
        # Retried by the page on its own (every few seconds, and when the browser is back online).
        expect(item).to_have_attribute("data-state", "stored", timeout=30_000)
        expect(item).to_have_text("Anne Le Goff : enregistrée")
        assert checked_in(app) == ["Anne"]
        # Still one arrival, and what the page keeps survives a reload.
        tab.reload()
        expect(tab.locator("[data-queue-list] li")).to_have_text("Anne Le Goff : enregistrée")
        expect(tab.locator(".checkin-count")).to_have_text("1 arrivée enregistrée")
        tab.context.close()
    finally:
        server.stop()


def test_the_attendance_sheet_prints_alone_with_a_line_to_sign_per_person(app, browser, live_server, make_event):
    event_id = make_event(starts_at=support.START, ends_at=support.START + timedelta(hours=8))
    for name in ("Yann", "Anne"):
        support.person_id(app, event_id, name, organisation=f"Structure de {name}")
    tab = phone_tab(browser, app, live_server, event_id)
    tab.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    tab.goto(f"{live_server}/organiser/events/{event_id}/attendance")

    tab.emulate_media(media="print")

    for hidden in (".site-header", ".event-nav", ".site-footer", ".no-print"):
        expect(tab.locator(hidden)).to_be_hidden()
    expect(tab.get_by_role("columnheader", name="Signature")).to_be_visible()
    expect(tab.locator(".attendance-sheet tbody tr")).to_have_count(2)
    expect(tab.locator(".attendance-sheet tbody tr").first).to_contain_text("LE GOFF Anne")
    assert tab.locator(".attendance-sheet td.signature").first.evaluate("cell => cell.offsetHeight") >= 30
    tab.context.close()
