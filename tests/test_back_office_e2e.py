"""The back office end to end, in Chromium against the app under gunicorn, with a real Celery worker
sending to the test SMTP server: an organiser logs in, creates an event with a workshop, one seat
and a choice question, publishes it; two people register on the public page (in another browser),
answering the question, and confirm by the mailed link, the second one ends on the waiting list;
the organiser finds the first by a search, the second by her answer, exports the list in both
formats (read back with `csv` and `openpyxl`: accents intact, a formula neutralised, the answer
in its column), moves the event to the next day (the updated invite arrives), cancels the first
person (the CANCEL invite arrives, the freed seat is offered to the second, who takes it), and
reads it all in the event's journal."""
import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import expect

from webapp.extensions import db
from webapp.models import Event, UserRole
from webapp.typography import french

from . import support
from .support import invite_of, link_in

ADMIN = "coordination@reseau-bretagne-solidaire.bzh"
PARIS = ZoneInfo("Europe/Paris")
TITLE = "Rencontres régionales de la solidarité internationale"
SLUG = "rencontres-solidarite-2030"
WORKSHOP = "Agroécologie paysanne"
# The first person: an accented name, and an organisation a spreadsheet would run as a formula.
MAELLE = dict(first_name="Maëlle", last_name="Guégan", email="maelle.guegan@example.org",
              organisation='=HYPERLINK("https://example.com/x","Réseau Bretagne Solidaire")', meal="Végétarien")
BLEUENN = dict(first_name="Bleuenn", last_name="Le Roux", email="bleuenn@example.org",
               organisation="Maison de l'économie sociale et solidaire", meal="Sans porc")


@pytest.fixture
def visitor(browser, live_server):
    """A tab in another browser context (cookies of its own): the people who register."""
    context = browser.new_context(locale="fr-FR", base_url=live_server)
    yield context.new_page()
    context.close()


def send(page, button):
    """Click a button that sends a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def fill(page, **values):
    """Type into the fields of the page's main form, found by their label."""
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)


def expect_message(page, text):
    expect(page.get_by_text(french(text))).to_be_visible()


def register(visitor, smtp_server, person):
    """Register `person` on the event's public page, then open the link of the mail that arrives."""
    visitor.goto(f"/events/{SLUG}")
    visitor.get_by_role("link", name=french("S'inscrire")).first.click()
    fill(visitor, **{"Prénom": person["first_name"], "Nom": person["last_name"],
                     "Adresse électronique": person["email"], "Structure (facultatif)": person["organisation"]})
    visitor.get_by_label(french("À quel titre venez-vous ?")).select_option("ess")
    visitor.get_by_label(WORKSHOP).check()
    visitor.get_by_label(french("J'accepte que mes données soient utilisées pour gérer mon inscription à cet "
                                "événement.")).check()
    # The event's question, a group of radio buttons named by its legend.
    visitor.get_by_role("group", name="Repas du midi").get_by_label(person["meal"]).check()
    send(visitor, french("Je m'inscris"))
    expect(visitor.get_by_role("heading", level=1)).to_have_text(french("Vérifiez votre boîte de réception"))
    [mail] = smtp_server.wait_for(person["email"], kind="confirm_address")
    visitor.goto(link_in(mail, "confirm"))
    expect(visitor.get_by_role("heading", level=1)).to_have_text(french("Merci, votre adresse est confirmée"))


def download(page, button):
    """The bytes of the file that `button` of the page downloads."""
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


def paris(text):
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def test_an_event_run_from_the_back_office(app, page, visitor, live_server, worker, smtp_server):
    with app.app_context():
        support.make_user(ADMIN, UserRole.admin)

    # 1. Log in: the back office sends an anonymous visitor to its login page.
    page.goto(f"{live_server}/organiser/")
    expect(page).to_have_url(re.compile(r"/organiser/login"))
    fill(page, **{"Adresse électronique": ADMIN, "Mot de passe": support.PASSWORD})
    send(page, "Se connecter")

    # 2. Create the event (a draft), with one seat so that the second person waits.
    page.get_by_role("link", name=french("Créer un événement")).click()
    fill(page, **{"Titre": TITLE, "Adresse de la page (slug)": SLUG, "Début": "2030-06-12T09:30",
                  "Fin": "2030-06-12T17:30", "Lieu": "Espace Anne de Bretagne",
                  "Adresse du lieu": "15 rue Martenot, 35000 Rennes", "Nombre de places": "1",
                  "Adresse de contact": "contact@reseau-bretagne-solidaire.bzh"})
    send(page, french("Créer l'événement"))
    expect_message(page, "L'événement est créé, en brouillon : ajoutez ses ateliers, puis publiez-le.")
    event_home = page.url

    # Its workshop.
    page.get_by_role("link", name="Ateliers").first.click()
    page.get_by_role("link", name="Ajouter un atelier").click()
    fill(page, **{"Titre": WORKSHOP, "Clé": "agroecologie", "Début": "2030-06-12T14:30", "Fin": "2030-06-12T16:00",
                  "Salle": "Salle Bréhat", "Nombre de places": "10"})
    send(page, french("Ajouter l'atelier"))
    expect_message(page, "L'atelier est ajouté.")
    expect(page.get_by_role("row", name=re.compile(WORKSHOP))).to_contain_text("0 sur 10")

    # Its registration question, a required single choice (added before publishing).
    page.get_by_role("navigation", name=french("Pages de l'événement")).get_by_role("link", name="Questions").click()
    page.get_by_role("link", name="Ajouter une question").click()
    fill(page, **{"Question": "Repas du midi", "Choix proposés, un par ligne": "Végétarien\nSans porc"})
    page.get_by_label("choix unique", exact=True).check()
    page.get_by_label("Réponse obligatoire").check()
    send(page, "Ajouter la question")
    expect_message(page, "La question est ajoutée à la fin du formulaire d'inscription.")
    expect(page.get_by_role("row", name=re.compile("Repas du midi"))).to_contain_text("choix unique")

    # 3. Publish it.
    page.goto(event_home)
    send(page, "Publier")
    expect_message(page, "L'événement est publié : sa page est visible de tout le monde.")
    expect(page.get_by_role("link", name=f"/events/{SLUG}")).to_be_visible()  # its public page, opened below

    # 4. Two people register on the public page and confirm their address by the mailed link:
    # the first takes the seat, the second joins the waiting list.
    # They answer the event's question (see `register`).
    register(visitor, smtp_server, MAELLE)
    [confirmed_mail] = smtp_server.wait_for(MAELLE["email"], kind="registration_confirmed")
    method, first_invite = invite_of(confirmed_mail)
    assert method == "REQUEST"
    assert first_invite.decoded("DTSTART") == paris("2030-06-12T09:30")
    register(visitor, smtp_server, BLEUENN)
    expect(visitor.get_by_text(french("sur la liste d'attente")).first).to_be_visible()
    smtp_server.wait_for(BLEUENN["email"], kind="waiting_list")

    # 5. The organiser finds Maëlle by part of her name.
    page.goto(event_home)
    page.get_by_role("navigation", name=french("Pages de l'événement")).get_by_role("link", name="Inscriptions").click()
    expect(page.get_by_role("list", name="Inscriptions par statut")).to_contain_text(
        french("places réservées : 1"))
    expect(page.get_by_role("list", name="Inscriptions par statut")).to_contain_text(
        french("en liste d'attente : 1"))
    page.get_by_label("Rechercher (nom, adresse électronique, structure)").fill("guég")
    send(page, "Afficher")
    rows = page.locator("table.data-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Guégan Maëlle")
    expect(rows.first).to_contain_text(french("place réservée"))
    # Filtered by the answer to the question instead: Bleuenn; then the search again, for the
    # exports below (an export follows the search and filters shown).
    page.get_by_role("link", name="Effacer la recherche et les filtres").click()
    page.get_by_label(french("Réponse à une question")).select_option(label=french("Repas du midi : Sans porc"))
    send(page, "Afficher")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Le Roux Bleuenn")
    page.get_by_label(french("Réponse à une question")).select_option("")
    page.get_by_label("Rechercher (nom, adresse électronique, structure)").fill("guég")
    send(page, "Afficher")
    expect(rows).to_have_count(1)

    # 6. Export the list as shown (the search applies), in both formats, and read the files back.
    name, content = download(page, "Télécharger au format CSV")
    assert name == f"inscriptions-{SLUG}.csv"
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark
    header, *lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    [row] = [dict(zip(header, line, strict=True)) for line in lines]
    assert (row["Nom"], row["Prénom"], row["Adresse électronique"]) == ("Guégan", "Maëlle", MAELLE["email"])
    assert row["Structure"] == "'" + MAELLE["organisation"]  # shown as text, never run
    assert row["Ateliers"] == WORKSHOP
    assert row["Statut"] == french("place réservée")

    name, content = download(page, "Télécharger au format Excel (.xlsx)")
    assert name == f"inscriptions-{SLUG}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header, *lines = list(sheet.iter_rows())
    [cells] = [{title.value: cell for title, cell in zip(header, line, strict=True)} for line in lines]
    assert (cells["Nom"].value, cells["Prénom"].value) == ("Guégan", "Maëlle")
    assert cells["Structure"].value == "'" + MAELLE["organisation"]
    assert cells["Structure"].data_type == "s"  # a text cell, not a formula
    assert cells["Ateliers"].value == WORKSHOP
    # The answer to the event's question, in its own column of both files.
    assert row["Repas du midi"] == "Végétarien" and cells["Repas du midi"].value == "Végétarien"

    # 7. Move the event to the next day, half an hour later, in another place, its workshop with
    # it. Maëlle, who has the seat, gets the updated invite; Bleuenn, who waits, has none to update.
    page.goto(event_home)
    page.get_by_role("link", name="Modifier les informations").click()
    expect(page.get_by_text(re.compile("invitation mise à jour aux personnes qui ont une place \\(1\\)"))) \
        .to_be_visible()
    fill(page, **{"Début": "2030-06-13T10:00", "Fin": "2030-06-13T18:00", "Lieu": "Le Triangle",
                  "Adresse du lieu": "Boulevard de Yougoslavie, 35200 Rennes"})
    page.get_by_label("Décaler aussi les ateliers").check()
    send(page, "Enregistrer")
    expect_message(page, "Les modifications sont enregistrées.")
    expect(page.locator(".event-facts")).to_contain_text("Le Triangle")
    page.get_by_role("link", name="Ateliers").first.click()
    expect(page.get_by_role("row", name=re.compile(WORKSHOP))).to_contain_text("15:00")
    [updated_mail] = smtp_server.wait_for(MAELLE["email"], kind="invite_updated")
    method, updated = invite_of(updated_mail)
    assert method == "REQUEST"
    assert str(updated["UID"]) == str(first_invite["UID"])
    assert int(updated["SEQUENCE"]) > int(first_invite["SEQUENCE"])
    assert updated.decoded("DTSTART") == paris("2030-06-13T10:00")
    assert "Le Triangle" in str(updated["LOCATION"])

    # 8. Cancel Maëlle from her page (the browser asks first): the CANCEL invite arrives.
    page.goto(event_home)
    page.get_by_role("navigation", name=french("Pages de l'événement")).get_by_role("link", name="Inscriptions").click()
    page.get_by_role("link", name="Guégan Maëlle").click()
    page.once("dialog", lambda dialog: dialog.accept())
    send(page, "Annuler cette inscription")
    expect_message(page, "L'inscription de Maëlle Guégan est annulée ; la personne en est informée par courriel.")
    [cancelled_mail] = smtp_server.wait_for(MAELLE["email"], kind="registration_cancelled")
    method, cancelled = invite_of(cancelled_mail)
    assert method == "CANCEL"
    assert str(cancelled["UID"]) == str(first_invite["UID"])
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(updated["SEQUENCE"])

    # 9. The waiting list moves: the freed seat is offered to Bleuenn by mail (the seat is held for
    # her, not given), and she takes it from the mail's link; her invite has the new time.
    [offer_mail] = smtp_server.wait_for(BLEUENN["email"], kind="seat_offer")
    page.reload()
    page.get_by_role("link", name="Toutes les inscriptions").click()
    expect(page.get_by_role("list", name="Inscriptions par statut")).to_contain_text(french("places proposées : 1"))
    visitor.goto(link_in(offer_mail, "offers"))
    send(visitor, french("J'accepte la place"))
    [seat_mail] = smtp_server.wait_for(BLEUENN["email"], kind="registration_confirmed")
    method, invite = invite_of(seat_mail)
    assert method == "REQUEST"
    assert invite.decoded("DTSTART") == paris("2030-06-13T10:00")

    page.reload()
    counts = page.get_by_role("list", name="Inscriptions par statut")
    for text in ["places réservées : 1", "places proposées : 0", "en liste d'attente : 0", "annulées : 1"]:
        expect(counts).to_contain_text(french(text))
    expect(page.get_by_role("row", name=re.compile("Le Roux Bleuenn"))).to_contain_text(french("place réservée"))

    # 10. The event's journal says who did what.
    page.goto(event_home)
    journal = page.get_by_role("table", name=french("Ce qui a été fait sur cet événement, le plus récent en premier"))
    for entry in ["Événement publié.", "Atelier ajouté : agroecologie.", "Question ajoutée : « Repas du midi ».",
                  "Liste des inscriptions exportée (CSV) ; lignes : 1.",
                  "Liste des inscriptions exportée (XLSX) ; lignes : 1.",
                  "Informations modifiées : début, fin, lieu, adresse du lieu, horaires des ateliers.",
                  f"Inscription annulée : Maëlle Guégan ({MAELLE['email']})."]:
        expect(journal).to_contain_text(french(entry))
    expect(journal).to_contain_text(ADMIN)

    with app.app_context():
        event_id = db.session.scalar(db.select(Event.id).filter_by(slug=SLUG))
        support.assert_counters_match_rows(event_id)
    support.wait_until_all_mail_sent(app)
