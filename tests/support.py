"""What the test files share: real services (a private Redis, an SMTP server (aiosmtpd), PostgreSQL
databases, Celery workers and gunicorn servers run as subprocesses), and helpers to register
people, fill in forms and read pages and mails. Fixtures are in conftest.py."""
import email
import email.policy
import html
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from icalendar import Calendar
from PIL import Image
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.mail import outbox
from webapp.mail.kinds import KINDS
from webapp.models import (
    Event,
    Mailing,
    OutboxMail,
    OutboxStatus,
    Registration,
    SeatOffer,
    Survey,
    SurveyParticipant,
    SurveyStatus,
    User,
    UserRole,
    WorkshopBooking,
)
from webapp.models.base import utcnow
from webapp.services import registrations, tokens

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("EMGAV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# BASE_URL of the app under test: the host of the links in its mails.
BASE_URL = "http://emgav.test"
# Wednesday 12 June 2030, 09:30 in Paris (summer time, UTC+2): events whose pages or mails show their date.
START = datetime(2030, 6, 12, 7, 30, tzinfo=UTC)
DEMO_SLUG = "journee-ess-solidarite-internationale"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=20.0, interval=0.05, message="condition"):
    """Poll `predicate` until it returns a truthy value (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class RedisServer:
    """A private redis-server on a free port, that a test may stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="emgav-redis-")
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), message="redis-server to listen")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        refusal = self.server.refusal_for(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        reply = self.server.next_reply()
        if reply:
            return reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.raw_messages.append(envelope.content)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            session.accepted = getattr(session, "accepted", 0) + 1
        return "250 Message accepted"

    async def handle_MAIL(self, smtp, session, envelope, address, mail_options):
        drop_every = self.server.drop_every
        if drop_every and getattr(session, "accepted", 0) == drop_every:  # as an idle timeout would
            smtp.transport.close()
            with self.server.lock:
                self.server.dropped += 1
            return "421 4.4.2 Closing connection"  # never read: the connection is gone
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


class SMTPServer:
    """aiosmtpd on loopback. `messages` holds what it accepted (email.message.EmailMessage);
    `fail_with(reply, times)` makes the next DATA commands answer `reply` (e.g. "451 ...");
    `refuse(address, reply)` makes RCPT TO answer `reply` for that address (e.g. "550 ...");
    `drop_every = n` makes it close each connection when a message follows its n-th (`dropped`
    counts them).
    `raw_messages` holds the bytes received."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.raw_messages = []
        self.envelopes = []
        self.drop_every = 0
        self.dropped = 0
        self.lock = threading.Lock()
        self._replies = []
        self._refused = {}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     data_size_limit=10 * 1024 * 1024)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def fail_with(self, reply, times=1):
        with self.lock:
            self._replies.extend([reply] * times)

    def next_reply(self):
        with self.lock:
            return self._replies.pop(0) if self._replies else None

    def refuse(self, address, reply="550 5.1.1 Mailbox does not exist"):
        with self.lock:
            self._refused[address.lower()] = reply

    def refusal_for(self, address):
        with self.lock:
            return self._refused.get(address.lower())

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.raw_messages.clear()
            self.envelopes.clear()
            self.drop_every = self.dropped = 0
            self._replies.clear()
            self._refused.clear()

    def to(self, address):
        """Messages received for `address`."""
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address, count=1, timeout=30.0, kind=None):
        """Wait until `count` messages for `address` arrived (optionally with X-Emgav-Kind: kind)."""

        def found():
            msgs = [m for m in self.to(address) if kind is None or m["X-Emgav-Kind"] == kind]
            return msgs if len(msgs) >= count else None

        return wait_until(found, timeout=timeout, message=f"{count} mail(s) {kind or ''} for {address}")


# For a test taking the `db_app` fixture (tests/conftest.py): run it on SQLite and on PostgreSQL, or
# on PostgreSQL only (a race that SQLite's write lock, taken by every transaction, rules out).
ON_BOTH_DATABASES = pytest.mark.parametrize(
    "db_app", ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])], indirect=True)
ON_POSTGRESQL = pytest.mark.parametrize(
    "db_app", [pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])], indirect=True)


def postgres_available():
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def create_postgres_database():
    """Create an empty PostgreSQL database; returns its SQLAlchemy URL."""
    import psycopg

    name = f"emgav_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def drop_postgres_database(name):
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_emgav(env, *args, check=True, cwd=ROOT, input=None):
    """Run the `emgav` console script with `env` in `cwd` (`input`: its standard input); returns
    the CompletedProcess."""
    return subprocess.run([str(VENV_BIN / "emgav"), *args], env=env, cwd=cwd, check=check, input=input,
                          capture_output=True, text=True, timeout=120)


class Process:
    """A subprocess started for a test, with its output kept in a log file."""

    def __init__(self, args, env, name):
        self.log_path = Path(tempfile.mkstemp(prefix=f"emgav-{name}-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def start_worker(env, concurrency=2, beat=False, queues=None):
    """A real Celery worker (prefork) on the test broker; `beat=True` embeds the scheduler; `queues`
    ("celery", "bulk") restricts it to those queues, as `make run` and docker-compose do."""
    args = [str(VENV_BIN / "celery"), "-A", "tasks:celery_app", "worker", "--loglevel=INFO",
            f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if queues:
        args += ["-Q", queues]
    if beat:
        args += ["--beat", "--schedule", tempfile.mktemp(prefix="emgav-beat-")]
    worker = Process(args, env, "worker")
    try:
        wait_until(lambda: "ready." in worker.log() or worker.proc.poll() is not None, timeout=60,
                   message="the Celery worker to start")
    except AssertionError:
        worker.stop()
        raise
    if worker.proc.poll() is not None:
        raise RuntimeError("Celery worker died:\n" + worker.log())
    return worker


def start_gunicorn(env, workers=4, port=None, *, production=False, app="webapp:create_app()"):
    """`app` under gunicorn on `port` (default: a free one), in `workers` processes of one thread;
    with `production`, under the production settings (gunicorn.conf.py): `workers` processes
    (None: WEB_CONCURRENCY or the file's default) of WEB_THREADS threads. Returns (Process, base_url)."""
    port = port or free_port()
    if production:
        options = ["-c", str(ROOT / "gunicorn.conf.py")]
        if workers:
            env = dict(env, WEB_CONCURRENCY=str(workers))
    else:
        options = ["-w", str(workers), "--timeout", "120"]
    server = Process([str(VENV_BIN / "gunicorn"), *options, "-b", f"127.0.0.1:{port}", app], env, "gunicorn")
    try:
        wait_until(lambda: port_open(port) or server.proc.poll() is not None, timeout=60,
                   message="gunicorn to listen")
    except AssertionError:
        server.stop()
        raise
    if server.proc.poll() is not None:
        raise RuntimeError("gunicorn died:\n" + server.log())
    return server, f"http://127.0.0.1:{port}"


def assert_counters_match_rows(event_id):
    """The seat counters of the event and of each workshop equal what the rows say: seats taken =
    holders (confirmed or offered registrations; booked or offered bookings), waiting = waiting rows.
    Call inside an app context."""
    db.session.expire_all()
    event = db.session.get(Event, event_id)

    def count(model, pool_column, pool_id, statuses):
        return db.session.scalar(select(func.count()).select_from(model).where(
            pool_column == pool_id, model.status.in_(statuses)))

    pools = [(event, Registration, Registration.event_id, ["confirmed", "offered"])]
    pools += [(w, WorkshopBooking, WorkshopBooking.workshop_id, ["booked", "offered"]) for w in event.workshops]
    for pool, model, pool_column, holding in pools:
        holders = count(model, pool_column, pool.id, holding)
        waiting = count(model, pool_column, pool.id, ["waiting"])
        assert (pool.seats_taken, pool.waiting_count) == (holders, waiting), (
            f"{pool!r}: counters (taken {pool.seats_taken}, waiting {pool.waiting_count}) "
            f"but rows (holders {holders}, waiting {waiting})")
        if pool.capacity is not None:
            assert pool.seats_taken <= pool.capacity, f"{pool!r} overbooked: {pool.seats_taken} > {pool.capacity}"


def forge(token):
    """`token` with one character of its signature changed, so that it can never be valid.

    (Changing the last characters is not enough: the last base64 character is only partly
    significant, so a new one can decode to the same signature.)"""
    i = len(token) - 5
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


# --- Forms ---

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_in(page_html):
    """The CSRF token of the form in a page's HTML."""
    match = CSRF_FIELD.search(page_html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def csrf_token(client, path):
    """The CSRF token of the form on the page at `path` (tied to the client's session cookie)."""
    page = client.get(path)
    assert page.status_code == 200, f"{path}: {page.status_code}"
    return csrf_token_in(page.get_data(as_text=True))


def submit(client, path, **data):
    """Open the page at `path` with the test client, then post its form (CSRF token included)."""
    return client.post(path, data=dict(data, csrf_token=csrf_token(client, path)))


def registration_form(**changes):
    """A complete, valid registration form; a change to None leaves that field out (like an unticked box)."""
    data = {
        "first_name": "Anne", "last_name": "Le Goff", "email": "anne@example.org",
        "organisation": "Xylm", "actor_type": "ess", "privacy_consent": "y",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def post_registration(client, slug, **changes):
    """Submit the registration form of event `slug` as a browser would (CSRF token included)."""
    return submit(client, f"/events/{slug}/register", **registration_form(**changes))


# --- Registrations made through the service (which queues their mails) ---

def person(event, name="Anne", *, confirm=True, **fields):
    """`name` registered for `event` (an Event or its id) with the address name@example.org and,
    unless `confirm=False`, the address confirmed: a seat, or a place on the waiting list. `fields`
    override the registration's (email, language, workshops…). Call inside a request context."""
    if not isinstance(event, Event):
        event = db.session.get(Event, event)
    values = dict(first_name=name, last_name="Le Goff", email=f"{name.lower()}@example.org", organisation="",
                  actor_type="asi", language="fr")
    values.update(fields)
    registration = registrations.register(event, **values)
    if confirm:
        registrations.confirm_address(tokens.confirm_token(registration))
    return registration


def person_id(app, event_id, name="Anne", *, workshops=(), confirm=True, **fields):
    """`person()` in a request context of its own, with the event's workshops of these keys;
    returns the registration's id."""
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        chosen = [w for w in event.workshops if w.key in workshops]
        return person(event, name, confirm=confirm, workshops=chosen, **fields).id


def personal_link(app, kind, registration_id):
    """The path of a registration's signed link of `kind` (`confirm` or `manage`)."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        return f"/{kind}/{getattr(tokens, f'{kind}_token')(registration)}"


def offer_link(app, registration_id):
    """The path of the link of the seat offer made to a registration."""
    with app.test_request_context():
        offer = db.session.scalars(select(SeatOffer).filter_by(registration_id=registration_id)).one()
        return f"/offers/{tokens.offer_token(offer)}"


def wait_until_all_mail_sent(app, timeout=60):
    """Wait until the worker has sent every mail of the outbox: no work is left in flight after the test."""
    def all_sent():
        with app.app_context():
            return all(row.status == OutboxStatus.sent for row in db.session.scalars(select(OutboxMail)))

    wait_until(all_sent, timeout=timeout, message="every mail to be sent")


# --- Mails of every kind ---

NOT_ABOUT_A_REGISTRATION = {"lost_links", "password_reset", "account_invitation"}


def mail_payloads(registration):
    """What each mail kind needs in its payload (a seat offer for the event, another for a workshop,
    a back-office account at the registration's address). Call inside a request context."""
    expiry = utcnow() + timedelta(hours=48)
    offer = SeatOffer(registration=registration, expires_at=expiry)
    workshop_offer = SeatOffer(registration=registration, workshop=registration.event.workshops[0], expires_at=expiry)
    db.session.add_all([offer, workshop_offer])
    db.session.commit()
    account = make_user(registration.email)
    mailing = Mailing(event_id=registration.event_id, subject="Nouvelles de {événement}",
                      body="Bonjour **{prénom}**, la salle a changé : {lieu}.\n\nVotre inscription : {lien}")
    db.session.add(mailing)
    survey = db.session.scalar(select(Survey).filter_by(event_id=registration.event_id)) or Survey(
        event=registration.event, title="Votre avis", status=SurveyStatus.active, invited_at=utcnow(),
        closes_at=utcnow() + timedelta(days=21))
    participant = SurveyParticipant(survey=survey, registration=registration)
    db.session.add(participant)
    db.session.commit()
    return {
        "seat_offer": {"offer_id": offer.id},
        "offer_expired": {"offer_id": workshop_offer.id},
        "invite_updated": {"sequence": 1},
        "registration_confirmed": {"sequence": 0},
        "registration_cancelled": {"sequence": 2, "with_invite": True},
        "event_cancelled": {"sequence": 2, "with_invite": True},
        "workshop_removed": {"sequence": 1, "with_invite": True, "workshop": {
            "title": "Atelier retiré", "room": "Salle 4", "starts_at": registration.event.starts_at.isoformat(),
            "ends_at": (registration.event.starts_at + timedelta(hours=1)).isoformat()}},
        "lost_links": {"registration_ids": [registration.id]},
        "password_reset": {"user_id": account},
        "account_invitation": {"user_id": account},
        "organiser_mailing": {"mailing_id": mailing.id},
        "survey_invitation": {"participant_id": participant.id},
        "survey_reminder": {"participant_id": participant.id},
    }


def rows_of_every_kind(registration, tag):
    """One outbox row of each mail kind for `registration` (whose event has a workshop), in its
    language, de-duplicated by `tag`; returns the rows."""
    extra = mail_payloads(registration)
    row_ids = [outbox.queue_mail(
        kind, registration.email, f"{tag}:{kind}", language=registration.language,
        registration=None if kind in NOT_ABOUT_A_REGISTRATION else registration, payload=extra.get(kind, {}),
    ) for kind in KINDS]
    db.session.commit()
    return [db.session.get(OutboxMail, row_id) for row_id in row_ids]


# --- Reading pages and mails ---

# A printf-style placeholder (%(name)s, %(num)d…) or a literal %%.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
# French typography (webapp/typography.py) undone: no-break spaces become spaces, ’ becomes '.
_TYPOGRAPHY = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2019": "'"})


def plain(text):
    """`text` as the msgids write it (plain spaces, straight apostrophes), to look for sentences
    in it: the French catalogue prints them with no-break spaces and typographic apostrophes."""
    return str(text).translate(_TYPOGRAPHY)


def plain_list(texts):
    """Each of `texts` as `plain` text (e.g. the `errors` of an EventRuleError)."""
    return [plain(text) for text in texts]


@contextmanager
def raises_saying(exception, text):
    """`pytest.raises(exception)`, whose message must contain `text` (compared as `plain` text)."""
    with pytest.raises(exception) as raised:
        yield raised
    assert text in plain(raised.value)


def page_text(response):
    """The page's HTML with its entities decoded and without the <wbr> of addresses, as `plain`
    text, to look for sentences in it."""
    return plain(html.unescape(response.get_data(as_text=True).replace("<wbr>", "")))


def sent_and_parsed(row):
    """The message of an outbox row as the SMTP server receives it (CRLF, 7-bit headers): the raw
    bytes, and the message parsed back."""
    from webapp.mail.message import build_message

    raw = build_message(row).as_bytes(policy=email.policy.SMTP)
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


# A mail confirming a seat to a person who holds one: the invite parts as in every mail with an
# invite (DESIGN.md), the HTML part with the QR image of the check-in code in a multipart/related.
SEAT_MAIL_TREE = [
    "multipart/mixed", [
        ["multipart/alternative", ["text/plain", ["multipart/related", ["text/html", "image/png"]], "text/calendar"]],
        "application/ics",
    ],
]


def mime_tree(message):
    """The MIME structure of a message: [multipart type, [children…]], or the type of a leaf part."""
    if message.is_multipart():
        return [message.get_content_type(), [mime_tree(part) for part in message.iter_parts()]]
    return message.get_content_type()


def decode_qr(png):
    """The text of the one QR code in a PNG image, read by zxing-cpp."""
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode.text


def outbox_message(app, kind):
    """The mail of the outbox row of `kind`, built as the worker builds it (in the row's language)."""
    from webapp.mail.message import build_message

    with app.app_context():
        row = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind)).one()
        return build_message(row)


def mail_text(message):
    """The plain-text part of a mail, as `plain` text."""
    return plain(message.get_body(preferencelist=("plain",)).get_content())


def text_and_html(message):
    """The plain-text and HTML parts of a mail, as `plain` text (in the HTML, &nbsp; too; the
    other entities are left as they are)."""
    html_part = message.get_body(preferencelist=("html",)).get_content()
    return mail_text(message), plain(html_part.replace("&nbsp;", " "))


def link_in(message, kind):
    """The path of the first /`kind`/ link (confirm, manage, offers…) to BASE_URL in the mail's plain text."""
    text = mail_text(message)
    match = re.search(rf"{re.escape(BASE_URL)}(/{kind}/\S+)", text)
    assert match, f"no {BASE_URL}/{kind}/ link in:\n{text}"
    return urlsplit(match.group(1)).path


def invite_of(message):
    """(METHOD, VEVENT) of the mail's calendar part, or None when it has none."""
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    if not parts:
        return None
    calendar = Calendar.from_ical(parts[0].get_payload(decode=True))
    method = str(calendar["METHOD"])
    assert parts[0].get_param("method") == method, "the MIME part and the calendar disagree on the method"
    [vevent] = calendar.walk("VEVENT")
    return method, vevent


# --- Back office ---

PASSWORD = "un mot de passe assez long"
_password_hashes = {}


def make_user(email, role=UserRole.organiser, *, events=(), password=PASSWORD, active=True):
    """A back-office account with this password (a real argon2id hash, computed once per password),
    assigned to the events of these ids; returns its id. Call inside an app context."""
    if password not in _password_hashes:
        _password_hashes[password] = PasswordHasher().hash(password)
    user = User(email=email, role=role, password_hash=_password_hashes[password], active=active)
    user.events = [db.session.get(Event, event_id) for event_id in events]
    db.session.add(user)
    db.session.commit()
    return user.id


def logged_in_as(client, user_id):
    """Put the account in the client's session, as the login page does (the login itself is
    tested on its own); returns the client."""
    user = db.session.get(User, user_id)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def log_in(client, email, password=PASSWORD, next_path=None, **environ):
    """Submit the login form (`environ`: e.g. REMOTE_ADDR); returns the response."""
    path = "/organiser/login" + (f"?next={next_path}" if next_path else "")
    token = csrf_token(client, "/organiser/password/forgot")
    return client.post(path, data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ)


class StatementCounter:
    """Counts the SQL statements the app's engine runs, and keeps them in `statements`."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def __enter__(self):
        sa_event.listen(self.engine, "before_cursor_execute", self._keep)
        return self

    def __exit__(self, *exc):
        sa_event.remove(self.engine, "before_cursor_execute", self._keep)

    def _keep(self, connection, cursor, statement, *args):
        self.statements.append(statement)

    @property
    def count(self):
        return len(self.statements)

    @property
    def queries(self):
        """The statements, apart from the BEGIN IMMEDIATE that SQLite's engine adds to every transaction."""
        return [sql for sql in self.statements if sql != "BEGIN IMMEDIATE"]
