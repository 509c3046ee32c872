"""Participant pages reached through signed links: confirm, manage, cancel, offers, lost link."""
import html
from datetime import timedelta

import pytest
import time_machine

from webapp.extensions import db
from webapp.models import Event, OutboxMail, Registration, RegistrationStatus
from webapp.models.base import utcnow
from webapp.services import registrations, tokens


def register(app, event_id, email="anne@example.org", **fields):
    """A pending registration for the event; returns its id."""
    values = dict(first_name="Anne", last_name="Le Goff", email=email, organisation="Xylm",
                  actor_type="asi", language="fr")
    values.update(fields)
    with app.app_context():
        event = db.session.get(Event, event_id)
        return registrations.register(event, **values).id


def link(app, kind, registration_id):
    """A signed link path (`confirm` or `manage`) for the registration."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        token = getattr(tokens, f"{kind}_token")(registration)
        return f"/{kind}/{token}"


def load(app, registration_id):
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def text(page):
    """The page's HTML with entities decoded, to look for sentences in it."""
    return html.unescape(page.get_data(as_text=True))


def outbox_kinds(app):
    with app.app_context():
        return sorted(m.kind for m in db.session.query(OutboxMail))


# --- Confirmation link ---------------------------------------------------------------------

def test_confirm_takes_a_seat_and_shows_the_manage_link(app, client, make_event):
    reg_id = register(app, make_event(capacity=10, title="Journée ESS"))
    page = client.get(link(app, "confirm", reg_id))
    assert page.status_code == 200
    content = text(page)
    assert "Journée ESS" in content
    assert "Espace Anne de Bretagne" in content
    assert "une place vous est réservée" in content
    assert "invitation pour votre agenda est en route" in content
    assert "http://localhost/manage/" in content
    assert load(app, reg_id).status == RegistrationStatus.confirmed
    assert outbox_kinds(app) == ["confirm_address", "registration_confirmed"]


def test_confirm_shows_the_event_time_in_its_own_zone(app, client, make_event):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime(2099, 6, 13, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    reg_id = register(app, make_event(starts_at=start, ends_at=start + timedelta(hours=8)))
    page = client.get(link(app, "confirm", reg_id))
    assert "samedi 13 juin 2099, de 09:30 à 17:30" in text(page)


def test_confirm_when_full_puts_on_the_waiting_list_with_the_position(app, client, make_event):
    event_id = make_event(capacity=1)
    first, second, third = (register(app, event_id, email=f"p{i}@example.org") for i in range(3))
    client.get(link(app, "confirm", first))
    client.get(link(app, "confirm", second))
    page = client.get(link(app, "confirm", third))
    assert page.status_code == 200
    content = text(page)
    assert "liste d'attente, en position 2" in content
    assert "/manage/" in content
    assert load(app, third).status == RegistrationStatus.waiting


def test_confirm_twice_says_already_confirmed_without_the_manage_link(app, client, make_event):
    reg_id = register(app, make_event())
    confirm_link = link(app, "confirm", reg_id)
    assert client.get(confirm_link).status_code == 200
    again = client.get(confirm_link)
    assert again.status_code == 409
    content = text(again)
    assert "déjà été confirmée" in content
    assert "/manage/" not in content
    assert outbox_kinds(app) == ["confirm_address", "registration_confirmed"]


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJIUzI1NiJ9.WzEsMV0.forged", "a" * 400])
def test_forged_confirmation_link_gets_a_friendly_404(app, client, make_event, token):
    reg_id = register(app, make_event())
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 404
    assert "Lien non valable" in text(page)
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_manage_link_is_not_a_confirmation_link(app, client, make_event):
    reg_id = register(app, make_event())
    token = link(app, "manage", reg_id).rsplit("/", 1)[1]
    assert client.get(f"/confirm/{token}").status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_expired_confirmation_link_says_how_to_get_a_new_one(app, client, make_event):
    event_id = make_event(starts_at=utcnow() + timedelta(days=60), ends_at=utcnow() + timedelta(days=60, hours=8))
    reg_id = register(app, event_id)
    confirm_link = link(app, "confirm", reg_id)
    with time_machine.travel(utcnow() + app.config["CONFIRM_LINK_MAX_AGE"] + timedelta(minutes=1)):
        page = client.get(confirm_link)
    assert page.status_code == 410
    content = text(page)
    assert "a expiré" in content
    assert "même adresse" in content
    assert "/lost-link" in content
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_revoked_confirmation_link_gets_a_friendly_404(app, client, make_event):
    reg_id = register(app, make_event())
    confirm_link = link(app, "confirm", reg_id)
    with app.app_context():
        db.session.get(Registration, reg_id).token_version += 1
        db.session.commit()
    assert client.get(confirm_link).status_code == 404
    assert load(app, reg_id).status == RegistrationStatus.pending


def test_confirmation_link_of_a_cancelled_registration(app, client, make_event):
    reg_id = register(app, make_event())
    with app.app_context():
        db.session.get(Registration, reg_id).status = RegistrationStatus.cancelled
        db.session.commit()
    page = client.get(link(app, "confirm", reg_id))
    assert page.status_code == 410
    assert "annulée" in text(page)
    assert load(app, reg_id).status == RegistrationStatus.cancelled


def test_confirmation_link_after_registrations_closed(app, client, make_event):
    event_id = make_event()
    reg_id = register(app, event_id)
    with app.app_context():
        db.session.get(Event, event_id).registration_closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = client.get(link(app, "confirm", reg_id))
    assert page.status_code == 410
    assert "closes" in text(page)
    assert load(app, reg_id).status == RegistrationStatus.pending
