"""The registration form: success, and every kind of bad input gets a clear answer, never a 500,
and writes no stray row."""
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy import event as sqlalchemy_event

from webapp import create_app
from webapp.extensions import db, limiter
from webapp.models import BookingStatus, Event, EventStatus, OutboxMail, Registration, Workshop
from webapp.models.base import utcnow
from webapp.services import events, registrations
from webapp.services.errors import RegistrationError, RegistrationErrorCode

from . import support
from .support import StatementCounter, page_text, post_registration, registration_form


def rows(app):
    """(registrations, outbox mails) in the database."""
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Registration)),
                db.session.scalar(select(func.count()).select_from(OutboxMail)))


# --- Success ---

def test_registration_redirects_to_check_your_inbox(app, client, event_slug):
    response = post_registration(client, event_slug, first_name="  Anne  ", email="Anne@Example.org")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{event_slug}/register/sent"
    page = page_text(client.get(response.headers["Location"]))
    assert "<h1>Vérifiez votre boîte de réception</h1>" in page
    with app.app_context():
        registration = db.session.scalars(select(Registration)).one()
        assert (registration.first_name, registration.email) == ("Anne", "anne@example.org")
        assert (registration.organisation, registration.actor_type) == ("Xylm", "ess")
        assert registration.status.value == "pending"
        assert registration.language == "fr"
        assert registration.privacy_consent_at is not None
        [mail] = db.session.scalars(select(OutboxMail)).all()
        assert (mail.kind, mail.recipient, mail.registration_id) == ("confirm_address", "anne@example.org",
                                                                     registration.id)


def test_registration_remembers_the_language_of_the_page(app, client, event_slug):
    client.get("/?lang=en")
    assert post_registration(client, event_slug).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Registration.language)).one() == "en"
        assert db.session.scalars(select(OutboxMail.language)).one() == "en"


def test_chosen_workshops_are_requested(app, client, make_event):
    start = utcnow() + timedelta(days=30)
    make_event(slug="ateliers", workshops=[
        dict(key="a", title="Atelier A", starts_at=start, ends_at=start + timedelta(hours=1)),
        dict(key="b", title="Atelier B", starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=2)),
    ])
    with app.app_context():
        ids = db.session.scalars(select(Workshop.id).order_by(Workshop.key)).all()

    assert post_registration(client, "ateliers", workshops=[str(i) for i in ids]).status_code == 303
    with app.app_context():
        registration = db.session.scalars(select(Registration)).one()
        assert sorted(b.workshop_id for b in registration.bookings) == sorted(ids)
        assert {b.status for b in registration.bookings} == {BookingStatus.requested}


def test_registering_when_full_is_accepted_for_the_waiting_list(app, client, make_event):
    make_event(slug="complet", capacity=1, seats_taken=1)
    form_page = page_text(client.get("/events/complet/register"))
    assert "en vous inscrivant, vous rejoignez la liste d'attente" in form_page
    assert post_registration(client, "complet").status_code == 303
    assert rows(app) == (1, 1)


def test_form_is_accessible(client, event_slug):
    page = page_text(client.get(f"/events/{event_slug}/register"))
    for name, label in [("first_name", "Prénom"), ("last_name", "Nom"), ("email", "Adresse électronique"),
                        ("actor_type", "À quel titre venez-vous ?")]:
        assert f'<label for="{name}">{label}</label>' in page
        assert f'id="{name}"' in page
    # The consent box is unticked; the honeypot is hidden from people and screen readers.
    consent = re.search(r"<input[^>]*id=\"privacy_consent\"[^>]*>", page).group(0)
    assert "checked" not in consent
    assert '<div class="honeypot" aria-hidden="true" hidden>' in page
    assert 'tabindex="-1"' in re.search(r"<input[^>]*id=\"website\"[^>]*>", page).group(0)


# --- Bad input: clear answer, no row ---

@pytest.mark.parametrize("changes, field, message", [
    (dict(email="pas-une-adresse"), "email", "Saisissez une adresse électronique valide"),
    (dict(email="anne@"), "email", "Saisissez une adresse électronique valide"),
    (dict(email=""), "email", "Indiquez votre adresse électronique."),
    (dict(privacy_consent=None), "privacy_consent", "Votre accord est nécessaire pour vous inscrire."),
    (dict(first_name="   "), "first_name", "Indiquez votre prénom."),
    (dict(actor_type=""), "actor_type", "Choisissez à quel titre vous venez."),
    (dict(first_name="A" * 101), "first_name", "100 caractères au plus."),
    (dict(last_name="B" * 101), "last_name", "100 caractères au plus."),
    (dict(organisation="C" * 201), "organisation", "200 caractères au plus."),
    (dict(email="a" * 250 + "@example.org"), "email", "254 caractères au plus."),
    (dict(first_name="<script>alert(1)</script>"), "first_name", "ni les caractères < et >"),
    (dict(last_name="Le Goff\r\nBcc: victim@example.org"), "last_name", "ni retour à la ligne"),
    (dict(last_name="Le Goff\nX"), "last_name", "ni retour à la ligne"),
    (dict(organisation="Coop\u2028Bcc: x"), "organisation", "ni retour à la ligne"),
])
def test_invalid_input_is_explained_next_to_the_field(app, client, event_slug, changes, field, message):
    response = post_registration(client, event_slug, **changes)
    page = support.plain(response.get_data(as_text=True))

    assert response.status_code == 422
    # Next to the field, tied to it; listed at the top with a link to the field.
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S).group(1)
    assert message in html.unescape(error)
    field_tag = re.search(rf'<(input|select)[^>]*id="{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field_tag and f'aria-describedby="{field}-error"' in field_tag
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S).group(0)
    assert f'href="#{field}"' in summary and message in html.unescape(summary)
    assert "<title>Erreur :" in page
    assert rows(app) == (0, 0)


def test_html_in_names_is_escaped_when_shown_back(client, event_slug):
    page = post_registration(client, event_slug, first_name='<script>alert("x")</script>').get_data(as_text=True)
    assert "<script>" not in page
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"' in page


def test_errors_keep_what_was_typed(client, event_slug):
    page = post_registration(client, event_slug, email="anne@", organisation="Coop « L'Avenir » & Cie")
    assert 'value="Coop « L&#39;Avenir » &amp; Cie"' in page.get_data(as_text=True)
    assert 'value="anne@"' in page.get_data(as_text=True)


@pytest.mark.parametrize("changes", [dict(actor_type="inconnu"), dict(workshops=["999"]), dict(workshops=["abc"])])
def test_values_outside_the_choices_are_refused(app, client, event_slug, changes):
    response = post_registration(client, event_slug, **changes)
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert rows(app) == (0, 0)


def test_overlapping_workshops_are_refused(app, client, make_event):
    start = utcnow() + timedelta(days=30)
    make_event(slug="chevauchement", workshops=[
        dict(key="a", title="Atelier A", starts_at=start, ends_at=start + timedelta(hours=2)),
        dict(key="b", title="Atelier B", starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=3)),
    ])
    with app.app_context():
        ids = [str(i) for i in db.session.scalars(select(Workshop.id))]

    response = post_registration(client, "chevauchement", workshops=ids)

    assert response.status_code == 422
    assert "Les ateliers « Atelier A » et « Atelier B » ont lieu en même temps" in page_text(response)
    assert rows(app) == (0, 0)


def test_missing_csrf_token_gets_a_friendly_400(app, client, event_slug):
    response = client.post(f"/events/{event_slug}/register", data=registration_form())
    assert response.status_code == 400
    assert "Le formulaire a expiré" in page_text(response)
    assert f'href="/events/{event_slug}/register"' in response.get_data(as_text=True)
    assert rows(app) == (0, 0)


def test_forged_csrf_token_gets_a_friendly_400(app, client, event_slug):
    genuine = support.csrf_token(client, f"/events/{event_slug}/register")
    for forged in (support.forge(genuine), "forged-token"):
        response = client.post(f"/events/{event_slug}/register", data=registration_form(csrf_token=forged))
        assert response.status_code == 400
        assert "Le formulaire a expiré" in page_text(response)
    assert rows(app) == (0, 0)


def test_csrf_page_of_a_post_only_action_offers_no_reload_link(client, app):
    response = client.post("/manage/any-token/leave-waiting-list")
    assert response.status_code == 400
    assert "Le formulaire a expiré" in page_text(response)
    assert "Recharger le formulaire" not in page_text(response)


def test_csrf_token_of_another_session_is_refused(app, client, event_slug):
    token = support.csrf_token(app.test_client(), f"/events/{event_slug}/register")
    response = client.post(f"/events/{event_slug}/register", data=registration_form(csrf_token=token))
    assert response.status_code == 400
    assert rows(app) == (0, 0)


def test_filled_honeypot_looks_like_success_but_writes_nothing(app, client, event_slug):
    response = post_registration(client, event_slug, website="https://spam.example")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{event_slug}/register/sent"
    assert rows(app) == (0, 0)


def test_registering_twice_sends_the_link_again_and_reveals_nothing(app, client, event_slug):
    first = post_registration(client, event_slug)
    second = post_registration(client, event_slug, email="ANNE@example.org", first_name="Annie")

    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        [registration] = db.session.scalars(select(Registration)).all()
        assert registration.first_name == "Anne"
        kinds = db.session.scalars(select(OutboxMail.kind)).all()
    assert kinds == ["confirm_address", "confirm_address"]


def test_a_registration_takes_a_bounded_number_of_sql_statements(app, client, event_slug):
    """The event read once (with its workshops and questions), the count of the mails checking the
    address this hour (the cap against inbox flooding), the registration, its consent record and
    its mail each written by one INSERT, then the commit; a second registration of the address is
    caught by the INSERT's conflict clause, then read (no savepoint, no reading back what was just
    written). Counted on the engine, not timed (SQLite adds its BEGIN IMMEDIATE)."""
    path = f"/events/{event_slug}/register"
    token = support.csrf_token(client, path)

    def statements_of_one_post(**changes):
        with app.app_context(), StatementCounter(db.engine) as statements:
            response = client.post(path, data=dict(registration_form(**changes), csrf_token=token))
        assert response.status_code == 303
        return statements.count

    assert statements_of_one_post() <= 5 + 1
    assert statements_of_one_post(first_name="Annie") <= 5 + 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 2


# --- Registration not possible ---

@pytest.mark.parametrize("fields, heading, title", [
    (dict(registration_opens_at=utcnow() + timedelta(days=3)), "Les inscriptions ne sont pas encore ouvertes",
     "Inscriptions pas encore ouvertes : Rencontre"),
    (dict(registration_closes_at=utcnow() - timedelta(minutes=1)), "Les inscriptions sont closes",
     "Inscriptions closes : Rencontre"),
    (dict(status=EventStatus.cancelled), "Cet événement est annulé", "Événement annulé : Rencontre"),
])
def test_no_form_when_registration_is_not_open(app, client, make_event, fields, heading, title):
    make_event(slug="ferme", title="Rencontre", **fields)

    page = client.get("/events/ferme/register")
    assert page.status_code == 200
    assert f"<h1>{heading}</h1>" in page_text(page)
    assert f"<title>{title} · Emgav</title>" in page_text(page)  # the title says what the heading says
    assert 'name="first_name"' not in page.get_data(as_text=True)

    # A form kept open in a tab from before: the POST is refused with the same clear page.
    make_event(slug="ouvert")
    token = support.csrf_token(client, "/events/ouvert/register")
    response = client.post("/events/ferme/register", data=registration_form(csrf_token=token))
    assert response.status_code == 409
    assert f"<h1>{heading}</h1>" in page_text(response)
    assert rows(app) == (0, 0)


def test_unknown_event_registration_is_404(app, client):
    assert client.get("/events/inconnu/register").status_code == 404


# --- Rate limit ---

@pytest.fixture
def rate_limited_client(app):
    """A client of an app that allows 2 registration POSTs per minute. The limiter is one object for
    the whole process, so its on/off switch is put back afterwards for the other tests."""
    was_enabled = limiter.enabled
    limited = create_app({"TESTING": True, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                          "RATELIMIT_PUBLIC_POST": "2 per minute"})
    try:
        yield limited.test_client()
    finally:
        limiter.enabled = was_enabled


def test_too_many_posts_get_the_429_page(app, rate_limited_client, event_slug):
    for email in ("a@example.org", "b@example.org"):
        assert post_registration(rate_limited_client, event_slug, email=email).status_code == 303
    response = post_registration(rate_limited_client, event_slug, email="c@example.org")

    assert response.status_code == 429
    assert "Trop de tentatives" in page_text(response)
    assert "Retry-After" in response.headers
    assert rows(app) == (2, 2)
    # Reading the form is not limited.
    assert rate_limited_client.get(f"/events/{event_slug}/register").status_code == 200


# --- A workshop removed by an organiser while a person fills in the form -------------------------
# On SQLite every transaction holds the write lock from its start (webapp/database.py): the removal
# waits for the registration. On PostgreSQL it can come in between: these tests make it do so.

def event_with_a_workshop(app):
    """A published event with one workshop; returns (slug, workshop id)."""
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    with app.app_context():
        event = events.create_event(
            slug="journee-ateliers", title="Journée régionale", starts_at=start, ends_at=start + timedelta(hours=8),
            contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published,
            workshops=[dict(key="agro", title="Agroécologie", starts_at=start, ends_at=start + timedelta(hours=2))])
        return event.slug, event.workshops[0].id


def remove_workshop_elsewhere(workshop_id):
    """The organiser's removal, committed by another connection."""
    with db.engine.connect() as other:
        other.execute(delete(Workshop).where(Workshop.id == workshop_id))
        other.commit()


@support.ON_POSTGRESQL
def test_a_workshop_removed_after_the_form_was_read_is_refused_with_nothing_written(db_app):
    slug, workshop_id = event_with_a_workshop(db_app)
    with db_app.test_request_context():
        event = db.session.scalars(select(Event).where(Event.slug == slug)).one()
        workshop = event.workshops[0]  # as the form had it
        remove_workshop_elsewhere(workshop_id)

        with pytest.raises(RegistrationError) as refused:
            registrations.register(event, first_name="Anne", last_name="Le Goff", email="anne@example.org",
                                   organisation="", actor_type="ess", language="fr", workshops=[workshop])

        assert refused.value.code == RegistrationErrorCode.unknown_workshop
    assert rows(db_app) == (0, 0)


@support.ON_POSTGRESQL
def test_a_workshop_removed_while_the_registration_is_written_gets_the_form_again(db_app):
    slug, workshop_id = event_with_a_workshop(db_app)
    client = db_app.test_client()
    token = support.csrf_token(client, f"/events/{slug}/register")
    with db_app.app_context():
        # Between the checks and the INSERT of the registration: the first flush of the request.
        sqlalchemy_event.listen(db.session, "before_flush", lambda *_: remove_workshop_elsewhere(workshop_id),
                                once=True)
        response = client.post(f"/events/{slug}/register",
                               data=registration_form(csrf_token=token, workshops=[str(workshop_id)]))

    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert "Agroécologie" not in page_text(response)
    assert rows(db_app) == (0, 0)
