"""Hardening against hostile or unlucky input: NUL bytes, file parts in text fields, lost
database connections, internal details in the health check, the Host header, cached personal
pages, the rate limit without its storage, timing of the lost-link form, names without a
letter, the calendar feed of cancelled events, addresses that cannot be mailed."""
import html
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
import requests
from flask_wtf import FlaskForm
from icalendar import Calendar
from sqlalchemy import func, select

from webapp import create_app
from webapp.extensions import db
from webapp.models import Event, EventStatus, OutboxMail, Registration, RegistrationStatus, SeatOffer
from webapp.models.base import utcnow
from webapp.services import registrations, seats, tokens

from . import support

PERSON = dict(first_name="Anne", last_name="Le Goff", email="anne@example.org", organisation="Xylm",
              actor_type="asi", language="fr")


def create_event(app, **fields):
    """A published event in the database of `app` (any app, SQLite or PostgreSQL); returns its slug."""
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    values = dict(slug="journee", title="Journée régionale", starts_at=start, ends_at=start + timedelta(hours=8),
                  contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published)
    values.update(fields)
    with app.app_context():
        db.session.add(Event(**values))
        db.session.commit()
    return values["slug"]


def register(app, slug, **fields):
    """A pending registration to the event; returns its id."""
    with app.app_context():
        event = db.session.scalars(select(Event).filter_by(slug=slug)).one()
        return registrations.register(event, **dict(PERSON, **fields)).id


def confirm(app, registration_id):
    with app.test_request_context():
        registrations.confirm_address(tokens.confirm_token(db.session.get(Registration, registration_id)))


def manage_path(app, registration_id):
    with app.app_context():
        return f"/manage/{tokens.manage_token(db.session.get(Registration, registration_id))}"


def seat_offer(app):
    """Capacity 1: the first person cancels, the second (waiting) is offered the seat.
    Returns (id of the second person's registration, offer link path)."""
    slug = create_event(app, slug="complet", capacity=1)
    first, second = register(app, slug), register(app, slug, email="bleuenn@example.org")
    confirm(app, first)
    confirm(app, second)
    with app.app_context():
        registration = db.session.get(Registration, first)
        registrations.cancel_registration(registration)
        seats.offer_free_seats(registration.event_id)
        offer = db.session.scalars(select(SeatOffer).filter_by(registration_id=second)).one()
        return second, f"/offers/{tokens.offer_token(offer)}"


def registration_form(client, slug, **changes):
    """A complete registration form of event `slug`, with its CSRF token."""
    path = f"/events/{slug}/register"
    data = dict(PERSON, privacy_consent="y", csrf_token=support.csrf_token(client, path))
    del data["language"]
    data.update(changes)
    return data


def text(response):
    return html.unescape(response.get_data(as_text=True))


def field_error(response, field):
    """The error message shown next to `field`, or None."""
    match = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)) if match else None


def row_counts(app):
    """(registrations, outbox mails) in the database."""
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Registration)),
                db.session.scalar(select(func.count()).select_from(OutboxMail)))


def ask_for_links(client, email, **headers):
    token = support.csrf_token(client, "/lost-link")
    return client.post("/lost-link", data={"email": email, "csrf_token": token}, headers=headers)


# --- NUL bytes: refused before they reach a query, on SQLite and PostgreSQL ----------------

@pytest.mark.parametrize("path", ["/events/%00", "/events/%00/register", "/events/%00/register/sent",
                                  "/events/%00.ics", "/events/journee%00", "/confirm/%00", "/manage/%00",
                                  "/manage/%00/cancel", "/offers/%00"])
@support.ON_BOTH_DATABASES
def test_a_nul_byte_in_the_path_is_a_404(db_app, path):
    create_event(db_app)
    response = db_app.test_client().get(path)
    assert response.status_code == 404
    assert "Page introuvable" in text(response)


@support.ON_BOTH_DATABASES
def test_a_nul_byte_in_the_query_string_or_a_form_is_a_400(db_app):
    slug = create_event(db_app)
    client = db_app.test_client()
    assert client.get(f"/events/{slug}?lang=fr%00").status_code == 400
    assert client.get(f"/events/{slug}?x%00=1").status_code == 400
    for field in ("first_name", "email", "actor_type", "website"):
        response = client.post(f"/events/{slug}/register",
                               data=registration_form(client, slug, **{field: "anne\x00@example.org"}))
        assert response.status_code == 400
        assert "Demande incorrecte" in text(response)
    response = ask_for_links(client, "anne\x00@example.org")
    assert response.status_code == 400
    assert row_counts(db_app) == (0, 0)


@pytest.mark.parametrize("number", [2**31, 2**63 - 1, 2**63, 2**64, 10**30])
@support.ON_BOTH_DATABASES
def test_a_huge_id_in_a_back_office_url_is_no_such_page(db_app, number):
    """Ids beyond 32 bits overflowed PostgreSQL's INTEGER (beyond 64, SQLite's driver): a 500 instead of a 404."""
    create_event(db_app)
    client = db_app.test_client()
    with db_app.app_context():
        support.logged_in_as(client, support.make_user(f"admin-{number}@example.org", support.UserRole.admin))
    for path in (f"/organiser/events/{number}", f"/organiser/events/1/registrations/{number}",
                 f"/organiser/events/1/workshops/{number}/edit", f"/organiser/accounts/{number}/disable"):
        method = client.post if path.endswith("disable") else client.get
        assert method(path).status_code == 404, path


@pytest.mark.parametrize("capacity", [str(2**31), str(2**64)])
@support.ON_BOTH_DATABASES
def test_a_huge_number_of_seats_is_refused_next_to_the_field(db_app, capacity):
    """It overflowed the INTEGER column (PostgreSQL) or SQLite's driver: a 500."""
    from .test_organiser_access import EVENT_FORM

    client = db_app.test_client()
    with db_app.app_context():
        support.logged_in_as(client, support.make_user(f"admin-{capacity}@example.org", support.UserRole.admin))
    token = support.csrf_token(client, "/organiser/events/new")
    response = client.post("/organiser/events/new", data=dict(EVENT_FORM, capacity=capacity, csrf_token=token))
    assert response.status_code == 422
    assert "Indiquez 100000 places au plus." in field_error(response, "capacity")
    with db_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


# --- A text field sent as a file part ------------------------------------------------------

def a_file():
    return (io.BytesIO(b"Anne"), "a.txt", "text/plain")


@pytest.mark.parametrize("field", ["first_name", "last_name", "email", "organisation"])
def test_a_text_field_sent_as_a_file_is_refused_next_to_the_field(app, client, field):
    slug = create_event(app)
    response = client.post(f"/events/{slug}/register", data=registration_form(client, slug, **{field: a_file()}),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert field_error(response, field).strip().endswith("Ce champ attend du texte, pas un fichier.")
    assert row_counts(app) == (0, 0)


def test_the_lost_link_address_sent_as_a_file_is_refused(app, client):
    token = support.csrf_token(client, "/lost-link")
    response = client.post("/lost-link", data={"email": a_file(), "csrf_token": token},
                           content_type="multipart/form-data")
    assert "Ce champ attend du texte, pas un fichier." in field_error(response, "email")


def test_the_manage_form_refuses_a_file_part_and_changes_nothing(app, client):
    reg_id = register(app, create_event(app))
    path = manage_path(app, reg_id)
    data = {"first_name": a_file(), "last_name": "Le Goff", "actor_type": "asi", "language": "fr",
            "csrf_token": support.csrf_token(client, path)}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert "Ce champ attend du texte, pas un fichier." in field_error(response, "first_name")
    with app.app_context():
        assert db.session.get(Registration, reg_id).first_name == "Anne"


@pytest.mark.parametrize("path", ["/lost-link", "/events/journee/register", "/organiser/login"])
def test_a_multipart_part_without_a_name_is_left_out(app, client, path):
    """A damaged Content-Disposition (no name) gave a field named None, and a 500 in the CSRF check."""
    create_event(app)
    token = support.csrf_token(client, "/lost-link")
    body = (b'--b\r\nContent-Disposition: form-data\r\n\r\nAnne\r\n'
            b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode() + b"\r\n--b--\r\n")
    response = client.post(path, data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code in (200, 422)
    assert row_counts(app) == (0, 0)


def test_every_form_of_the_app_derives_from_the_base_form():
    from webapp.forms import Form
    from webapp.participant import forms  # noqa: F401  (loads the participant forms)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    app_forms = {cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("webapp.")}
    assert len(app_forms) >= 4
    assert [cls for cls in app_forms if not issubclass(cls, Form)] == []


# --- Lost database connections -------------------------------------------------------------

def terminate_backends(database_url):
    """Kill every PostgreSQL connection to that database, as a server restart or a failover would."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(support.PG_ADMIN_URL, autocommit=True) as admin:
        return admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()[0]


def test_web_processes_replace_lost_database_connections(pg_env):
    server, url = support.start_gunicorn(pg_env, workers=2)
    try:
        for _ in range(10):  # every process has a connection in its pool
            assert requests.get(f"{url}/", timeout=30).status_code == 200
        assert terminate_backends(pg_env["DATABASE_URL"]) >= 1
        statuses = [requests.get(f"{url}/", timeout=30).status_code for _ in range(20)]
    finally:
        server.stop()
    assert statuses == [200] * 20, server.log()


# --- /healthz tells nothing internal -------------------------------------------------------

def test_health_check_says_error_without_internal_detail(base_env, caplog):
    closed_port = support.free_port()
    sick = create_app({"TESTING": True,
                       "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/emgav",
                       "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0"})
    response = sick.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded", "database": "error", "broker": "error"}
    assert str(closed_port) not in response.get_data(as_text=True)
    assert str(closed_port) in caplog.text  # the details are in the log


# --- Absolute links come from BASE_URL; behind a proxy ------------------------------------

def test_confirmation_page_links_to_base_url_whatever_the_host_header(app, client):
    reg_id = register(app, create_event(app))
    with app.app_context():
        path = f"/confirm/{tokens.confirm_token(db.session.get(Registration, reg_id))}"
    page = text(client.get(path, headers={"Host": "evil.example"}))
    assert "http://emgav.test/manage/" in page
    assert "evil.example" not in page


def test_accepted_offer_page_links_to_base_url_whatever_the_host_header(app, client):
    _, offer_path = seat_offer(app)
    evil = {"Host": "evil.example"}  # the test client keeps cookies per host: the form is read there too
    token = support.csrf_token_in(client.get(offer_path, headers=evil).get_data(as_text=True))
    page = text(client.post(offer_path, data={"answer": "accept", "csrf_token": token}, headers=evil))
    assert "Votre place est confirmée" in page
    assert "http://emgav.test/manage/" in page
    assert "evil.example" not in page


@pytest.mark.parametrize("path", ["/events/journee.ics", "/events.ics"])
def test_calendar_files_link_to_base_url_whatever_the_host_header(app, client, path):
    create_event(app)
    response = client.get(path, headers={"Host": "evil.example"})
    [vevent] = Calendar.from_ical(response.data).events
    assert vevent["URL"] == "http://emgav.test/events/journee"
    assert "evil.example" not in response.get_data(as_text=True)


@pytest.mark.parametrize("proxy_count", [0, 1])
def test_the_rate_limit_sees_the_forwarded_client_only_behind_a_trusted_proxy(limited_app, proxy_count):
    client = limited_app(PROXY_COUNT=proxy_count).test_client()
    statuses = [ask_for_links(client, "anne@example.org", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                for i in range(3)]
    # Behind a proxy, three visitors; without one, the header is anybody's word: one client.
    assert statuses == ([200, 200, 200] if proxy_count else [200, 200, 429])
    if proxy_count:
        again = [ask_for_links(client, "anne@example.org", **{"X-Forwarded-For": "203.0.113.0"}).status_code
                 for _ in range(2)]
        assert again == [200, 429]


# --- Lost-link form: the request only hands the address to a worker -----------------------

def test_lost_link_request_writes_nothing_and_the_worker_mails_registered_addresses_only(
    request, app, client, smtp_server
):
    register(app, create_event(app))
    before = row_counts(app)
    assert ask_for_links(client, "anne@example.org").status_code == 200
    assert ask_for_links(client, "nobody@example.org").status_code == 200
    assert row_counts(app) == before  # nothing written by the web request, whatever the address

    worker = request.getfixturevalue("worker")
    [mail] = smtp_server.wait_for("anne@example.org", kind="lost_links")
    assert "http://emgav.test/manage/" in mail.get_body(("plain",)).get_content()
    support.wait_until(lambda: len(re.findall(r"emgav\.send_lost_links\[[^]]+\] succeeded", worker.log())) == 2,
                       message="both lost-link tasks done")
    assert smtp_server.to("nobody@example.org") == []


# --- Personal pages are never cached -------------------------------------------------------

def test_pages_with_a_personal_token_are_not_stored_by_caches(app, client):
    second, offer_path = seat_offer(app)
    third = register(app, "complet", email="corentin@example.org")
    with app.app_context():
        confirm_path = f"/confirm/{tokens.confirm_token(db.session.get(Registration, third))}"
    paths = [confirm_path, manage_path(app, second), manage_path(app, second) + "/cancel", offer_path]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    with app.app_context():
        assert db.session.get(Registration, third).status == RegistrationStatus.waiting  # the confirm page ran


# --- Rate limit with its storage down ------------------------------------------------------

def test_with_the_rate_limit_storage_down_the_limit_holds_across_processes(app, base_env):
    env = dict(base_env, RATELIMIT_ENABLED="1", RATELIMIT_PUBLIC_POST="10 per minute", WEB_CONCURRENCY="4",
               RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{support.free_port()}/0")  # nothing listens there
    server, url = support.start_gunicorn(env, workers=4)
    try:
        session = requests.Session()
        token = support.csrf_token_in(session.get(f"{url}/lost-link", timeout=30).text)
        cookies = session.cookies.get_dict()

        start_together = threading.Barrier(16)

        def post(number):
            if number < 16:  # the first ones at once: every process and thread meets the dead storage
                start_together.wait()
            return requests.post(f"{url}/lost-link", data={"email": "anne@example.org", "csrf_token": token},
                                 cookies=cookies, timeout=30).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(post, range(60)))
    finally:
        server.stop()
    assert set(statuses) <= {200, 429}, statuses
    assert 1 <= statuses.count(200) <= 4 * (10 // 4), statuses  # each process its share of the limit


# --- Names need a letter -------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [("first_name", "\u200b"), ("last_name", "\u200b\u200c\u2060"),
                                          ("first_name", "-."), ("last_name", "\u00ad")])
def test_a_name_without_any_letter_is_refused(app, client, field, value):
    slug = create_event(app)
    response = client.post(f"/events/{slug}/register", data=registration_form(client, slug, **{field: value}))
    assert response.status_code == 422
    assert "Ce champ doit contenir au moins une lettre." in field_error(response, field)
    assert row_counts(app) == (0, 0)


def test_the_manage_form_refuses_a_name_without_any_letter(app, client):
    reg_id = register(app, create_event(app))
    path = manage_path(app, reg_id)
    data = {"first_name": "\u200b", "last_name": "Le Goff", "actor_type": "asi", "language": "fr",
            "csrf_token": support.csrf_token(client, path)}
    response = client.post(path, data=data)
    assert "Ce champ doit contenir au moins une lettre." in field_error(response, "first_name")
    with app.app_context():
        assert db.session.get(Registration, reg_id).first_name == "Anne"


def test_names_in_any_script_are_accepted(app, client):
    slug = create_event(app)
    response = client.post(f"/events/{slug}/register",
                           data=registration_form(client, slug, first_name="Zoë-Maëlle", last_name="李"))
    assert response.status_code == 303


# --- The calendar feed publishes cancellations ---------------------------------------------

def test_calendar_feed_shows_cancelled_events_as_cancelled_and_no_draft(app, client):
    create_event(app, slug="maintenue", title="Maintenue")
    create_event(app, slug="annulee", title="Annulée", status=EventStatus.cancelled)
    create_event(app, slug="brouillon", title="Brouillon", status=EventStatus.draft)
    response = client.get("/events.ics")
    assert response.status_code == 200
    statuses = {str(vevent["SUMMARY"]): str(vevent["STATUS"])
                for vevent in Calendar.from_ical(response.data).walk("VEVENT")}
    assert statuses == {"Maintenue": "CONFIRMED", "Annulée": "CANCELLED"}


# --- Addresses that cannot be mailed are refused -------------------------------------------

@pytest.mark.parametrize("address, message", [
    ("zoë.unicode@example.org", "Les lettres accentuées et les caractères non latins ne sont pas acceptés avant le @"),
    ("анна@example.org", "Les lettres accentuées et les caractères non latins ne sont pas acceptés avant le @"),
    ("a" * 65 + "@example.org", "La partie avant le @ ne peut pas dépasser 64 caractères."),
])
def test_addresses_that_cannot_be_mailed_are_refused(app, client, address, message):
    slug = create_event(app)
    response = client.post(f"/events/{slug}/register", data=registration_form(client, slug, email=address))
    assert response.status_code == 422
    assert message in field_error(response, "email")
    assert message in field_error(ask_for_links(client, address), "email")
    assert row_counts(app) == (0, 0)


def test_a_local_part_of_64_characters_is_accepted(app, client):
    slug = create_event(app)
    response = client.post(f"/events/{slug}/register",
                           data=registration_form(client, slug, email="a" * 64 + "@example.org"))
    assert response.status_code == 303


def test_an_internationalised_domain_is_kept_in_its_ascii_form(app, client):
    slug = create_event(app)
    response = client.post(f"/events/{slug}/register", data=registration_form(client, slug, email="anne@exämple.org"))
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Registration.email)).one() == "anne@xn--exmple-cua.org"
