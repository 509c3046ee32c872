"""The back office's registration pages: the list (search, filters, sort, pages, counts, and a
bounded number of queries with 5,000 registrations), a person's page, the mail log, the exports
(read back with csv and openpyxl) and the organisers' actions on a person."""
import csv
import html
import io
import re
import time
from datetime import timedelta

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import insert, select

from webapp.extensions import db
from webapp.models import (
    Answer,
    Event,
    JournalAction,
    JournalEntry,
    OutboxMail,
    OutboxStatus,
    QuestionChoice,
    Registration,
    RegistrationStatus,
    WorkshopBooking,
)
from webapp.models.base import utcnow
from webapp.models.questions import answer_choices
from webapp.services import questions, registrations, seats

from . import accessibility, support
from .support import (
    StatementCounter,
    assert_counters_match_rows,
    invite_of,
    logged_in_as,
    make_user,
    page_text,
    person_id,
    submit,
)

START = support.START
ROW_NAME = re.compile(r'<th scope="row"><a href="/organiser/events/\d+/registrations/\d+">([^<]*)</a></th>')


@pytest.fixture
def ids(app, make_event):
    """An event (3 seats, two workshops at the same time), its organiser and a logged-in client."""
    event = make_event(slug="journee", starts_at=START, ends_at=START + timedelta(hours=8), capacity=3, workshops=[
        dict(key="agro", title="Agroécologie", starts_at=START + timedelta(hours=5),
             ends_at=START + timedelta(hours=6), capacity=1),
        dict(key="togo", title="Bretagne – Togo", starts_at=START + timedelta(hours=5),
             ends_at=START + timedelta(hours=6), capacity=10),
    ])
    with app.app_context():
        workshops = {w.key: w.id for w in db.session.get(Event, event).workshops}
        organiser = make_user("anne.organisation@example.org", events=[event])
    return {"event": event, "organiser": organiser, **workshops}


@pytest.fixture
def organiser(app, ids):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, ids["organiser"])
    return client


def list_url(ids, **args):
    query = "&".join(f"{name}={value}" for name, value in args.items())
    return f"/organiser/events/{ids['event']}/registrations" + (f"?{query}" if query else "")


def names_in(response):
    """The people listed, in the order shown (the first cell of each row: « Last First »)."""
    return [html.unescape(name) for name in ROW_NAME.findall(response.get_data(as_text=True))]


def post(client, page, action, **data):
    """Press a button of the page at `page`: post to `action` with the page's CSRF token."""
    return client.post(action, data=dict(data, csrf_token=support.csrf_token(client, page)))


def journal_actions(app, event_id):
    with app.app_context():
        return [entry.action for entry in db.session.scalars(
            select(JournalEntry).where(JournalEntry.event_id == event_id).order_by(JournalEntry.id))]


# --- The list ---

@pytest.fixture
def crowd(app, ids):
    """Six people: three seats, then the waiting list; one pending, one cancelled."""
    event = ids["event"]
    made = {
        "anne": person_id(app, event, "Anne", organisation="Xylm", actor_type="ess", workshops=["agro"]),
        "bleuenn": person_id(app, event, "Bleuenn", last_name="Kerjean", organisation="Bretagne Solidaire"),
        "corentin": person_id(app, event, "Corentin", last_name="Abgrall", actor_type="recherche",
                              workshops=["togo"]),
        "deniz": person_id(app, event, "Deniz", last_name="Yilmaz"),
        "elouan": person_id(app, event, "Elouan", last_name="Morvan", confirm=False),
        "fanch": person_id(app, event, "Fañch", last_name="Éven", email="fanch@example.org"),
    }
    with app.test_request_context():
        registrations.cancel_registration(db.session.get(Registration, made["fanch"]))
    return made


def test_the_list_counts_by_status_and_finds_people_by_name_address_or_organisation(app, ids, organiser, crowd):
    response = organiser.get(list_url(ids))

    assert response.status_code == 200
    text = page_text(response)
    for count in ("places réservées : 3", "en liste d'attente : 1", "adresse à confirmer : 1", "annulées : 1",
                  "places proposées : 0"):
        assert count in text, count
    # By name (SQLite's lower() leaves « É » as it is: Éven comes last there).
    assert names_in(response) == ["Abgrall Corentin", "Kerjean Bleuenn", "Le Goff Anne", "Morvan Elouan",
                                  "Yilmaz Deniz", "Éven Fañch"]
    assert "6 inscriptions trouvées" in text

    assert names_in(organiser.get(list_url(ids, q="anne le"))) == ["Le Goff Anne"]
    assert names_in(organiser.get(list_url(ids, q="goff anne"))) == ["Le Goff Anne"]
    assert names_in(organiser.get(list_url(ids, q="DENIZ@EXAMPLE"))) == ["Yilmaz Deniz"]
    assert names_in(organiser.get(list_url(ids, q="solidaire"))) == ["Kerjean Bleuenn"]
    assert names_in(organiser.get(list_url(ids, q="100%25"))) == []  # LIKE wildcards are searched as text
    assert "Aucune inscription ne correspond." in page_text(organiser.get(list_url(ids, q="personne")))


def test_the_list_filters_by_status_actor_type_and_workshop(app, ids, organiser, crowd):
    assert names_in(organiser.get(list_url(ids, status="waiting"))) == ["Yilmaz Deniz"]
    assert names_in(organiser.get(list_url(ids, status="pending"))) == ["Morvan Elouan"]
    assert names_in(organiser.get(list_url(ids, status="cancelled"))) == ["Éven Fañch"]
    assert len(names_in(organiser.get(list_url(ids, status="active")))) == 5
    assert names_in(organiser.get(list_url(ids, actor_type="recherche"))) == ["Abgrall Corentin"]
    assert names_in(organiser.get(list_url(ids, workshop=ids["agro"]))) == ["Le Goff Anne"]
    assert names_in(organiser.get(list_url(ids, workshop=ids["togo"], actor_type="recherche"))) == [
        "Abgrall Corentin"]


def test_the_list_sorts_and_pages(app, ids, organiser, crowd):
    newest = names_in(organiser.get(list_url(ids, sort="newest")))
    oldest = names_in(organiser.get(list_url(ids, sort="oldest")))
    assert oldest[0] == "Le Goff Anne" and newest == list(reversed(oldest))
    assert names_in(organiser.get(list_url(ids, sort="status"))) == [
        "Abgrall Corentin", "Kerjean Bleuenn", "Le Goff Anne",  # seats first, by name
        "Yilmaz Deniz", "Morvan Elouan", "Éven Fañch"]          # waiting, pending, cancelled

    first = organiser.get(list_url(ids, per_page=25, sort="oldest"))
    assert "Page 1 sur 1" not in page_text(first)  # one page: no page links
    with app.app_context():
        for number in range(30):
            person_id(app, ids["event"], f"Personne{number:02d}", confirm=False)
    page_two = organiser.get(list_url(ids, per_page=25, sort="oldest", page=2))
    text = page_text(page_two)
    assert "Page 2 sur 2" in text and "26 à 36 affichées" in text
    assert len(names_in(page_two)) == 11
    assert names_in(page_two)[-1] == "Le Goff Personne29"
    # The page links keep the search, filters and order.
    assert f'href="/organiser/events/{ids["event"]}/registrations?sort=oldest&amp;per_page=25&amp;page=1"' in \
        page_two.get_data(as_text=True)
    # Past the last page: the last page.
    assert names_in(organiser.get(list_url(ids, per_page=25, sort="oldest", page=99))) == names_in(page_two)


@pytest.mark.parametrize("args", [dict(status="nope"), dict(sort="x"), dict(per_page="7"), dict(workshop="999"),
                                  dict(q="x" * 201), dict(page="abc")])
def test_bad_list_arguments_get_a_clear_answer(app, ids, organiser, crowd, args):
    response = organiser.get(list_url(ids, **args))

    if "page" in args:  # not a number: the first page
        assert response.status_code == 200
    else:
        assert response.status_code == 422
        assert "Le formulaire n'a pas pu être envoyé" in page_text(response)
    assert len(names_in(response)) == 6  # the whole list, as it is


def bulk_registrations(event_id, count, workshop_id=None, choice_ids=()):
    """`count` confirmed registrations inserted in bulk (no mail), half of them with a workshop booking;
    with `choice_ids` (of a choice question), each answers it with one of them in turn."""
    now = utcnow()
    rows = [dict(uid=f"00000000-0000-4000-8000-{number:012d}", event_id=event_id, first_name=f"Prénom{number}",
                 last_name=f"Nom{number:05d}", email=f"personne{number}@example.org", organisation="Réseau",
                 actor_type="ess", language="fr", status=RegistrationStatus.confirmed, privacy_consent_at=now,
                 created_at=now + timedelta(seconds=number), confirmed_at=now, updated_at=now)
            for number in range(count)]
    db.session.execute(insert(Registration), rows)
    if workshop_id is not None:
        registration_ids = db.session.scalars(select(Registration.id).where(Registration.event_id == event_id)).all()
        db.session.execute(insert(WorkshopBooking), [
            dict(registration_id=rid, workshop_id=workshop_id, status="booked", created_at=now, updated_at=now)
            for rid in registration_ids[::2]])
    if choice_ids:
        question_id = db.session.get(QuestionChoice, choice_ids[0]).question_id
        registration_ids = db.session.scalars(select(Registration.id).where(Registration.event_id == event_id)).all()
        db.session.execute(insert(Answer), [dict(registration_id=rid, question_id=question_id, text="")
                                            for rid in registration_ids])
        answer_ids = db.session.scalars(select(Answer.id).where(Answer.question_id == question_id)
                                        .order_by(Answer.id)).all()
        db.session.execute(insert(answer_choices), [dict(answer_id=aid, choice_id=choice_ids[n % len(choice_ids)])
                                                    for n, aid in enumerate(answer_ids)])
    db.session.commit()


def test_5000_registrations_list_in_a_bounded_number_of_queries(app, make_event, capsys):
    event_id = make_event(capacity=None, workshops=[
        dict(key="agro", title="Agroécologie", starts_at=utcnow() + timedelta(days=30, hours=1),
             ends_at=utcnow() + timedelta(days=30, hours=2))])
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        workshop_id = event.workshops[0].id
        question = questions.add_question(event, None, kind="multiple_choice", label="Repas", choices=["midi", "soir"])
        choice_id = question.choices[0].id
        bulk_registrations(event_id, 5000, workshop_id, choice_ids=[c.id for c in question.choices])
        user = make_user("anne.organisation@example.org", events=[event_id])
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, user)
        engine = db.engine
    url = f"/organiser/events/{event_id}/registrations"
    client.get(url)  # templates compiled, caches warm

    counted = {}
    for per_page in (25, 200):
        for args in ("", "&sort=status", f"&workshop={workshop_id}&q=nom0", "&sort=newest&page=7",
                     f"&answer=choice-{choice_id}"):
            with StatementCounter(engine) as statements:
                started = time.perf_counter()
                response = client.get(f"{url}?per_page={per_page}{args}")
                elapsed = time.perf_counter() - started
            assert response.status_code == 200
            counted[(per_page, args)] = statements.count
            if not args:
                assert len(names_in(response)) == per_page
                with capsys.disabled():
                    print(f"\n[benchmark] list of 5,000 registrations, {per_page} a page: "
                          f"{elapsed * 1000:.0f} ms, {statements.count} SQL statements")

    # The same number of statements whatever the page size: no query per row.
    for args in ("", "&sort=status", f"&workshop={workshop_id}&q=nom0", "&sort=newest&page=7",
                 f"&answer=choice-{choice_id}"):
        assert counted[(25, args)] == counted[(200, args)], counted
    # Session, account, event, its workshops, its questions and their choices, count, page, bookings,
    # counts by status: a handful.
    assert max(counted.values()) <= 12, counted
    # Filtered by a choice: every other registration chose it.
    assert "2500 inscriptions trouvées" in page_text(client.get(f"{url}?answer=choice-{choice_id}"))


# --- A person's page, the mails and the mail log ---

def fail(app, registration_id, kind, error="550 5.1.1 <anne@example.org>: mailbox unknown"):
    """Make the outbox row of this person and kind a failed one, as a permanent SMTP refusal does."""
    with app.app_context():
        row = db.session.scalars(select(OutboxMail).where(
            OutboxMail.registration_id == registration_id, OutboxMail.kind == kind)).one()
        row.status, row.attempts, row.last_error = OutboxStatus.failed, 1, error
        db.session.commit()
        return row.id


def test_a_persons_page_shows_details_workshops_history_and_every_mail(app, ids, organiser):
    anne = person_id(app, ids["event"], "Anne", organisation="Xylm", workshops=["agro"])
    failed = fail(app, anne, "registration_confirmed")

    response = organiser.get(f"/organiser/events/{ids['event']}/registrations/{anne}")

    assert response.status_code == 200
    text = page_text(response)
    for expected in ("Anne Le Goff", "anne@example.org", "Xylm", "association de solidarité internationale",
                     "Agroécologie", "place réservée", "Inscription enregistrée", "Place réservée",
                     "Confirmation de l'adresse", "en file d'envoi", "Place réservée (avec l'invitation)",
                     "échec", "550 5.1.1 <anne@example.org>: mailbox unknown"):
        assert expected in text, expected
    assert f"/organiser/events/{ids['event']}/mails/{failed}/retry" in text


def test_a_registration_is_only_found_through_its_own_event(app, ids, organiser, make_event):
    other_event = make_event(title="Autre")
    with app.app_context():
        event = db.session.get(Event, other_event)
        event.organisers.append(db.session.get(support.User, ids["organiser"]))
        db.session.commit()
    anne = person_id(app, ids["event"], "Anne")

    assert organiser.get(f"/organiser/events/{ids['event']}/registrations/{anne}").status_code == 200
    assert organiser.get(f"/organiser/events/{other_event}/registrations/{anne}").status_code == 404
    assert organiser.get(f"/organiser/events/{ids['event']}/registrations/999999").status_code == 404


def test_send_a_failed_mail_again_from_the_persons_page(app, ids, organiser):
    anne = person_id(app, ids["event"], "Anne")
    failed = fail(app, anne, "registration_confirmed")
    page = f"/organiser/events/{ids['event']}/registrations/{anne}"
    token = support.csrf_token(organiser, page)

    response = organiser.post(f"/organiser/events/{ids['event']}/mails/{failed}/retry",
                              data={"csrf_token": token, "next": page})

    assert response.status_code == 302 and response.headers["Location"] == page
    with app.app_context():
        row = db.session.get(OutboxMail, failed)
        assert (row.status, row.attempts) == (OutboxStatus.queued, 0)
    assert journal_actions(app, ids["event"])[-1] == JournalAction.mails_requeued
    assert "1 courriel est remis en file d'envoi." in page_text(organiser.get(page))
    # Again: it is no longer failed, nothing happens.
    organiser.post(f"/organiser/events/{ids['event']}/mails/{failed}/retry", data={"csrf_token": token})
    assert journal_actions(app, ids["event"]).count(JournalAction.mails_requeued) == 1


def test_the_mail_log_counts_by_kind_and_status_and_sends_all_failed_mails_again(app, ids, organiser):
    anne = person_id(app, ids["event"], "Anne")
    bleuenn = person_id(app, ids["event"], "Bleuenn")
    fail(app, anne, "confirm_address")
    fail(app, bleuenn, "registration_confirmed", error="554 5.7.1 refusé")
    with app.app_context():
        row = db.session.scalars(select(OutboxMail).where(OutboxMail.registration_id == bleuenn,
                                                          OutboxMail.kind == "confirm_address")).one()
        row.status, row.last_error = OutboxStatus.retrying, "421 4.7.0 try again later"
        db.session.commit()
    url = f"/organiser/events/{ids['event']}/mails"

    text = page_text(organiser.get(url))

    assert "Courriels en échec" in text
    assert "550 5.1.1 <anne@example.org>: mailbox unknown" in text and "554 5.7.1 refusé" in text
    assert "421 4.7.0 try again later" in text  # a temporary error, retried by itself
    assert "Confirmation de l'adresse" in text and "Place réservée (avec l'invitation)" in text

    response = post(organiser, url, f"{url}/retry")
    assert response.status_code == 302
    with app.app_context():
        statuses = sorted(r.status.value for r in db.session.scalars(select(OutboxMail)))
    assert statuses == ["queued", "queued", "queued", "retrying"]
    assert "2 courriels sont remis en file d'envoi." in page_text(organiser.get(url))
    assert "Aucun courriel en échec." in page_text(organiser.get(url))


def test_retrying_only_reaches_failed_mails_of_this_event(app, ids, organiser, make_event):
    other_event = make_event(title="Autre")
    anne = person_id(app, other_event, "Anne")
    failed = fail(app, anne, "registration_confirmed")

    token = support.csrf_token(organiser, f"/organiser/events/{ids['event']}/mails")
    organiser.post(f"/organiser/events/{ids['event']}/mails/{failed}/retry", data={"csrf_token": token})
    organiser.post(f"/organiser/events/{ids['event']}/mails/retry", data={"csrf_token": token})

    with app.app_context():
        assert db.session.get(OutboxMail, failed).status == OutboxStatus.failed
    assert journal_actions(app, ids["event"]) == []


def outbox_status(app, row_id):
    with app.app_context():
        return db.session.get(OutboxMail, row_id).status


def test_a_failed_mail_sent_again_reaches_the_person(app, ids, organiser, worker, smtp_server):
    smtp_server.fail_with("550 5.1.1 mailbox unknown")
    anne = person_id(app, ids["event"], "Anne", confirm=False)
    with app.app_context():
        row_id = db.session.scalars(select(OutboxMail.id).where(OutboxMail.registration_id == anne)).one()
    support.wait_until(lambda: outbox_status(app, row_id) == OutboxStatus.failed, timeout=30,
                       message="the confirmation mail to fail")
    url = f"/organiser/events/{ids['event']}/mails"
    assert "550 5.1.1 mailbox unknown" in page_text(organiser.get(url))

    post(organiser, url, f"{url}/retry")

    [mail] = smtp_server.wait_for("anne@example.org", kind="confirm_address")
    assert "/confirm/" in support.mail_text(mail)
    support.wait_until_all_mail_sent(app)


# --- Exports ---

def export(client, ids, file_format, **filters):
    token = support.csrf_token(client, list_url(ids))
    return client.post(f"/organiser/events/{ids['event']}/registrations/export.{file_format}",
                       data=dict(filters, csrf_token=token))


@pytest.fixture
def tricky(app, ids):
    """People whose details a spreadsheet could take for formulas, with accents."""
    person_id(app, ids["event"], "Maëlle", last_name="Kerjean", organisation="=HYPERLINK(\"http://x\",\"clic\")",
              workshops=["agro"], email="maelle@example.org")
    person_id(app, ids["event"], "Gwénola", last_name="-Le Bihan", organisation="+33 2 99", email="gwen@example.org")
    person_id(app, ids["event"], "Éric", last_name="Ollivier", organisation="@SUM(A1)", email="eric@example.org",
              confirm=False)


def test_the_csv_export_opens_in_a_french_spreadsheet_with_formulas_neutralised(app, ids, organiser, tricky):
    response = export(organiser, ids, "csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="inscriptions-journee.csv"'
    content = response.get_data()
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:7] == ["Nom", "Prénom", "Adresse électronique", "Structure", "À quel titre", "Statut",
                           "Ateliers"]
    by_first_name = {row[1]: row for row in rows[1:]}
    assert set(by_first_name) == {"Maëlle", "Gwénola", "Éric"}
    maelle = by_first_name["Maëlle"]
    assert maelle[3] == "'=HYPERLINK(\"http://x\",\"clic\")"
    assert maelle[5] == "place réservée" and maelle[6] == "Agroécologie"
    assert maelle[7].startswith(str(utcnow().astimezone(db_tz()).year))
    assert by_first_name["Gwénola"][0] == "'-Le Bihan" and by_first_name["Gwénola"][3] == "'+33 2 99"
    assert by_first_name["Éric"][3] == "'@SUM(A1)" and by_first_name["Éric"][5] == "adresse à confirmer"
    assert b"\r\n" in content
    assert journal_actions(app, ids["event"]) == [JournalAction.registrations_exported]


def db_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


def test_the_xlsx_export_reads_back_with_accents_dates_and_no_formula(app, ids, organiser, tricky):
    response = export(organiser, ids, "xlsx", sort="newest")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["Nom", "Prénom", "Adresse électronique"]
    assert [row[1] for row in rows[1:]] == ["Éric", "Gwénola", "Maëlle"]  # newest first
    maelle = rows[3]
    assert maelle[3] == "'=HYPERLINK(\"http://x\",\"clic\")"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert maelle[7].year >= 2020 and maelle[7].tzinfo is None  # a real date, in the event's zone
    assert journal_actions(app, ids["event"]) == [JournalAction.registrations_exported]
    with app.app_context():
        entry = db.session.scalars(select(JournalEntry)).one()
        assert entry.details == {"format": "XLSX", "count": 3}


def test_an_export_keeps_the_filters_of_the_list(app, ids, organiser, tricky):
    response = export(organiser, ids, "csv", status="pending")

    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    assert [row[1] for row in rows[1:]] == ["Éric"]
    # The journal counts the rows, one included (« 1 lignes » was written before).
    home = page_text(organiser.get(f"/organiser/events/{ids['event']}"))
    assert "Liste des inscriptions exportée (CSV) ; lignes : 1." in home
    assert export(organiser, ids, "csv", status="nope").status_code == 400


def test_the_list_offers_the_exports_with_its_filters(app, ids, organiser, tricky):
    text = organiser.get(list_url(ids, status="pending")).get_data(as_text=True)

    assert f'action="/organiser/events/{ids["event"]}/registrations/export.xlsx"' in text
    assert 'formaction="/organiser/events/{}/registrations/export.csv"'.format(ids["event"]) in text
    assert '<input type="hidden" name="status" value="pending">' in text


# --- Actions on a person ---

def test_cancel_a_person_sends_the_cancel_invite_and_moves_the_waiting_list(app, ids, organiser, worker,
                                                                            smtp_server):
    event = ids["event"]
    people = [person_id(app, event, name) for name in ("Anne", "Bleuenn", "Corentin", "Deniz")]
    smtp_server.wait_for("anne@example.org", kind="registration_confirmed")
    smtp_server.wait_for("deniz@example.org", kind="waiting_list")
    page = f"/organiser/events/{event}/registrations/{people[0]}"

    response = post(organiser, page, f"{page}/cancel")

    assert response.status_code == 302
    [cancel_mail] = smtp_server.wait_for("anne@example.org", kind="registration_cancelled")
    method, vevent = invite_of(cancel_mail)
    assert method == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
    smtp_server.wait_for("deniz@example.org", kind="seat_offer")
    with app.app_context():
        assert db.session.get(Registration, people[3]).status == RegistrationStatus.offered
        assert_counters_match_rows(event)
    text = page_text(organiser.get(page))
    assert "annulée" in text and "Inscription annulée : Anne Le Goff (anne@example.org)." in text
    assert JournalAction.registration_cancelled in journal_actions(app, event)
    support.wait_until_all_mail_sent(app)


def test_cancel_twice_says_it_is_cancelled_already(app, ids, organiser):
    anne = person_id(app, ids["event"], "Anne")
    page = f"/organiser/events/{ids['event']}/registrations/{anne}"
    token = support.csrf_token(organiser, page)
    organiser.post(f"{page}/cancel", data={"csrf_token": token})

    response = organiser.post(f"{page}/cancel", data={"csrf_token": token}, follow_redirects=True)

    assert "Cette inscription est déjà annulée." in page_text(response)
    assert journal_actions(app, ids["event"]) == [JournalAction.registration_cancelled]


def new_person(**changes):
    data = dict(first_name="Nolwenn", last_name="Riou", email="nolwenn@example.org", organisation="Réseau",
                actor_type="ess", language="fr", confirmed="no", privacy_consent="y")
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_add_a_person_by_hand_pending_gets_the_usual_confirmation_mail(app, ids, organiser):
    url = f"/organiser/events/{ids['event']}/registrations/new"

    response = submit(organiser, url, **new_person())

    assert response.status_code == 302
    with app.app_context():
        registration = db.session.scalars(select(Registration)).one()
        assert registration.status == RegistrationStatus.pending
        assert [row.kind for row in db.session.scalars(select(OutboxMail))] == ["confirm_address"]
        assert response.headers["Location"] == f"/organiser/events/{ids['event']}/registrations/{registration.id}"
    text = page_text(organiser.get(response.headers["Location"]))
    assert "Inscription ajoutée à la main : Nolwenn Riou (nolwenn@example.org)." in text


def test_add_a_person_confirmed_takes_a_seat_or_the_waiting_list(app, ids, organiser):
    url = f"/organiser/events/{ids['event']}/registrations/new"
    for name in ("Anne", "Bleuenn"):
        person_id(app, ids["event"], name)

    submit(organiser, url, **new_person(confirmed="yes", workshops=str(ids["agro"])))
    submit(organiser, url, **new_person(confirmed="yes", first_name="Yann", email="yann@example.org"))

    with app.app_context():
        nolwenn, yann = (db.session.scalars(select(Registration).where(Registration.email == address)).one()
                         for address in ("nolwenn@example.org", "yann@example.org"))
        assert nolwenn.status == RegistrationStatus.confirmed and nolwenn.bookings[0].status.value == "booked"
        assert yann.status == RegistrationStatus.waiting  # the last seat was Nolwenn's: the seat guard decides
        kinds = {(row.recipient, row.kind) for row in db.session.scalars(select(OutboxMail))}
        assert ("nolwenn@example.org", "registration_confirmed") in kinds
        assert ("yann@example.org", "waiting_list") in kinds
        assert ("nolwenn@example.org", "confirm_address") not in kinds
        assert_counters_match_rows(ids["event"])


def test_adding_an_address_already_registered_is_refused_on_the_form(app, ids, organiser):
    person_id(app, ids["event"], "Nolwenn")
    url = f"/organiser/events/{ids['event']}/registrations/new"

    response = submit(organiser, url, **new_person())

    assert response.status_code == 422
    assert "Cette adresse électronique a déjà une inscription en cours pour cet événement." in page_text(response)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 1
    assert journal_actions(app, ids["event"]) == []


@pytest.mark.parametrize("changes", [dict(privacy_consent=None), dict(email="pas une adresse"),
                                     dict(confirmed="maybe"), dict(workshops=[])])
def test_adding_with_bad_input_changes_nothing(app, ids, organiser, changes):
    if changes == dict(workshops=[]):  # two workshops at the same time
        changes = dict(workshops=[str(ids["agro"]), str(ids["togo"])])
    url = f"/organiser/events/{ids['event']}/registrations/new"

    response = submit(organiser, url, **new_person(**changes))

    assert response.status_code == 422
    assert "Le formulaire n'a pas pu être envoyé" in page_text(response)
    with app.app_context():
        assert db.session.scalars(select(Registration)).all() == []


def test_edit_details_and_move_a_person_between_workshops(app, ids, organiser):
    anne = person_id(app, ids["event"], "Anne", workshops=["agro"])
    url = f"/organiser/events/{ids['event']}/registrations/{anne}/edit"

    response = submit(organiser, url, first_name="Anna", last_name="Le Goff", organisation="Xylm",
                      actor_type="ess", language="en", workshops=str(ids["togo"]))

    assert response.status_code == 302
    with app.app_context():
        registration = db.session.get(Registration, anne)
        assert (registration.first_name, registration.language, registration.actor_type) == ("Anna", "en", "ess")
        assert [(b.workshop.key, b.status.value) for b in registration.active_bookings()] == [("togo", "booked")]
        assert db.session.scalars(select(OutboxMail.kind).where(OutboxMail.kind == "invite_updated")).all()
        assert_counters_match_rows(ids["event"])
    assert journal_actions(app, ids["event"]) == [JournalAction.registration_updated]


def test_give_a_person_priority_on_the_waiting_list(app, ids, organiser):
    event = ids["event"]
    people = [person_id(app, event, name) for name in ("Anne", "Bleuenn", "Corentin", "Deniz", "Erwan", "Fanch")]
    deniz, erwan, fanch = people[3:]
    page = f"/organiser/events/{event}/registrations/{fanch}"

    response = post(organiser, page, f"{page}/priority")

    assert response.status_code == 302
    with app.test_request_context():
        waiting = {rid: registrations.waiting_position(db.session.get(Registration, rid))
                   for rid in (deniz, erwan, fanch)}
        assert waiting == {fanch: 1, deniz: 2, erwan: 3}
        assert_counters_match_rows(event)
        # A seat frees: it is offered to Fanch, not to Deniz who waited longer.
        registrations.cancel_registration(db.session.get(Registration, people[0]))
        seats.offer_free_seats(event)
        assert db.session.get(Registration, fanch).status == RegistrationStatus.offered
        assert db.session.get(Registration, deniz).status == RegistrationStatus.waiting
        assert_counters_match_rows(event)
    text = page_text(organiser.get(page))
    assert "Passage en tête de la liste d'attente : Fanch Le Goff (fanch@example.org)." in text
    # Twice, or for a person who does not wait: refused, nothing changes.
    token = support.csrf_token(organiser, page)
    again = organiser.post(f"{page}/priority", data={"csrf_token": token}, follow_redirects=True)
    assert "n'est pas (ou plus) sur la liste d'attente" in page_text(again)
    again = organiser.post(f"/organiser/events/{event}/registrations/{erwan}/priority", data={"csrf_token": token})
    again = organiser.post(f"/organiser/events/{event}/registrations/{erwan}/priority", data={"csrf_token": token},
                           follow_redirects=True)
    assert "Cette personne est déjà en tête de la liste d'attente." in page_text(again)
    assert journal_actions(app, event).count(JournalAction.waiting_priority_given) == 2


def test_priority_takes_a_free_seat_at_once_when_one_is_free(app, ids, organiser):
    event = ids["event"]
    people = [person_id(app, event, name) for name in ("Anne", "Bleuenn", "Corentin", "Deniz", "Erwan")]
    with app.test_request_context():
        registrations.cancel_registration(db.session.get(Registration, people[0]))  # no worker: the seat stays free
        assert db.session.get(Event, event).seats_taken == 2

    page = f"/organiser/events/{event}/registrations/{people[4]}"
    post(organiser, page, f"{page}/priority")

    with app.app_context():
        assert db.session.get(Registration, people[4]).status == RegistrationStatus.offered
        assert db.session.get(Registration, people[3]).status == RegistrationStatus.waiting
        assert db.session.scalars(select(OutboxMail.recipient).where(OutboxMail.kind == "seat_offer")).all() == [
            "erwan@example.org"]
        assert_counters_match_rows(event)


def test_a_refused_change_says_why_and_changes_nothing(app, ids, organiser):
    anne = person_id(app, ids["event"], "Anne", workshops=["agro"])
    with app.app_context():
        event = db.session.get(Event, ids["event"])
        event.registration_closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    url = f"/organiser/events/{ids['event']}/registrations/{anne}/edit"

    response = submit(organiser, url, first_name="Anna", last_name="Le Goff", actor_type="asi", language="fr",
                      workshops=str(ids["togo"]))

    assert response.status_code == 422
    assert "Les inscriptions à cet événement sont closes" in page_text(response)
    assert "Rien n'a été modifié." in page_text(response)
    with app.app_context():
        registration = db.session.get(Registration, anne)
        assert registration.first_name == "Anne"
        assert [b.workshop.key for b in registration.active_bookings()] == ["agro"]
    assert journal_actions(app, ids["event"]) == []
    # Details alone may still change once registrations are closed.
    assert submit(organiser, url, first_name="Anna", last_name="Le Goff", actor_type="asi", language="fr",
                  workshops=str(ids["agro"])).status_code == 302


# --- In a browser: keyboard only, and axe-core finds nothing ---

def test_registration_pages_with_the_keyboard_only_and_no_axe_violation(app, page, live_server, make_event):
    event = make_event(slug="journee-clavier", capacity=1, workshops=[
        dict(key="agro", title="Agroécologie", starts_at=utcnow() + timedelta(days=30, hours=1),
             ends_at=utcnow() + timedelta(days=30, hours=2))])
    anne = person_id(app, event, "Anne", organisation="Xylm", workshops=["agro"])
    person_id(app, event, "Bleuenn", last_name="Kerjean")
    fail(app, anne, "registration_confirmed")
    with app.app_context():
        make_user("anne.organisation@example.org", events=[event])
    page.goto(f"{live_server}/organiser/login")
    page.get_by_label("Adresse électronique").fill("anne.organisation@example.org")
    page.get_by_label("Mot de passe").fill(support.PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")
    page.goto(f"{live_server}/organiser/events/{event}/registrations")
    assert accessibility.axe_violations(page) == []

    # Search, then open the person found, with the keyboard.
    page.get_by_label("Rechercher (nom, adresse électronique, structure)").focus()
    page.keyboard.type("xylm")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("1 inscription trouvée")
    page.get_by_role("link", name="Le Goff Anne").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1 .subtitle")).to_have_text("Anne Le Goff")
    expect(page.get_by_role("cell", name="550 5.1.1")).to_be_visible()
    assert accessibility.axe_violations(page) == []

    # Cancelling asks first (a script served by the site); saying no changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Annuler cette inscription").focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    with app.app_context():
        assert db.session.get(Registration, anne).status == RegistrationStatus.confirmed
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("est annulée")
    with app.app_context():
        assert db.session.get(Registration, anne).status == RegistrationStatus.cancelled

    page.goto(f"{live_server}/organiser/events/{event}/mails")
    expect(page.get_by_role("heading", name="Courriels en échec")).to_be_visible()
    assert accessibility.axe_violations(page) == []
    page.goto(f"{live_server}/organiser/events/{event}/registrations/new")
    page.get_by_role("button", name="Inscrire", exact=True).focus()
    page.keyboard.press("Enter")  # nothing filled in: the errors are summarised and linked
    expect(page.get_by_role("alert")).to_be_focused()
    assert accessibility.axe_violations(page) == []
    page.goto(f"{live_server}/organiser/events/{event}/registrations?lang=en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Registrations")
    assert accessibility.axe_violations(page) == []
    assert all(url.startswith(live_server) for url in page.requested)
