"""Real services for the tests: a private Redis, an SMTP server (aiosmtpd), PostgreSQL
databases, Celery workers and gunicorn servers run as subprocesses."""
import email
import email.policy
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
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("EMGAV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


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
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        reply = self.server.next_reply()
        if reply:
            return reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SMTPServer:
    """aiosmtpd on loopback. `messages` holds what it accepted (email.message.EmailMessage);
    `fail_with(reply, times)` makes the next DATA commands answer `reply` (e.g. "451 ...")."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.envelopes = []
        self.lock = threading.Lock()
        self._replies = []
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

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self._replies.clear()

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


def run_emgav(env, *args, check=True):
    """Run the `emgav` console script with `env`; returns the CompletedProcess."""
    return subprocess.run([str(VENV_BIN / "emgav"), *args], env=env, cwd=ROOT, check=check,
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


def start_worker(env, concurrency=2, beat=False):
    """A real Celery worker (prefork) on the test broker; `beat=True` embeds the scheduler."""
    args = [str(VENV_BIN / "celery"), "-A", "tasks:celery_app", "worker", "--loglevel=INFO",
            f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat"]
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


def start_gunicorn(env, workers=4):
    """The web app under gunicorn with several worker processes; returns (Process, base_url)."""
    port = free_port()
    server = Process([str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                      "--timeout", "120", "webapp:create_app()"], env, "gunicorn")
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
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Event, Registration, WorkshopBooking

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
