"""The waiting list end to end: a real Celery worker (with beat) on Redis sends every mail to the
test SMTP server, offers freed seats, and the test follows the links of the mails it receives,
over HTTP (gunicorn) or through the test client, as a person would."""
from datetime import timedelta

import requests
import time_machine
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Event, OutboxMail, Registration, SeatOffer
from webapp.models.base import utcnow
from webapp.services import event_files, registrations, seats

from . import support
from .support import assert_counters_match_rows, invite_of, link_in, mail_text, person_id, submit

START = utcnow().replace(second=0, microsecond=0) + timedelta(days=30)


def event_file(capacity, **changes):
    """An event file's content (as `emgav events import` reads it), published, 09:00-17:00 local."""
    data = dict(
        slug="journee-rennes", title="Journée régionale : ESS et solidarité internationale",
        status="published", timezone="Europe/Paris", starts_at=START, ends_at=START + timedelta(hours=8),
        venue_name="Espace Anne de Bretagne", venue_address="15 rue Martenot, 35000 Rennes",
        contact_email="contact@bretagne-solidaire.bzh",
    )
    if capacity is not None:
        data["capacity"] = capacity
    data.update(changes)
    return data


def import_event(app, data):
    with app.test_request_context():
        return event_files.import_event(data)[0].id


def address(name):
    return f"{name.lower()}@example.org"


def status_of(app, registration_id):
    with app.app_context():
        return db.session.get(Registration, registration_id).status.value


def check_counters(app, event_id):
    with app.app_context():
        assert_counters_match_rows(event_id)


def test_cancel_then_the_next_person_is_offered_the_seat_and_accepts_over_http(
        app, live_server, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=1))
    anne = person_id(app, event_id, "Anne")
    bleuenn = person_id(app, event_id, "Bleuenn")

    [waiting_mail] = smtp_server.wait_for(address("Bleuenn"), kind="waiting_list")
    assert "en position 1" in mail_text(waiting_mail)
    [anne_confirmed] = smtp_server.wait_for(address("Anne"), kind="registration_confirmed")
    _, anne_invite = invite_of(anne_confirmed)

    # Anne cancels from the manage link of her mail, over HTTP.
    with requests.Session() as browser:
        cancel_url = live_server + link_in(anne_confirmed, "manage") + "/cancel"
        page = browser.get(cancel_url)
        assert page.status_code == 200
        assert browser.post(cancel_url, data={"csrf_token": support.csrf_token_in(page.text)}).status_code == 200

    [cancel_mail] = smtp_server.wait_for(address("Anne"), kind="registration_cancelled")
    method, vevent = invite_of(cancel_mail)
    assert (method, str(vevent["STATUS"])) == ("CANCEL", "CANCELLED")
    assert vevent["UID"] == anne_invite["UID"]
    assert int(vevent["SEQUENCE"]) > int(anne_invite["SEQUENCE"])

    # The worker offers the freed seat to Bleuenn, who accepts it from her mail, over HTTP.
    [offer_mail] = smtp_server.wait_for(address("Bleuenn"), kind="seat_offer")
    with requests.Session() as browser:
        offer_url = live_server + link_in(offer_mail, "offers")
        page = browser.get(offer_url)
        assert page.status_code == 200
        accept = {"answer": "accept", "csrf_token": support.csrf_token_in(page.text)}
        assert browser.post(offer_url, data=accept).status_code == 200
        assert browser.post(offer_url, data=accept).status_code == 409

    [invite_mail] = smtp_server.wait_for(address("Bleuenn"), kind="registration_confirmed")
    method, vevent = invite_of(invite_mail)
    assert (method, str(vevent["STATUS"])) == ("REQUEST", "CONFIRMED")
    assert (status_of(app, anne), status_of(app, bleuenn)) == ("cancelled", "confirmed")
    check_counters(app, event_id)
    support.wait_until_all_mail_sent(app)


def test_an_unanswered_offer_expires_and_the_seat_goes_to_the_next_person(app, client, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=1))
    person_id(app, event_id, "Anne")
    corentin = person_id(app, event_id, "Corentin")
    deniz = person_id(app, event_id, "Deniz")

    # Two days ago (time travel), a seat was added and offered to Corentin. The travel goes back
    # rather than forward so that the mails queued stay due for the worker, which lives in real time.
    with app.test_request_context(), time_machine.travel(utcnow() - timedelta(hours=49), tick=False):
        event = db.session.get(Event, event_id)
        event.capacity = 2
        db.session.commit()
        seats.offer_free_seats(event_id)
    [corentin_offer] = smtp_server.wait_for(address("Corentin"), kind="seat_offer")
    assert status_of(app, corentin) == "offered"

    # Now the 48 hours are over: the beat task (run here rather than waited for) expires the offer.
    with app.test_request_context():
        seats.expire_seat_offers()
    [expired_mail] = smtp_server.wait_for(address("Corentin"), kind="offer_expired")
    assert "/events/journee-rennes" in mail_text(expired_mail)  # register again while it is open
    [deniz_offer] = smtp_server.wait_for(address("Deniz"), kind="seat_offer")
    assert (status_of(app, corentin), status_of(app, deniz)) == ("cancelled", "offered")

    assert client.get(link_in(corentin_offer, "offers")).status_code == 410  # too late: a kind page
    assert client.get(link_in(deniz_offer, "offers")).status_code == 200
    check_counters(app, event_id)
    support.wait_until_all_mail_sent(app)


def test_declining_offers_the_seat_to_the_next_person(app, client, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=1))
    anne = person_id(app, event_id, "Anne")
    bleuenn = person_id(app, event_id, "Bleuenn")
    corentin = person_id(app, event_id, "Corentin")
    with app.test_request_context():
        registrations.cancel_registration(db.session.get(Registration, anne))

    [offer_mail] = smtp_server.wait_for(address("Bleuenn"), kind="seat_offer")
    assert submit(client, link_in(offer_mail, "offers"), answer="decline").status_code == 200
    [goodbye] = smtp_server.wait_for(address("Bleuenn"), kind="registration_cancelled")
    assert invite_of(goodbye) is None  # she never had a seat: nothing to remove from her calendar
    smtp_server.wait_for(address("Corentin"), kind="seat_offer")
    assert (status_of(app, bleuenn), status_of(app, corentin)) == ("cancelled", "offered")
    check_counters(app, event_id)
    support.wait_until_all_mail_sent(app)


def test_a_raised_capacity_offers_the_new_seats_to_the_people_waiting(app, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=1))
    people = [person_id(app, event_id, name) for name in ("Anne", "Bleuenn", "Corentin", "Deniz")]

    import_event(app, event_file(capacity=3))  # what `emgav events import` does with the edited file
    smtp_server.wait_for(address("Bleuenn"), kind="seat_offer")
    smtp_server.wait_for(address("Corentin"), kind="seat_offer")
    assert [status_of(app, p) for p in people] == ["confirmed", "offered", "offered", "waiting"]
    check_counters(app, event_id)
    support.wait_until_all_mail_sent(app)


WORKSHOPS = [
    dict(key="agroecologie", title="Agroécologie : le réseau RIAA", starts_at=START + timedelta(hours=5),
         ends_at=START + timedelta(hours=6, minutes=30), room="Salle 1", capacity=1),
    dict(key="ess-togo", title="Xylm et STADD : l'ESS entre Bretagne et Togo", starts_at=START + timedelta(hours=7),
         ends_at=START + timedelta(hours=8), room="Salle 2", capacity=10),
]


def test_a_full_workshop_has_its_own_waiting_list_and_changes_update_the_invite(app, client, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=None, workshops=WORKSHOPS))
    anne = person_id(app, event_id, "Anne", workshops=["agroecologie"])
    bleuenn = person_id(app, event_id, "Bleuenn", workshops=["agroecologie"])

    [anne_confirmed] = smtp_server.wait_for(address("Anne"), kind="registration_confirmed")
    _, anne_invite = invite_of(anne_confirmed)
    assert "Agroécologie : le réseau RIAA" in str(anne_invite["DESCRIPTION"])
    [bleuenn_confirmed] = smtp_server.wait_for(address("Bleuenn"), kind="registration_confirmed")
    _, bleuenn_invite = invite_of(bleuenn_confirmed)
    assert "Agroécologie" not in str(bleuenn_invite["DESCRIPTION"])  # she waits for it
    assert "liste d'attente" in mail_text(bleuenn_confirmed)

    # Anne changes her workshops: her invite is updated (same UID, SEQUENCE + 1)...
    with app.test_request_context():
        registration = db.session.get(Registration, anne)
        event = db.session.get(Event, event_id)
        registrations.update_registration(
            registration, first_name="Anne", last_name="Le Goff", organisation="", actor_type="asi",
            language="fr", workshops=[w for w in event.workshops if w.key == "ess-togo"],
        )
    [anne_update] = smtp_server.wait_for(address("Anne"), kind="invite_updated")
    method, vevent = invite_of(anne_update)
    assert method == "REQUEST" and vevent["UID"] == anne_invite["UID"]
    assert int(vevent["SEQUENCE"]) == int(anne_invite["SEQUENCE"]) + 1
    assert "Xylm et STADD" in str(vevent["DESCRIPTION"]) and "Agroécologie" not in str(vevent["DESCRIPTION"])

    # ...and the workshop seat she freed is offered to Bleuenn, who accepts it.
    [offer_mail] = smtp_server.wait_for(address("Bleuenn"), kind="seat_offer")
    assert "Agroécologie : le réseau RIAA" in mail_text(offer_mail)
    assert submit(client, link_in(offer_mail, "offers"), answer="accept").status_code == 200
    [bleuenn_update] = smtp_server.wait_for(address("Bleuenn"), kind="invite_updated")
    method, vevent = invite_of(bleuenn_update)
    assert vevent["UID"] == bleuenn_invite["UID"]
    assert int(vevent["SEQUENCE"]) == int(bleuenn_invite["SEQUENCE"]) + 1
    assert "Agroécologie : le réseau RIAA" in str(vevent["DESCRIPTION"])
    assert status_of(app, bleuenn) == "confirmed"
    check_counters(app, event_id)
    support.wait_until_all_mail_sent(app)


def test_event_changes_reach_every_registration(app, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=1))
    person_id(app, event_id, "Anne")
    person_id(app, event_id, "Bleuenn")  # waiting
    person_id(app, event_id, "Corentin", confirm=False)
    [anne_confirmed] = smtp_server.wait_for(address("Anne"), kind="registration_confirmed")
    _, first_invite = invite_of(anne_confirmed)

    # The event moves one hour later: the confirmed person gets the updated invite.
    import_event(app, event_file(capacity=1, starts_at=START + timedelta(hours=1), ends_at=START + timedelta(hours=9)))
    [moved] = smtp_server.wait_for(address("Anne"), kind="invite_updated")
    method, vevent = invite_of(moved)
    assert method == "REQUEST" and vevent["UID"] == first_invite["UID"]
    assert int(vevent["SEQUENCE"]) == int(first_invite["SEQUENCE"]) + 1
    assert vevent.decoded("DTSTART") == START + timedelta(hours=1)
    with app.app_context():
        updates = db.session.scalars(select(OutboxMail.recipient).where(OutboxMail.kind == "invite_updated")).all()
        assert updates == [address("Anne")]

    # The event is cancelled: everyone hears of it, the seat holder with a CANCEL invite.
    import_event(app, event_file(capacity=1, status="cancelled", starts_at=START + timedelta(hours=1),
                                 ends_at=START + timedelta(hours=9)))
    [cancelled] = smtp_server.wait_for(address("Anne"), kind="event_cancelled")
    method, vevent = invite_of(cancelled)
    assert (method, str(vevent["STATUS"]), vevent["UID"]) == ("CANCEL", "CANCELLED", first_invite["UID"])
    assert int(vevent["SEQUENCE"]) == int(first_invite["SEQUENCE"]) + 2
    for name in ("Bleuenn", "Corentin"):
        [notice] = smtp_server.wait_for(address(name), kind="event_cancelled")
        assert invite_of(notice) is None
    support.wait_until_all_mail_sent(app)


def test_no_offer_once_registrations_are_closed(app, client, worker, smtp_server):
    event_id = import_event(app, event_file(capacity=1))
    anne = person_id(app, event_id, "Anne")
    bleuenn = person_id(app, event_id, "Bleuenn")
    [anne_confirmed] = smtp_server.wait_for(address("Anne"), kind="registration_confirmed")
    import_event(app, event_file(capacity=1, registration_closes_at=utcnow() - timedelta(minutes=1)))

    cancel = link_in(anne_confirmed, "manage") + "/cancel"
    assert submit(client, cancel).status_code == 200
    smtp_server.wait_for(address("Anne"), kind="registration_cancelled")
    with app.test_request_context():
        seats.offer_free_seats(event_id)  # what the worker did after the cancellation: nothing to offer
        assert db.session.scalars(select(SeatOffer)).all() == []
    assert status_of(app, bleuenn) == "waiting" and status_of(app, anne) == "cancelled"
    check_counters(app, event_id)
    support.wait_until_all_mail_sent(app)
