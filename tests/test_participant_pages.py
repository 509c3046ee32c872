"""Participant pages reached through signed links: confirm, manage, cancel, offers, lost link."""
import html
import re
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
        for w, capacity in zip(WORKSHOPS, capacities)
    ]
    return make_event(workshops=workshops, starts_at=start, ends_at=start + timedelta(hours=8), **fields)


def workshop_ids(app, event_id):
    with app.app_context():
        return {w.key: w.id for w in db.session.get(Event, event_id).workshops}


def confirmed(app, event_id, email="anne@example.org", workshops=(), **fields):
    """A registration whose address is confirmed; returns its id."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        chosen = [w for w in event.workshops if w.key in workshops]
        registration = registrations.register(
            event, **dict(dict(first_name="Anne", last_name="Le Goff", email=email, organisation="Xylm",
                               actor_type="asi", language="fr", workshops=chosen), **fields))
        with app.test_request_context():
            registrations.confirm_address(tokens.confirm_token(registration))
        return registration.id


def csrf_token(client, path):
    """The CSRF token of the form on the page at `path`."""
    page = client.get(path)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def details(**changes):
    values = dict(first_name="Anne", last_name="Le Goff", organisation="Xylm", actor_type="asi", language="fr")
    values.update(changes)
    return values


def test_manage_page_shows_the_registration_and_its_workshops(app, client, make_event):
    event_id = event_with_workshops(make_event, capacities=(10, 10, 10), capacity=50)
    reg_id = confirmed(app, event_id, workshops=("xylm", "riaa"))
    page = client.get(link(app, "manage", reg_id))
    assert page.status_code == 200
    content = text(page)
    assert "une place vous est réservée" in content
    assert "Xylm–STADD" in content and "Réseau RIAA" in content
    assert content.count("place réservée") == 2
    assert 'value="Anne"' in content
    assert "/cancel" in content
    assert "Quitter la liste d'attente" not in content


def test_manage_page_of_someone_waiting_shows_position_and_leave_button(app, client, make_event):
    event_id = make_event(capacity=1)
    confirmed(app, event_id, email="first@example.org")
    reg_id = confirmed(app, event_id, email="second@example.org")
    content = text(client.get(link(app, "manage", reg_id)))
    assert "liste d'attente, en position 1" in content
    assert "Quitter la liste d'attente" in content
    assert "/leave-waiting-list" in content


def test_manage_page_marks_full_workshops_as_waiting_list(app, client, make_event):
    event_id = event_with_workshops(make_event, capacities=(1, 10, 10))
    confirmed(app, event_id, email="first@example.org", workshops=("xylm",))
    reg_id = confirmed(app, event_id, email="second@example.org")
    content = text(client.get(link(app, "manage", reg_id)))
    assert content.count("complet : liste d'attente") == 1
    xylm_label = re.search(r"<label[^>]*>[^<]*Xylm–STADD[^<]*</label>", content).group(0)
    assert "complet : liste d'attente" in xylm_label


def test_manage_page_speaks_the_participant_language(app, client, make_event):
    reg_id = confirmed(app, make_event(), language="en")
    page = client.get(link(app, "manage", reg_id), headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in page.get_data(as_text=True)
    chosen = client.get(link(app, "manage", reg_id) + "?lang=fr")
    assert '<html lang="fr">' in chosen.get_data(as_text=True)


def test_invalid_details_show_errors_and_change_nothing(app, client, make_event):
    reg_id = confirmed(app, make_event())
    path = link(app, "manage", reg_id)
    page = client.post(path, data=dict(details(first_name="", last_name="Le\nGoff", actor_type="martien"),
                                       csrf_token=csrf_token(client, path)))
    assert page.status_code == 200
    content = text(page)
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
    reg_id = confirmed(app, event_id, workshops=("riaa",))
    path = link(app, "manage", reg_id)
    page = client.post(path, data=dict(details(), workshops=[ids["xylm"], ids["outaouais"]],
                                       csrf_token=csrf_token(client, path)))
    assert page.status_code == 200
    assert "ont lieu en même temps" in text(page)
    with app.app_context():
        registration = db.session.get(Registration, reg_id)
        assert [b.workshop.key for b in registration.active_bookings()] == ["riaa"]


@pytest.mark.parametrize("suffix", ["", "/cancel"])
def test_forged_manage_link_gets_a_friendly_404(app, client, make_event, suffix):
    reg_id = confirmed(app, make_event())
    forged = link(app, "manage", reg_id)[:-3] + "abc"
    page = client.get(forged + suffix)
    assert page.status_code == 404
    assert "Lien non valable" in text(page)
    confirmation_as_manage = link(app, "confirm", reg_id).replace("/confirm/", "/manage/")
    assert client.get(confirmation_as_manage + suffix).status_code == 404


def test_revoked_manage_link_gets_a_friendly_404(app, client, make_event):
    reg_id = confirmed(app, make_event())
    old_link = link(app, "manage", reg_id)
    with app.app_context():
        db.session.get(Registration, reg_id).token_version += 1
        db.session.commit()
    assert client.get(old_link).status_code == 404
    assert client.get(link(app, "manage", reg_id)).status_code == 200


def test_manage_link_does_not_expire_with_time(app, client, make_event):
    event_id = make_event(starts_at=utcnow() + timedelta(days=300), ends_at=utcnow() + timedelta(days=300, hours=2))
    reg_id = confirmed(app, event_id)
    manage_link = link(app, "manage", reg_id)
    with time_machine.travel(utcnow() + timedelta(days=200)):
        assert client.get(manage_link).status_code == 200


def test_manage_link_of_a_cancelled_registration_shows_no_form(app, client, make_event):
    reg_id = confirmed(app, make_event())
    with app.app_context():
        db.session.get(Registration, reg_id).status = RegistrationStatus.cancelled
        db.session.commit()
    page = client.get(link(app, "manage", reg_id))
    assert page.status_code == 410
    content = text(page)
    assert "est annulée" in content
    assert "<form" not in content.split("<main", 1)[1].split("</main>", 1)[0]


# --- CSRF ----------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/cancel", "/leave-waiting-list"])
def test_manage_posts_without_csrf_token_get_a_friendly_400(app, client, make_event, suffix):
    reg_id = confirmed(app, make_event())
    page = client.post(link(app, "manage", reg_id) + suffix, data=details(first_name="Mallory"))
    assert page.status_code == 400
    assert "formulaire a expiré" in text(page)
    registration = load(app, reg_id)
    assert (registration.first_name, registration.status) == ("Anne", RegistrationStatus.confirmed)


def test_offer_and_lost_link_posts_without_csrf_token_get_a_friendly_400(app, client):
    assert client.post("/offers/anything", data={"answer": "accept"}).status_code == 400
    page = client.post("/lost-link", data={"email": "anne@example.org"})
    assert page.status_code == 400
    assert "formulaire a expiré" in text(page)
    assert outbox_kinds(app) == []


# --- Lost link -----------------------------------------------------------------------------

def test_lost_link_form_is_accessible(app, client):
    page = client.get("/lost-link")
    assert page.status_code == 200
    content = text(page)
    assert '<label for="email">' in content
    assert 'autocomplete="email"' in content


def test_lost_link_with_a_bad_address_shows_the_error(app, client):
    page = client.post("/lost-link", data={"email": "pas une adresse", "csrf_token": csrf_token(client, "/lost-link")})
    assert page.status_code == 200
    content = text(page)
    assert "Saisissez une adresse électronique valide" in content
    assert 'aria-invalid="true"' in content
    assert outbox_kinds(app) == []
