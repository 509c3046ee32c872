"""Public pages: event list, event page, calendar files, health check, security headers,
error pages and the language switch."""
import re
import struct
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from webapp import create_app
from webapp.extensions import db
from webapp.models import Event, EventStatus
from webapp.models.base import utcnow

from .support import START, StatementCounter, page_text

END = START + timedelta(hours=8)  # 09:30-17:30 in Paris


def set_fields(app, event_id, **fields):
    with app.app_context():
        event = db.session.get(Event, event_id)
        for name, value in fields.items():
            setattr(event, name, value)
        db.session.commit()


# --- Event list ---

def test_index_lists_published_upcoming_events_only(client, make_event):
    now = utcnow()
    make_event(title="Journée à venir", starts_at=START, ends_at=END)
    make_event(title="Brouillon secret", status=EventStatus.draft)
    make_event(title="Journée passée", starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2))
    make_event(title="Journée annulée", status=EventStatus.cancelled)

    page = page_text(client.get("/"))

    assert "Journée à venir" in page
    assert "mercredi 12 juin 2030, de 09:30 à 17:30 (heure de Paris)" in page
    assert "Brouillon secret" not in page
    assert "Journée passée" not in page
    assert "Journée annulée" not in page


def test_index_without_events_says_so(client, app):
    response = client.get("/")
    assert response.status_code == 200
    assert "Aucune rencontre n'est annoncée pour le moment" in page_text(response)


def test_index_lists_events_in_date_order(client, make_event):
    make_event(title="Deuxième rencontre", starts_at=START + timedelta(days=7), ends_at=END + timedelta(days=7))
    make_event(title="Première rencontre", starts_at=START, ends_at=END)
    page = page_text(client.get("/"))
    assert page.index("Première rencontre") < page.index("Deuxième rencontre")


# --- Event page ---

def test_event_page_shows_time_in_the_event_zone_place_and_seats(client, make_event, app):
    event_id = make_event(
        slug="journee-rennes", starts_at=START, ends_at=END, capacity=150,
        workshops=[
            dict(key="xylm", title="Coopération Xylm–STADD", room="Salle Bréhat", capacity=25,
                 starts_at=START + timedelta(hours=5), ends_at=START + timedelta(hours=6, minutes=30)),
            dict(key="riaa", title="Réseau RIAA", room="Salle Ouessant", capacity=None,
                 starts_at=START + timedelta(hours=5), ends_at=START + timedelta(hours=6, minutes=30)),
        ],
    )
    set_fields(app, event_id, seats_taken=140)

    response = client.get("/events/journee-rennes")
    page = page_text(response)

    assert response.status_code == 200
    assert "<h1>Journée régionale : ESS et solidarité internationale</h1>" in page
    # 07:30 UTC is 09:30 in Paris in June.
    assert "mercredi 12 juin 2030, de 09:30 à 17:30 (heure de Paris)" in page
    assert "Espace Anne de Bretagne" in page and "15 rue Martenot, 35000 Rennes" in page
    assert "10 places restantes" in page
    assert "Coopération Xylm–STADD" in page and "Réseau RIAA" in page
    assert "de 14:30 à 16:00" in page
    assert "salle : Salle Bréhat" in page
    assert "25 places restantes" in page
    assert "Les inscriptions sont ouvertes." in page
    assert 'href="/events/journee-rennes/register"' in page
    assert 'href="/events/journee-rennes.ics"' in page


def test_an_event_page_and_its_calendar_file_read_the_event_with_its_workshops_at_once(client, make_event, app):
    make_event(slug="journee-rennes", starts_at=START, ends_at=END, workshops=[
        dict(key=key, title=f"Atelier {key}", starts_at=START + timedelta(hours=5), ends_at=START + timedelta(hours=6))
        for key in ("agro", "eau")])
    with app.app_context():
        engine = db.engine

    for path in ("/events/journee-rennes", "/events/journee-rennes.ics"):
        with StatementCounter(engine) as statements:
            response = client.get(path)
        assert response.status_code == 200 and b"Atelier eau" in response.data
        assert len(statements.queries) == 1, path


def test_event_in_another_zone_is_shown_in_that_zone(client, make_event):
    make_event(slug="reunion", starts_at=START, ends_at=END, timezone="Indian/Reunion")
    # 07:30 UTC is 11:30 in La Réunion (UTC+4).
    assert "mercredi 12 juin 2030, de 11:30 à 19:30 (heure de La Réunion)" in page_text(client.get("/events/reunion"))


@pytest.mark.parametrize("fields, state_text, register_link", [
    (dict(), "Les inscriptions sont ouvertes.", "S'inscrire"),
    (dict(capacity=2, seats_taken=2), "L'événement est complet : vous pouvez vous inscrire sur la liste d'attente.",
     "S'inscrire sur la liste d'attente"),
    (dict(registration_opens_at=datetime(2030, 5, 1, 8, 0, tzinfo=UTC)),
     "Les inscriptions ouvriront le mercredi 1er mai 2030 à 10:00 (heure de Paris).", None),
    (dict(registration_closes_at=utcnow() - timedelta(hours=1)), "Les inscriptions sont closes.", None),
    (dict(status=EventStatus.cancelled), "Cet événement est annulé.", None),
])
def test_event_page_shows_the_registration_state(client, make_event, app, fields, state_text, register_link):
    event_id = make_event(slug="etat", starts_at=START, ends_at=END)
    set_fields(app, event_id, **fields)

    page = page_text(client.get("/events/etat"))

    assert state_text in page
    if register_link:
        assert f'<a class="button" href="/events/etat/register">{register_link}</a>' in page
    else:
        assert 'href="/events/etat/register"' not in page


def test_draft_and_unknown_events_are_404(client, make_event):
    make_event(slug="brouillon", status=EventStatus.draft)
    for path in ("/events/brouillon", "/events/brouillon/register", "/events/brouillon.ics", "/events/inconnu"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page introuvable" in page_text(response)


# --- Calendar files ---

def test_event_ics_is_a_public_calendar_of_that_event(client, make_event):
    make_event(slug="journee-ics", title="Journée ICS", starts_at=START, ends_at=END)
    response = client.get("/events/journee-ics.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Journée ICS"
    assert vevent.decoded("DTSTART") == START
    assert "15 rue Martenot" in str(vevent["LOCATION"])
    assert not vevent.get("ATTENDEE")


def test_events_ics_has_one_vevent_per_published_event(client, make_event):
    make_event(title="Première", starts_at=START, ends_at=END)
    make_event(title="Seconde", starts_at=START + timedelta(days=1), ends_at=END + timedelta(days=1))
    make_event(title="Brouillon", status=EventStatus.draft)

    response = client.get("/events.ics")

    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert sorted(str(v["SUMMARY"]) for v in calendar.walk("VEVENT")) == ["Première", "Seconde"]


# --- Health check ---

def test_healthz_ok_with_database_and_broker_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_degraded_but_200_when_the_broker_is_down(client, redis_server):
    redis_server.stop()
    try:
        response = client.get("/healthz")
    finally:
        redis_server.start()
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["broker"] == "error"
    assert client.get("/healthz").get_json()["broker"] == "ok"


def test_healthz_503_when_the_database_is_unreachable(base_env, tmp_path):
    broken = create_app({"TESTING": True,
                         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing-dir' / 'emgav.sqlite'}"})
    response = broken.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["database"] == "error"
    assert body["broker"] == "ok"


# --- Security headers and error pages ---

def assert_security_headers(response):
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"]


def test_security_headers_on_pages_errors_and_static_files(client, make_event):
    make_event(slug="entetes")
    for path in ("/", "/events/entetes", "/events/entetes.ics", "/healthz", "/nulle-part", "/static/emgav.css"):
        response = client.get(path)
        assert_security_headers(response)
        assert "Strict-Transport-Security" not in response.headers  # BASE_URL is http:// in tests


def test_hsts_only_when_served_over_https(base_env):
    secure = create_app({"TESTING": True, "BASE_URL": "https://inscriptions.example.org"})
    response = secure.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_load_nothing_from_other_hosts(client, make_event):
    make_event(slug="local")
    for path in ("/", "/events/local", "/events/local/register"):
        page = client.get(path).get_data(as_text=True)
        assert "<script" not in page
        assert 'href="/static/emgav.css"' in page
        for attribute in ('src="http', 'href="//', 'src="//', "@import"):
            assert attribute not in page, (path, attribute)


def test_the_site_has_an_icon(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48">' in page
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page

    ico = client.get("/favicon.ico")  # asked for by browsers even without the link
    assert ico.status_code == 200
    assert ico.content_type in ("image/vnd.microsoft.icon", "image/x-icon")
    reserved, kind, count = struct.unpack("<HHH", ico.data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = [struct.unpack("<B", ico.data[6 + 16 * i:7 + 16 * i])[0] for i in range(count)]
    assert sizes == [16, 32, 48]
    assert_security_headers(ico)

    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200
    assert svg.content_type.startswith("image/svg+xml")
    assert "<script" not in svg.get_data(as_text=True)


def test_404_page_is_friendly_and_french(client, app):
    response = client.get("/cette-page-n-existe-pas")
    assert response.status_code == 404
    page = page_text(response)
    assert '<html lang="fr">' in page
    assert "<h1>Page introuvable</h1>" in page


def test_405_page_keeps_the_allow_header(client, make_event):
    make_event(slug="lecture-seule")
    response = client.post("/events/lecture-seule")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Action impossible" in page_text(response)


def test_413_page_for_oversized_posts(client, make_event):
    make_event(slug="trop-gros")
    response = client.post("/events/trop-gros/register", data={"first_name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "Envoi trop volumineux" in page_text(response)


def test_500_page_is_friendly(base_env):
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("bug")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = page_text(response)
    assert "Erreur du service" in page
    assert "RuntimeError" not in page and "Traceback" not in page
    assert_security_headers(response)


# --- Language ---

def test_french_by_default_and_english_from_the_browser(client, app):
    assert '<html lang="fr">' in page_text(client.get("/"))
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page_text(english)


def test_language_switch_is_remembered_in_the_session(client, make_event):
    make_event(slug="langue", starts_at=START, ends_at=END)

    switched = page_text(client.get("/events/langue?lang=en"))
    assert '<html lang="en">' in switched
    # Dates follow the locale (the English catalogue translates the sentence around them).
    assert "Wednesday, June 12, 2030" in switched
    assert "9:30" in switched

    assert '<html lang="en">' in page_text(client.get("/"))
    assert '<html lang="fr">' in page_text(client.get("/?lang=fr"))
    assert '<html lang="fr">' in page_text(client.get("/events/langue"))


def test_language_links_keep_the_current_page(client, make_event):
    make_event(slug="liens")
    page = client.get("/events/liens").get_data(as_text=True)
    assert 'href="/events/liens?lang=en" lang="en" hreflang="en"' in page
    assert re.search(r'href="/events/liens\?lang=fr"[^>]*aria-current="true"', page)
    assert not re.search(r'href="/events/liens\?lang=en"[^>]*aria-current', page)


def test_privacy_notice_is_linked_from_every_page(client, make_event):
    make_event(slug="vie-privee")
    for path in ("/", "/events/vie-privee", "/events/vie-privee/register"):
        assert 'href="/privacy"' in client.get(path).get_data(as_text=True)
    notice = client.get("/privacy")
    assert notice.status_code == 200
    assert "Vos droits" in page_text(notice)
