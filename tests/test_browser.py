"""The registration form in a real browser (Debian's Chromium driven by Playwright) against the
app under gunicorn: keyboard only, labels found by their text, errors announced and linked, and
not one request to another host."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Registration
from webapp.typography import french

from .support import plain

# Texts as the French pages print them (no-break spaces, typographic apostrophes).
CONSENT = french("J'accepte que mes données soient utilisées pour gérer mon inscription à cet événement.")
ACTOR_TYPE = french("À quel titre venez-vous ?")


def assert_no_request_to_other_hosts(page, live_server):
    assert page.requested, "the page made no request at all"
    foreign = [url for url in page.requested if not url.startswith(live_server + "/")]
    assert not foreign, f"requests to other hosts: {foreign}"


def focused_id(page):
    return page.evaluate("document.activeElement.id")


def test_register_with_the_keyboard_only(app, page, live_server, event_slug):
    page.goto(f"{live_server}/events/{event_slug}")

    # The skip link comes first, then the way to the form.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.get_by_role("link", name=french("S'inscrire")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(french("S'inscrire"))

    page.get_by_label("Prénom").focus()
    page.keyboard.type("Maëlle")
    # Focus is visible.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    for expected_id, typed in [("last_name", "Kerjean"), ("email", "maelle@example.org"),
                               ("organisation", "Réseau Bretagne Solidaire")]:
        page.keyboard.press("Tab")
        assert focused_id(page) == expected_id
        page.keyboard.type(typed)
    page.keyboard.press("Tab")
    assert focused_id(page) == "actor_type"
    page.keyboard.type("u")  # type-ahead in the list: « université ou recherche »
    expect(page.get_by_label(ACTOR_TYPE)).to_have_value("recherche")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Agroécologie")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_label(CONSENT)).to_be_focused()
    page.keyboard.press("Space")
    page.get_by_role("button", name=french("Je m'inscris")).focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre boîte de réception")
    with app.app_context():
        registration = db.session.scalars(select(Registration)).one()
        assert (registration.first_name, registration.email, registration.actor_type) == (
            "Maëlle", "maelle@example.org", "recherche")
        assert len(registration.bookings) == 1
    assert f"{live_server}/static/emgav.css" in page.requested
    assert_no_request_to_other_hosts(page, live_server)


def test_errors_are_summarised_linked_and_tied_to_their_fields(app, page, live_server, event_slug):
    page.goto(f"{live_server}/events/{event_slug}/register")
    page.get_by_label("Prénom").focus()
    page.keyboard.type("Maëlle")
    page.get_by_label("Adresse électronique").focus()
    page.keyboard.type("maelle@")
    page.keyboard.press("Enter")  # implicit submission

    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()  # announced and read first
    expect(summary).to_contain_text(french("Le formulaire n'a pas pu être envoyé"))
    assert plain(page.title()).startswith("Erreur :")
    for label, message in [("Nom", "Indiquez votre nom."),
                           ("Adresse électronique", "Saisissez une adresse électronique valide"),
                           (ACTOR_TYPE, "Choisissez à quel titre vous venez."),
                           (CONSENT, "Votre accord est nécessaire pour vous inscrire.")]:
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        # What a screen reader reads with the field: its error message.
        expect(field).to_have_accessible_description(re.compile("^" + re.escape(french("Erreur : " + message))))
    expect(page.get_by_label("Prénom")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Prénom")).to_have_value("Maëlle")

    # A link of the summary takes the keyboard to its field.
    summary.get_by_role("link", name="Adresse électronique").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Adresse électronique", exact=True)).to_be_focused()

    with app.app_context():
        assert db.session.scalars(select(Registration)).all() == []
    assert_no_request_to_other_hosts(page, live_server)
