"""Participant pages reached through signed links: confirm, manage, cancel, offers, lost link."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import event as sa_event
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    BookingStatus,
    Event,
    OfferStatus,
    OutboxMail,
    Registration,
    RegistrationStatus,
    SeatOffer,
    WorkshopBooking,
)
from webapp.models.base import utcnow
from webapp.services import events, registrations, seats

from . import support
from .support import offer_link, page_text, person_id, submit
from .support import personal_link as link


def load(app, registration_id):
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def outbox_kinds(app):
    with app.app_context():
        return sorted(m.kind for m in db.session.query(OutboxMail))


# --- Confirmation link ---------------------------------------------------------------------

def test_confirm_takes_a_seat_and_shows_the_manage_link(app, client, make_event):
    reg_id = person_id(app, make_event(capacity=10, title="Journée ESS"), confirm=False)
    page = client.get(link(app, "confirm", reg_id))
    assert page.status_code == 200
    content = page_text(page)
    assert "Journée ESS" in content
    assert "Espace Anne de Bretagne" in content
    assert "une place vous est réservée" in content
    assert "invitation pour votre agenda est en route" in content
    assert "http://emgav.test/manage/" in content  # BASE_URL, whatever the Host header
    assert load(app, reg_id).status == RegistrationStatus.confirmed
    assert outbox_kinds(app) == ["confirm_address", "registration_confirmed"]


def test_confirm_shows_the_event_time_in_its_own_zone(app, client, make_event):
    start = datetime(2099, 6, 13, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    reg_id = person_id(app, make_event(starts_at=start, ends_at=start + timedelta(hours=8)), confirm=False)
    page = client.get(link(app, "confirm", reg_id))
    assert "samedi 13 juin 2099, de 09:30 à 17:30" in page_text(page)


def test_confirm_when_full_puts_on_the_waiting_list_with_the_position(app, client, make_event):
    event_id = make_event(capacity=1)
    first, second, third = (person_id(app, event_id, email=f"p{i}@example.org", confirm=False) for i in range(3))
    client.get(link(app, "confirm", first))
    client.get(link(app, "confirm", second))
    page = client.get(link(app, "confirm", third))
    assert page.status_code == 200
    content = page_text(page)
    assert "liste d'attente, en position 2" in content
    assert "/manage/" in content
    assert load(app, third).status == RegistrationStatus.waiting


@support.ON_BOTH_DATABASES
def test_the_confirmation_page_shows_what_the_confirmation_wrote_without_reading_it_again(db_app, make_event):
    """The page after the click is built from the registration, its workshops and the event as the
    confirmation left them, read under the event's lock: after its commit, no statement runs but
    the count that gives a waiting person their place on the list."""
    app, client = db_app, db_app.test_client()
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event_id = make_event(starts_at=start, ends_at=start + timedelta(hours=8), capacity=1, workshops=[
        dict(key="agro", title="Agroécologie", capacity=1, starts_at=start + timedelta(hours=2),
             ends_at=start + timedelta(hours=3))])
    anne = person_id(app, event_id, "Anne", workshops=["agro"], confirm=False)
    bleuenn = person_id(app, event_id, "Bleuenn", confirm=False)
    after_commit = []

    def committed(connection):
        after_commit.append("COMMIT")

    def executed(connection, cursor, statement, *args):
        if after_commit and statement != "BEGIN IMMEDIATE":  # SQLite's, for the count
            after_commit.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "commit", committed)
    sa_event.listen(engine, "before_cursor_execute", executed)
    try:
        seat = page_text(client.get(link(app, "confirm", anne)))
        assert after_commit == ["COMMIT"]
        after_commit.clear()
        waiting = page_text(client.get(link(app, "confirm", bleuenn)))
        assert len(after_commit) == 2 and after_commit[1].startswith("SELECT count(*)"), after_commit
    finally:
        sa_event.remove(engine, "before_cursor_execute", executed)
        sa_event.remove(engine, "commit", committed)

    assert "une place vous est réservée" in seat
    assert re.search(r"<strong>Agroécologie</strong> \([^)]*\) : place réservée", seat)
    assert "liste d'attente, en position 1" in waiting
    assert load(app, anne).status == RegistrationStatus.confirmed
    assert load(app, bleuenn).status == RegistrationStatus.waiting
    with app.app_context():
        assert db.session.scalars(select(WorkshopBooking.status).filter_by(registration_id=anne)).all() == [
            BookingStatus.booked]


def test_confirm_twice_says_already_confirmed_without_the_manage_link(app, client, make_event):
    reg_id = person_id(app, make_event(), confirm=False)
    confirm_link = link(app, "confirm", reg_id)
    assert client.get(confirm_link).status_code == 200
    again = client.get(confirm_link)
    assert again.status_code == 409
    content = page_text(again)
    assert "déjà été confirmée" in content
    assert "/manage/" not in content
    assert outbox_kinds(app) == ["confirm_address", "registration_confirmed"]


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJIUzI1NiJ9.WzEsMV0.forged", "a" * 400])
def test_forged_confirmation_link_gets_a_friendly_404(app, client, make_event, token):
    reg_id = person_id(app, make_event(), confirm=False)
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 404
    assert "Lien non valable" in page_text(page)
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_manage_link_is_not_a_confirmation_link(app, client, make_event):
    reg_id = person_id(app, make_event(), confirm=False)
    token = link(app, "manage", reg_id).rsplit("/", 1)[1]
    assert client.get(f"/confirm/{token}").status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_expired_confirmation_link_says_how_to_get_a_new_one(app, client, make_event):
    event_id = make_event(starts_at=utcnow() + timedelta(days=60), ends_at=utcnow() + timedelta(days=60, hours=8))
    reg_id = person_id(app, event_id, confirm=False)
    confirm_link = link(app, "confirm", reg_id)
    with time_machine.travel(utcnow() + app.config["CONFIRM_LINK_MAX_AGE"] + timedelta(minutes=1)):
        page = client.get(confirm_link)
    assert page.status_code == 410
    content = page_text(page)
    assert "a expiré" in content
    assert "même adresse" in content
    assert "/lost-link" in content
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_revoked_confirmation_link_gets_a_friendly_404(app, client, make_event):
    reg_id = person_id(app, make_event(), confirm=False)
    confirm_link = link(app, "confirm", reg_id)
    with app.app_context():
        db.session.get(Registration, reg_id).token_version += 1
        db.session.commit()
    assert client.get(confirm_link).status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_confirmation_link_of_a_cancelled_registration(app, client, make_event):
    event_id = make_event()
    reg_id = person_id(app, event_id, confirm=False)
    with app.app_context():
        db.session.get(Registration, reg_id).status = RegistrationStatus.cancelled
        db.session.commit()
    page = client.get(link(app, "confirm", reg_id))
    assert page.status_code == 410
    assert "annulée" in page_text(page)
    assert load(app, reg_id).status == RegistrationStatus.cancelled
    with app.app_context():
        assert db.session.get(Event, event_id).seats_taken == 0  # the seat taken with the lock is given back


def test_confirmation_link_after_registrations_closed(app, client, make_event):
    event_id = make_event()
    reg_id = person_id(app, event_id, confirm=False)
    with app.app_context():
        db.session.get(Event, event_id).registration_closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = client.get(link(app, "confirm", reg_id))
    assert page.status_code == 410
    assert "closes" in page_text(page)
    assert load(app, reg_id).status == RegistrationStatus.pending
    with app.app_context():
        assert db.session.get(Event, event_id).seats_taken == 0  # the seat taken with the lock is given back


# --- Manage link ---------------------------------------------------------------------------

WORKSHOPS = [
    dict(key="xylm", title="Xylm–STADD : coopérer entre ESS bretonne et togolaise", room="Salle 1",
         starts_hours=2, hours=2),
    dict(key="outaouais", title="Ille-et-Vilaine–Outaouais", room="Salle 2", starts_hours=2, hours=2),
    dict(key="riaa", title="Réseau RIAA : agroécologie", room="Salle 3", starts_hours=5, hours=2),
]


def event_with_workshops(make_event, capacities=(None, None, None), **fields):
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    workshops = [
        dict(key=w["key"], title=w["title"], room=w["room"], capacity=capacity,
             starts_at=start + timedelta(hours=w["starts_hours"]),
             ends_at=start + timedelta(hours=w["starts_hours"] + w["hours"]))
        for w, capacity in zip(WORKSHOPS, capacities, strict=True)
    ]
    return make_event(workshops=workshops, starts_at=start, ends_at=start + timedelta(hours=8), **fields)


def workshop_ids(app, event_id):
    with app.app_context():
        return {w.key: w.id for w in db.session.get(Event, event_id).workshops}


def details(**changes):
    values = dict(first_name="Anne", last_name="Le Goff", organisation="", actor_type="asi", language="fr")
    values.update(changes)
    return values


def test_manage_page_shows_the_registration_and_its_workshops(app, client, make_event):
    event_id = event_with_workshops(make_event, capacities=(10, 10, 10), capacity=50)
    reg_id = person_id(app, event_id, workshops=("xylm", "riaa"))
    page = client.get(link(app, "manage", reg_id))
    assert page.status_code == 200
    content = page_text(page)
    assert "une place vous est réservée" in content
    assert "Xylm–STADD" in content and "Réseau RIAA" in content
    assert content.count("place réservée") == 2
    assert 'value="Anne"' in content
    assert "/cancel" in content
    assert "Quitter la liste d'attente" not in content


def test_manage_page_of_someone_waiting_shows_position_and_leave_button(app, client, make_event):
    event_id = make_event(capacity=1)
    person_id(app, event_id, email="first@example.org")
    reg_id = person_id(app, event_id, email="second@example.org")
    content = page_text(client.get(link(app, "manage", reg_id)))
    assert "liste d'attente, en position 1" in content
    assert "Quitter la liste d'attente" in content
    assert "/leave-waiting-list" in content


def test_manage_page_marks_full_workshops_as_waiting_list(app, client, make_event):
    event_id = event_with_workshops(make_event, capacities=(1, 10, 10))
    person_id(app, event_id, email="first@example.org", workshops=("xylm",))
    reg_id = person_id(app, event_id, email="second@example.org")
    content = page_text(client.get(link(app, "manage", reg_id)))
    assert content.count("complet : liste d'attente") == 1
    xylm_label = re.search(r"<label[^>]*>[^<]*Xylm–STADD.*?</label>", content, re.S).group(0)
    assert "complet : liste d'attente" in xylm_label


def test_manage_page_speaks_the_participant_language(app, client, make_event):
    reg_id = person_id(app, make_event(), language="en")
    page = client.get(link(app, "manage", reg_id), headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in page.get_data(as_text=True)
    chosen = client.get(link(app, "manage", reg_id) + "?lang=fr")
    assert '<html lang="fr">' in chosen.get_data(as_text=True)


def test_invalid_details_show_errors_and_change_nothing(app, client, make_event):
    reg_id = person_id(app, make_event())
    path = link(app, "manage", reg_id)
    page = submit(client, path, **details(first_name="", last_name="Le\nGoff", actor_type="martien"))
    assert page.status_code == 422
    content = page_text(page)
    assert 'role="alert"' in content
    assert "Indiquez votre prénom." in content
    assert "ni retour à la ligne" in content
    assert 'aria-describedby="first_name-error"' in content
    assert 'id="first_name-error"' in content
    registration = load(app, reg_id)
    assert (registration.first_name, registration.last_name, registration.actor_type) == ("Anne", "Le Goff", "asi")
    assert outbox_kinds(app) == ["confirm_address", "registration_confirmed"]


def test_overlapping_workshops_are_refused(app, client, make_event):
    event_id = event_with_workshops(make_event)
    ids = workshop_ids(app, event_id)
    reg_id = person_id(app, event_id, workshops=("riaa",))
    path = link(app, "manage", reg_id)
    page = submit(client, path, **details(), workshops=[ids["xylm"], ids["outaouais"]])
    assert page.status_code == 422
    assert "ont lieu en même temps" in page_text(page)
    with app.app_context():
        registration = db.session.get(Registration, reg_id)
        assert [b.workshop.key for b in registration.active_bookings()] == ["riaa"]


@pytest.mark.parametrize("suffix", ["", "/cancel"])
def test_forged_manage_link_gets_a_friendly_404(app, client, make_event, suffix):
    reg_id = person_id(app, make_event())
    forged = support.forge(link(app, "manage", reg_id))
    page = client.get(forged + suffix)
    assert page.status_code == 404
    assert "Lien non valable" in page_text(page)
    confirmation_as_manage = link(app, "confirm", reg_id).replace("/confirm/", "/manage/")
    assert client.get(confirmation_as_manage + suffix).status_code == 404


@pytest.mark.parametrize("damage", ["%05", "%C3%A9", "%F1%96%B6%8B", "=", "%20"])
def test_a_manage_link_with_characters_that_decoding_would_skip_is_refused(app, client, make_event, damage):
    """Base64 decoding skips characters it does not know: a damaged link used to work as the genuine one."""
    reg_id = person_id(app, make_event())
    damaged = link(app, "manage", reg_id) + damage
    assert client.get(damaged).status_code == 404
    response = client.post(damaged + "/cancel", data={"csrf_token": support.csrf_token(client, "/lost-link")})
    assert response.status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.confirmed


def test_revoked_manage_link_gets_a_friendly_404(app, client, make_event):
    reg_id = person_id(app, make_event())
    old_link = link(app, "manage", reg_id)
    with app.app_context():
        db.session.get(Registration, reg_id).token_version += 1
        db.session.commit()
    assert client.get(old_link).status_code == 404
    assert client.get(link(app, "manage", reg_id)).status_code == 200


def test_manage_link_does_not_expire_with_time(app, client, make_event):
    event_id = make_event(starts_at=utcnow() + timedelta(days=300), ends_at=utcnow() + timedelta(days=300, hours=2))
    reg_id = person_id(app, event_id)
    manage_link = link(app, "manage", reg_id)
    with time_machine.travel(utcnow() + timedelta(days=200)):
        assert client.get(manage_link).status_code == 200


def test_manage_link_of_a_cancelled_registration_shows_no_form(app, client, make_event):
    reg_id = person_id(app, make_event())
    with app.app_context():
        db.session.get(Registration, reg_id).status = RegistrationStatus.cancelled
        db.session.commit()
    page = client.get(link(app, "manage", reg_id))
    assert page.status_code == 410
    content = page_text(page)
    assert "est annulée" in content
    assert "<form" not in content.split("<main", 1)[1].split("</main>", 1)[0]


# --- CSRF ----------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/cancel", "/leave-waiting-list"])
def test_manage_posts_without_csrf_token_get_a_friendly_400(app, client, make_event, suffix):
    reg_id = person_id(app, make_event())
    page = client.post(link(app, "manage", reg_id) + suffix, data=details(first_name="Mallory"))
    assert page.status_code == 400
    assert "formulaire a expiré" in page_text(page)
    registration = load(app, reg_id)
    assert (registration.first_name, registration.status) == ("Anne", RegistrationStatus.confirmed)


def test_offer_and_lost_link_posts_without_csrf_token_get_a_friendly_400(app, client):
    assert client.post("/offers/anything", data={"answer": "accept"}).status_code == 400
    page = client.post("/lost-link", data={"email": "anne@example.org"})
    assert page.status_code == 400
    assert "formulaire a expiré" in page_text(page)
    assert outbox_kinds(app) == []


# --- Changing one's details and workshops ----------------------------------------------------

def test_changing_details_saves_them_and_sends_an_updated_invite(app, client, make_event):
    event_id = event_with_workshops(make_event)
    ids = workshop_ids(app, event_id)
    reg_id = person_id(app, event_id, workshops=("xylm",))
    path = link(app, "manage", reg_id)
    changes = details(first_name="Annaïg", organisation="RIAA", actor_type="paysanne", language="en")
    answer = submit(client, path, **changes, workshops=[ids["outaouais"], ids["riaa"]])
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(path)
    after = client.get(path)
    assert "Vos modifications sont enregistrées." in page_text(after)
    assert '<html lang="en">' in after.get_data(as_text=True)
    with app.app_context():
        registration = db.session.get(Registration, reg_id)
        assert (registration.first_name, registration.organisation, registration.actor_type, registration.language) \
            == ("Annaïg", "RIAA", "paysanne", "en")
        assert sorted(b.workshop.key for b in registration.active_bookings()) == ["outaouais", "riaa"]
    assert outbox_kinds(app) == ["confirm_address", "invite_updated", "registration_confirmed"]


def test_manage_form_shows_current_choices(app, client, make_event):
    event_id = event_with_workshops(make_event)
    ids = workshop_ids(app, event_id)
    reg_id = person_id(app, event_id, workshops=("riaa",), language="en")
    content = page_text(client.get(link(app, "manage", reg_id)))
    assert re.search(rf'<input checked[^>]*value="{ids["riaa"]}"', content)
    assert not re.search(rf'<input checked[^>]*value="{ids["xylm"]}"', content)
    assert re.search(r'<input checked[^>]*value="en"', content)


def test_workshops_cannot_change_once_registrations_are_closed(app, client, make_event):
    event_id = event_with_workshops(make_event)
    ids = workshop_ids(app, event_id)
    reg_id = person_id(app, event_id, workshops=("riaa",))
    with app.app_context():
        db.session.get(Event, event_id).registration_closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    path = link(app, "manage", reg_id)
    page = client.get(path)
    assert "ateliers ne peuvent plus être changés" in page_text(page)
    assert 'name="workshops"' not in page_text(page)
    answer = submit(client, path, **details(organisation="Autre structure"), workshops=[ids["xylm"]])
    assert answer.status_code == 302
    with app.app_context():
        registration = db.session.get(Registration, reg_id)
        assert registration.organisation == "Autre structure"
        assert [b.workshop.key for b in registration.active_bookings()] == ["riaa"]


# --- Cancelling ----------------------------------------------------------------------------

def seats_of(app, event_id):
    with app.app_context():
        event = db.session.get(Event, event_id)
        return event.seats_taken, event.waiting_count


def outbox_payloads(app, kind):
    with app.app_context():
        return [m.payload for m in db.session.query(OutboxMail).filter_by(kind=kind)]


def test_cancel_asks_first_then_cancels(app, client, make_event):
    event_id = make_event(capacity=10)
    reg_id = person_id(app, event_id)
    path = link(app, "manage", reg_id) + "/cancel"
    question = client.get(path)
    assert question.status_code == 200
    assert "Oui, annuler mon inscription" in page_text(question)
    assert load(app, reg_id).status == RegistrationStatus.confirmed
    answer = submit(client, path)
    assert answer.status_code == 200
    assert "Votre inscription est annulée" in page_text(answer)
    assert "courriel d'annulation" in page_text(answer)
    assert load(app, reg_id).status == RegistrationStatus.cancelled
    assert seats_of(app, event_id) == (0, 0)
    [payload] = outbox_payloads(app, "registration_cancelled")
    assert payload["with_invite"] is True


def test_replayed_cancel_gets_a_friendly_page_and_changes_nothing(app, client, make_event):
    event_id = make_event(capacity=10)
    reg_id = person_id(app, event_id)
    path = link(app, "manage", reg_id) + "/cancel"
    token = support.csrf_token(client, path)
    assert client.post(path, data={"csrf_token": token}).status_code == 200
    kinds = outbox_kinds(app)
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 410
    assert "est annulée" in page_text(again)
    assert outbox_kinds(app) == kinds
    assert seats_of(app, event_id) == (0, 0)
    assert client.get(path).status_code == 410


def test_cancel_with_a_forged_link_changes_nothing(app, client, make_event):
    event_id = make_event(capacity=10)
    reg_id = person_id(app, event_id)
    real = link(app, "manage", reg_id) + "/cancel"
    token = support.csrf_token(client, real)
    forged = support.forge(link(app, "manage", reg_id)) + "/cancel"
    page = client.post(forged, data={"csrf_token": token})
    assert page.status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.confirmed
    assert seats_of(app, event_id) == (1, 0)


def test_cancel_while_waiting_sends_no_calendar_cancellation(app, client, make_event):
    event_id = make_event(capacity=1)
    person_id(app, event_id, email="first@example.org")
    reg_id = person_id(app, event_id, email="second@example.org")
    path = link(app, "manage", reg_id) + "/cancel"
    answer = submit(client, path)
    assert answer.status_code == 200
    assert "courriel d'annulation" not in page_text(answer)
    assert seats_of(app, event_id) == (1, 0)
    [payload] = outbox_payloads(app, "registration_cancelled")
    assert payload["with_invite"] is False


# --- Leaving the waiting list --------------------------------------------------------------

def test_leave_the_waiting_list(app, client, make_event):
    event_id = make_event(capacity=1)
    person_id(app, event_id, email="first@example.org")
    reg_id = person_id(app, event_id, email="second@example.org")
    manage_path = link(app, "manage", reg_id)
    token = support.csrf_token(client, manage_path)
    answer = client.post(manage_path + "/leave-waiting-list", data={"csrf_token": token})
    assert answer.status_code == 200
    assert "quitté la liste d'attente" in page_text(answer)
    assert load(app, reg_id).status == RegistrationStatus.cancelled
    assert seats_of(app, event_id) == (1, 0)
    replay = client.post(manage_path + "/leave-waiting-list", data={"csrf_token": token})
    assert replay.status_code == 410
    assert seats_of(app, event_id) == (1, 0)
    assert len(outbox_payloads(app, "registration_cancelled")) == 1


def test_leave_the_waiting_list_when_holding_a_seat_changes_nothing(app, client, make_event):
    event_id = make_event(capacity=1)
    reg_id = person_id(app, event_id)
    manage_path = link(app, "manage", reg_id)
    token = support.csrf_token(client, manage_path)
    answer = client.post(manage_path + "/leave-waiting-list", data={"csrf_token": token})
    assert answer.status_code == 409
    assert load(app, reg_id).status == RegistrationStatus.confirmed
    assert seats_of(app, event_id) == (1, 0)


# --- Seat offers ---------------------------------------------------------------------------

def event_seat_offer(app, make_event):
    """Capacity 1: the first person cancels, the second (waiting) is offered the seat.
    Returns (event id, registration id of the second person, offer link path)."""
    event_id = make_event(capacity=1)
    first = person_id(app, event_id, email="first@example.org")
    second = person_id(app, event_id, email="second@example.org", first_name="Bleuenn")
    with app.app_context():
        registrations.cancel_registration(db.session.get(Registration, first))
        seats.offer_free_seats(event_id)
    return event_id, second, offer_link(app, second)


def offer_status(app, registration_id):
    with app.app_context():
        return db.session.scalars(select(SeatOffer.status).filter_by(registration_id=registration_id)).one()


def test_offer_page_shows_the_seat_and_its_expiry_in_the_event_zone(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    page = client.get(path)
    assert page.status_code == 200
    content = page_text(page)
    with app.app_context():
        expires = db.session.scalars(select(SeatOffer.expires_at)).one().astimezone(ZoneInfo("Europe/Paris"))
    assert f"à {expires:%H:%M} (heure" in content
    assert "J'accepte la place" in content and "Je décline" in content
    assert load(app, reg_id).status == RegistrationStatus.offered


def test_accepting_an_offer_confirms_the_seat(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    answer = submit(client, path, answer="accept")
    assert answer.status_code == 200
    content = page_text(answer)
    assert "Votre place est confirmée" in content
    assert "invitation pour votre agenda est en route" in content
    assert "/manage/" in content
    assert load(app, reg_id).status == RegistrationStatus.confirmed
    assert offer_status(app, reg_id) == OfferStatus.accepted
    assert seats_of(app, event_id) == (1, 0)
    assert "registration_confirmed" in outbox_kinds(app)


def test_declining_an_offer_ends_the_registration(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    answer = submit(client, path, answer="decline")
    assert answer.status_code == 200
    assert "Offre déclinée" in page_text(answer)
    assert load(app, reg_id).status == RegistrationStatus.cancelled
    assert offer_status(app, reg_id) == OfferStatus.declined
    assert seats_of(app, event_id) == (0, 0)


@pytest.mark.parametrize("first, second", [("accept", "accept"), ("accept", "decline"), ("decline", "accept")])
def test_replayed_offer_answer_gets_a_friendly_page_and_changes_nothing(app, client, make_event, first, second):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    token = support.csrf_token(client, path)
    assert client.post(path, data={"answer": first, "csrf_token": token}).status_code == 200
    state = (load(app, reg_id).status, seats_of(app, event_id), outbox_kinds(app))
    again = client.post(path, data={"answer": second, "csrf_token": token})
    assert again.status_code == 409
    assert "déjà répondu" in page_text(again)
    assert (load(app, reg_id).status, seats_of(app, event_id), outbox_kinds(app)) == state
    assert client.get(path).status_code == 409


def test_expired_offer_gets_a_friendly_page_and_changes_nothing(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    token = support.csrf_token(client, path)
    kinds = outbox_kinds(app)
    with time_machine.travel(utcnow() + app.config["SEAT_OFFER_VALIDITY"] + timedelta(minutes=1)):
        page = client.get(path)
        assert page.status_code == 410
        assert "a expiré" in page_text(page)
        assert client.post(path, data={"answer": "accept", "csrf_token": token}).status_code == 410
    assert load(app, reg_id).status == RegistrationStatus.offered
    assert offer_status(app, reg_id) == OfferStatus.open  # the worker's sweep expires it, not the page
    assert seats_of(app, event_id) == (1, 0)
    assert outbox_kinds(app) == kinds


def test_forged_or_revoked_offer_link_gets_a_friendly_404(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    token = support.csrf_token(client, path)
    assert client.get(support.forge(path)).status_code == 404
    assert client.post(support.forge(path), data={"answer": "accept", "csrf_token": token}).status_code == 404
    manage_as_offer = link(app, "manage", reg_id).replace("/manage/", "/offers/")
    assert client.get(manage_as_offer).status_code == 404
    with app.app_context():
        db.session.get(Registration, reg_id).token_version += 1
        db.session.commit()
    assert client.post(path, data={"answer": "accept", "csrf_token": token}).status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.offered
    assert seats_of(app, event_id) == (1, 0)


def test_offer_withdrawn_by_event_cancellation(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    with app.app_context():
        events.cancel_event(db.session.get(Event, event_id))
        db.session.commit()
    page = client.get(path)
    assert page.status_code == 410
    assert "n'est plus valable" in page_text(page)


def test_unknown_offer_answer_is_a_bad_request(app, client, make_event):
    event_id, reg_id, path = event_seat_offer(app, make_event)
    page = submit(client, path, answer="maybe")
    assert page.status_code == 400
    assert load(app, reg_id).status == RegistrationStatus.offered


@pytest.mark.parametrize("answer, booking_status", [("accept", BookingStatus.booked),
                                                     ("decline", BookingStatus.cancelled)])
def test_workshop_seat_offer(app, client, make_event, answer, booking_status):
    event_id = event_with_workshops(make_event, capacities=(1, None, None))
    holder = person_id(app, event_id, email="holder@example.org", workshops=("xylm",))
    waiter = person_id(app, event_id, email="waiter@example.org", workshops=("xylm",))
    with app.app_context():
        registrations.update_registration(db.session.get(Registration, holder), **details(), workshops=[])
        seats.offer_free_seats(event_id)
    path = offer_link(app, waiter)
    content = page_text(client.get(path))
    assert "dans l'atelier « Xylm–STADD" in content
    page = submit(client, path, answer=answer)
    assert page.status_code == 200
    assert ("Vous avez une place dans l'atelier" if answer == "accept" else "reste valable") in page_text(page)
    with app.app_context():
        registration = db.session.get(Registration, waiter)
        assert registration.status == RegistrationStatus.confirmed
        assert [b.status for b in registration.bookings] == [booking_status]


# --- Lost link -----------------------------------------------------------------------------

def ask_for_links(client, email, **extra):
    return submit(client, "/lost-link", email=email, **extra)


def lost_links_rows(app):
    with app.app_context():
        return [(m.recipient, m.payload) for m in db.session.query(OutboxMail).filter_by(kind="lost_links")]


def test_lost_link_answers_the_same_for_known_and_unknown_addresses(app, client, make_event):
    person_id(app, make_event())
    known = ask_for_links(client, "Anne@example.org")
    unknown = ask_for_links(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert page_text(known).replace("Anne@example.org", "") == page_text(unknown).replace("nobody@example.org", "")
    assert "Consultez votre messagerie" in page_text(known)
    assert lost_links_rows(app) == []  # a worker looks the address up and mails (test_hardening.py)


def test_lost_link_honeypot_answers_the_same_and_sends_nothing(app, client, make_event):
    person_id(app, make_event())
    page = ask_for_links(client, "anne@example.org", website="https://spam.example")
    assert page.status_code == 200
    assert "Consultez votre messagerie" in page_text(page)
    assert lost_links_rows(app) == []


def test_lost_link_form_is_accessible(app, client):
    page = client.get("/lost-link")
    assert page.status_code == 200
    content = page_text(page)
    assert '<label for="email">' in content
    assert 'autocomplete="email"' in content


def test_lost_link_with_a_bad_address_shows_the_error(app, client):
    page = submit(client, "/lost-link", email="pas une adresse")
    assert page.status_code == 422
    content = page_text(page)
    assert "Saisissez une adresse électronique valide" in content
    assert 'aria-invalid="true"' in content
    assert outbox_kinds(app) == []


# --- Language of the pages reached through a personal link ------------------------------------

def english_person(app, make_event, **fields):
    return person_id(app, make_event(), language="en", **fields)


def confirmed_twice(app, client, make_event):
    path = link(app, "confirm", english_person(app, make_event, confirm=False))
    client.get(path)
    return client.get(path)


def confirm_link_expired(app, client, make_event):
    path = link(app, "confirm", english_person(app, make_event, confirm=False))
    with time_machine.travel(utcnow() + app.config["CONFIRM_LINK_MAX_AGE"] + timedelta(minutes=1)):
        return client.get(path)


def confirm_link_of_a_cancelled_registration(app, client, make_event):
    reg_id = english_person(app, make_event, confirm=False)
    with app.app_context():
        registrations.cancel_registration(db.session.get(Registration, reg_id))
    return client.get(link(app, "confirm", reg_id))


def manage_link_of_a_cancelled_registration(app, client, make_event):
    reg_id = english_person(app, make_event)
    with app.app_context():
        registrations.cancel_registration(db.session.get(Registration, reg_id))
    return client.get(link(app, "manage", reg_id))


def manage_form_with_errors(app, client, make_event):
    return submit(client, link(app, "manage", english_person(app, make_event)), **details(first_name="", language="en"))


def manage_form_expired(app, client, make_event):
    return client.post(link(app, "manage", english_person(app, make_event)), data=details(language="en"))


def cancel_replayed(app, client, make_event):
    path = link(app, "manage", english_person(app, make_event)) + "/cancel"
    token = support.csrf_token(client, path)
    client.post(path, data={"csrf_token": token})
    return client.post(path, data={"csrf_token": token})


def english_seat_offer(app, make_event):
    """`event_seat_offer` with an English person offered the seat."""
    event_id, reg_id, path = event_seat_offer(app, make_event)
    with app.app_context():
        db.session.get(Registration, reg_id).language = "en"
        db.session.commit()
    return event_id, reg_id, path


def offer_answered_twice(app, client, make_event):
    path = english_seat_offer(app, make_event)[2]
    submit(client, path, answer="decline")
    return client.get(path)


def offer_expired(app, client, make_event):
    path = english_seat_offer(app, make_event)[2]
    with time_machine.travel(utcnow() + app.config["SEAT_OFFER_VALIDITY"] + timedelta(minutes=1)):
        return client.get(path)


def offer_withdrawn(app, client, make_event):
    event_id, _reg_id, path = english_seat_offer(app, make_event)
    with app.app_context():
        events.cancel_event(db.session.get(Event, event_id))
        db.session.commit()
    return client.get(path)


@pytest.mark.parametrize("reach, status", [
    (confirmed_twice, 409), (confirm_link_expired, 410), (confirm_link_of_a_cancelled_registration, 410),
    (manage_link_of_a_cancelled_registration, 410), (manage_form_with_errors, 422), (manage_form_expired, 400),
    (cancel_replayed, 410), (offer_answered_twice, 409), (offer_expired, 410), (offer_withdrawn, 410),
])
def test_pages_of_a_personal_link_speak_the_person_language_even_in_error(app, client, make_event, reach, status):
    """Opened from an English participant's mail in a browser that never chose a language (French
    by default), every page of the link is in English, error pages included."""
    page = reach(app, client, make_event)
    assert page.status_code == status
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_the_language_switch_wins_over_the_person_language_on_error_pages(app, client, make_event):
    path = link(app, "confirm", english_person(app, make_event, confirm=False))
    client.get(path)
    again = client.get(path + "?lang=fr")
    assert again.status_code == 409
    assert '<html lang="fr">' in again.get_data(as_text=True)
