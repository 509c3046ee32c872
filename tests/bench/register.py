"""`make bench-register`: the public registration path of Emgav under load, against a bare baseline.

Starts a private Redis, a local SMTP sink (aiosmtpd, in its own process), a PostgreSQL database
(127.0.0.1:5432, migrated), the Celery workers as docker-compose runs them (`-Q celery`, one
process, `-Q bulk`, two, with a quarter of the web's CPU weight), Emgav under gunicorn with the
production settings (gunicorn.conf.py, EMGAV_ENV=production; WEB_CONCURRENCY and WEB_THREADS as
the environment sets them) and the baseline app (tests/bench/baseline_app.py) under the same
gunicorn settings. Then, for the registration POST, the confirmation link, the event page and
the last two in turn on each connection (as at an opening rush, reads between the writes),
drives each app with the same load (BENCH_CONNECTIONS concurrent connections, a fresh address
per registration, a real CSRF token, session cookie and form stamp fetched per connection, which
then waits the bots' minimum fill time once), the two apps alternately, BENCH_ROUNDS times
BENCH_SECONDS seconds each, a registration round's mails reaching the sink before the next round
starts; prints requests/s, p50/p99 and errors of every round, the medians and their ratio, and
the time from the registration POST to the « confirm your address » mail reaching the SMTP sink,
idle and under load. Rate limits are off.

    .venv/bin/python -m tests.bench.register
    # defaults: BENCH_SECONDS=10 BENCH_ROUNDS=3 BENCH_CONNECTIONS=32 BENCH_ONLY=1234 BENCH_WORKER_NICE=6
"""
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from tests import support
from tests.bench.baseline_app import QUEUE, SCHEMA
from tests.bench.baseline_app import confirm_token as baseline_confirm_token

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# Processes of the transactional worker (`-Q celery`): docker-compose runs one.
WORKER_CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "1")
# docker-compose.yml gives the workers a quarter of the web's CPU weight (cpu_shares 256 against
# 1024); here they get nice 6, a weight of 272 against 1024 (0: the same weight as the web).
WORKER_NICE = int(os.environ.get("BENCH_WORKER_NICE", "6"))
# Which parts to run: 1 the registration POST, 2 the confirmation link, 3 the event page, 4 the
# confirmation link and the event page in turn.
ONLY = os.environ.get("BENCH_ONLY", "1234")
MIN_FILL_SECONDS = float(os.environ.get("REGISTRATION_MIN_FILL_SECONDS", "3"))  # the app's default
IDLE_MAILS = 10
SLUG = "journee-bench"
SECRET_KEY = "bench-secret-key-" + "x" * 40

# --- The SMTP sink: a separate process, so that it takes no time from the load generator. ---


def run_smtp_sink(port, path):
    """aiosmtpd on `port`; appends "<arrival time> <recipient>" to `path` for each mail."""
    from aiosmtpd.controller import Controller

    out = open(path, "a", buffering=1)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            for recipient in envelope.rcpt_tos:
                out.write(f"{time.time()} {recipient.lower()}\n")
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


class MailLog:
    """Arrival times of the mails the sink received, read from its file."""

    def __init__(self, path):
        self.path, self.offset, self.arrivals = path, 0, {}

    def refresh(self):
        with open(self.path) as f:
            f.seek(self.offset)
            for line in f:
                when, recipient = line.split()
                self.arrivals.setdefault(recipient, float(when))
            self.offset = f.tell()
        return self.arrivals

    def latencies(self, posted, timeout=60.0):
        """Seconds from each POST ({address: time sent}) to its mail; waits for them up to
        `timeout` seconds. Returns (latencies, number of mails that never came)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not posted.keys() <= self.refresh().keys():
            time.sleep(0.1)
        found = [self.arrivals[a] - sent for a, sent in posted.items() if a in self.arrivals]
        return found, len(posted) - len(found)


# --- The load generator: asyncio, one connection per request (gunicorn's sync workers close it). ---


async def http(port, method, path, body=None, cookie=None):
    """One HTTP/1.1 request; returns (status, headers as a list of (name, value), body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    data = body.encode() if body is not None else b""
    if body is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(data)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    response = await reader.read(-1)
    writer.close()
    head, _, content = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines]
    return int(status_line.split()[1]), headers, content


async def form_session(port):
    """A session cookie, its CSRF token and the form's signed « shown at » stamp, as a browser
    gets them from the form page."""
    status, headers, content = await http(port, "GET", f"/events/{SLUG}/register")
    cookie = next(value.split(";")[0] for name, value in headers if name.lower() == "set-cookie")
    token, shown_at = (re.search(rb'name="%s"[^>]*value="([^"]*)"' % name, content).group(1).decode()
                       for name in (b"csrf_token", b"shown_at"))
    return cookie, token, shown_at


class Scenario:
    """What one connection does in a loop; `request()` returns (method, path, body, cookie,
    expected status)."""

    async def prepare(self, port):
        pass


class Register(Scenario):
    name = "registration POST"

    def __init__(self, tag, posted):
        self.tag, self.posted, self.count = tag, posted, 0

    async def prepare(self, port):
        self.cookie, self.token, self.shown_at = await form_session(port)
        await asyncio.sleep(MIN_FILL_SECONDS)  # as a person filling the form: the bots' minimum fill time

    def request(self):
        self.count += 1
        address = f"{self.tag}-{self.count}@bench.example.org".lower()  # as the sink logs it
        self.posted[address] = time.time()
        body = urlencode(dict(first_name="Anne", last_name="Le Gall", email=address, organisation="Breizh ESS",
                              actor_type="ess", privacy_consent="y", csrf_token=self.token,
                              shown_at=self.shown_at))
        return "POST", f"/events/{SLUG}/register", body, self.cookie, 303


class Confirm(Scenario):
    name = "confirmation link"

    def __init__(self, tokens):
        self.tokens = tokens

    def request(self):
        if not self.tokens:
            return None
        return "GET", f"/confirm/{self.tokens.popleft()}", None, None, 200


class EventPage(Scenario):
    name = "event page GET"

    def request(self):
        return "GET", f"/events/{SLUG}", None, None, 200


class ConfirmThenPage(Scenario):
    name = "confirmation link and event page, in turn"

    def __init__(self, tokens):
        self.confirm, self.page, self.count = Confirm(tokens), EventPage(), 0

    def request(self):
        self.count += 1
        return (self.confirm if self.count % 2 else self.page).request()


async def drive(port, make_scenario, seconds, connections):
    """`connections` clients, each repeating its scenario's request for `seconds`; returns
    (requests per second, latencies in seconds, errors)."""
    latencies, errors = [], []

    async def client(scenario):
        while time.monotonic() < deadline:
            request = scenario.request()
            if request is None:
                break
            method, path, body, cookie, expected = request
            start = time.monotonic()
            try:
                status, _, _ = await http(port, method, path, body, cookie)
            except OSError as error:
                errors.append(repr(error))
                continue
            latencies.append(time.monotonic() - start)
            if status != expected:
                errors.append(status)

    scenarios = [make_scenario(i) for i in range(connections)]
    await asyncio.gather(*(s.prepare(port) for s in scenarios))
    begin = time.monotonic()
    deadline = begin + seconds
    await asyncio.gather(*(client(s) for s in scenarios))
    return len(latencies) / (time.monotonic() - begin), latencies, errors


async def register_once(port, tag):
    """One registration, nothing else running; returns {address: time sent}."""
    posted = {}
    scenario = Register(tag, posted)
    await scenario.prepare(port)
    method, path, body, cookie, _ = scenario.request()
    await http(port, method, path, body, cookie)
    return posted


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else float("nan")


def milliseconds(values, fraction):
    return 1000 * percentile(values, fraction)


# --- The services under test. ---


def lower_cpu_weight(process, nice):
    """Give `process` (a support.Process: its own session and process group) and its children
    `nice`: on each process, and on its session, which is what Linux weighs against the other
    sessions when it schedules processes grouped by session (autogroup)."""
    os.setpriority(os.PRIO_PGRP, process.proc.pid, nice)
    autogroup = Path(f"/proc/{process.proc.pid}/autogroup")
    if autogroup.exists():
        autogroup.write_text(str(nice))


def make_event_and_tokens(app, count):
    """The published event, and `count` pending registrations of it with their confirmation links
    (the confirmation rounds use them)."""
    from webapp.extensions import db
    from webapp.models import Event, EventStatus, Registration, RegistrationStatus
    from webapp.models.base import utcnow
    from webapp.services import tokens

    with app.app_context():
        start = utcnow().replace(microsecond=0) + timedelta(days=30)
        event = Event(slug=SLUG, title="Journée régionale : ESS et solidarité internationale",
                      description="Une journée d'échanges.", starts_at=start, ends_at=start + timedelta(hours=8),
                      venue_name="Espace Anne de Bretagne", venue_address="15 rue Martenot, 35000 Rennes",
                      contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published,
                      capacity=1_000_000)
        db.session.add(event)
        people = [Registration(event=event, first_name="Yann", last_name="Morvan", email=f"pool-{i}@bench.example.org",
                               actor_type="asi", status=RegistrationStatus.pending, privacy_consent_at=utcnow())
                  for i in range(count)]
        db.session.add_all(people)
        db.session.commit()
        return deque(tokens.confirm_token(person) for person in people)


def baseline_tokens(database_url, count):
    """`count` baseline registrations and their confirmation links, of another event than the one
    whose page the bench reads: the baseline's page counts its event's confirmed registrations
    (count(*)), and 11,000 of them, from the confirmation rounds, made each count take 2.5 ms of
    PostgreSQL, so that the page's figures depended on the rounds run before it (Emgav's page
    reads a counter)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # the app's workers create it too
        for statement in SCHEMA:
            connection.execute(text(statement))
        ids = connection.execute(text(
            "INSERT INTO baseline_registrations (event_slug, first_name, last_name, email, organisation, actor_type) "
            "SELECT :slug, 'Yann', 'Morvan', 'pool-' || i || '@bench.example.org', '', 'asi' "
            "FROM generate_series(1, :count) AS i RETURNING id"),
            {"slug": f"{SLUG}-confirmations", "count": count}).scalars().all()
    engine.dispose()
    return deque(baseline_confirm_token(SECRET_KEY, i) for i in ids)


def summary(label, rounds):
    rates = [rate for rate, _, _ in rounds]
    p50 = [milliseconds(latencies, 0.50) for _, latencies, _ in rounds]
    p99 = [milliseconds(latencies, 0.99) for _, latencies, _ in rounds]
    errors = sum(len(e) for _, _, e in rounds)
    print(f"  {label:9} median {statistics.median(rates):7.1f} req/s   p50 {statistics.median(p50):6.1f} ms   "
          f"p99 {statistics.median(p99):6.1f} ms   errors {errors}")
    return statistics.median(rates)


def load():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main():
    if not support.postgres_available():
        sys.exit(f"PostgreSQL is not reachable at {support.PG_ADMIN_URL}")
    work = Path(tempfile.mkdtemp(prefix="emgav-bench-"))
    redis = support.RedisServer()
    redis.start()
    smtp_port = support.free_port()
    mails = work / "mails.log"
    mails.touch()
    sink = subprocess.Popen([sys.executable, "-m", "tests.bench.register", "--smtp-sink", str(smtp_port), str(mails)],
                            cwd=support.ROOT, start_new_session=True)
    support.wait_until(lambda: support.port_open(smtp_port), message="the SMTP sink to listen")
    name, database_url = support.create_postgres_database()
    emgav_port, baseline_port = support.free_port(), support.free_port()
    env = dict(os.environ, EMGAV_ENV="production", SECRET_KEY=SECRET_KEY, DATABASE_URL=database_url,
               REDIS_URL=redis.url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_SECURITY="none",
               BASE_URL=f"http://127.0.0.1:{emgav_port}", RATELIMIT_ENABLED="0",
               EMGAV_INSTANCE_DIR=str(work / "instance"), BASELINE_DATABASE_URL=database_url)
    processes = []
    try:
        support.run_emgav(env, "db", "upgrade")
        os.environ.update(env)
        from webapp import create_app

        pool = int(os.environ.get("BENCH_CONFIRM_POOL", str(int(ROUNDS * SECONDS * 600))))
        emgav_tokens = make_event_and_tokens(create_app(), pool)
        workers = [support.start_worker(env, concurrency=int(WORKER_CONCURRENCY), queues="celery"),
                   support.start_worker(env, concurrency=2, queues="bulk")]
        for worker in workers:
            lower_cpu_weight(worker, WORKER_NICE)
        processes += workers
        # Processes: WEB_CONCURRENCY, or gunicorn.conf.py's default.
        processes.append(support.start_gunicorn(env, workers=None, port=emgav_port, production=True)[0])
        processes.append(support.start_gunicorn(env, workers=None, port=baseline_port, production=True,
                                                app="tests.bench.baseline_app:create_app()")[0])
        baseline_pool = baseline_tokens(database_url, 4 * pool)  # it goes faster
        apps = {"Emgav": emgav_port, "baseline": baseline_port}
        print(f"Emgav vs baseline: {CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS:g} s each, "
              f"gunicorn.conf.py (WEB_CONCURRENCY={env.get('WEB_CONCURRENCY', 'default')}, "
              f"WEB_THREADS={env.get('WEB_THREADS', 'default')}), transactional worker concurrency "
              f"{WORKER_CONCURRENCY}, workers at nice {WORKER_NICE}; {load()}")
        mail_log = MailLog(mails)

        # Warm up both (templates, connection pools), then the idle mail latency: one at a time.
        for app, port in apps.items():
            asyncio.run(drive(port, lambda i, app=app: Register(f"warm-{app}-{i}", {}), 2, 4))
        idle = {}
        for i in range(IDLE_MAILS):
            posted = asyncio.run(register_once(emgav_port, f"idle-{i}"))
            mail_log.latencies(posted)
            idle.update(posted)
        idle_latencies, idle_lost = mail_log.latencies(idle)

        scenarios = [
            ("registration POST", lambda app, r, posted: lambda i: Register(f"{app}-{r}-{i}", posted)),
            ("confirmation link", lambda app, r, posted: lambda i: Confirm(
                emgav_tokens if app == "Emgav" else baseline_pool)),
            ("event page GET", lambda app, r, posted: lambda i: EventPage()),
            ("confirmation link and event page, in turn", lambda app, r, posted: lambda i: ConfirmThenPage(
                emgav_tokens if app == "Emgav" else baseline_pool)),
        ]
        for title, factory in [scenario for number, scenario in enumerate(scenarios, 1) if str(number) in ONLY]:
            print(f"\n{title}")
            results = {app: [] for app in apps}
            loaded = {}
            for r in range(ROUNDS):
                for app, port in apps.items():
                    posted = {}
                    rate, latencies, errors = asyncio.run(drive(port, factory(app, r, posted), SECONDS, CONNECTIONS))
                    results[app].append((rate, latencies, errors))
                    print(f"  round {r + 1} {app:9} {rate:7.1f} req/s   p50 {milliseconds(latencies, 0.5):6.1f} ms   "
                          f"p99 {milliseconds(latencies, 0.99):6.1f} ms   errors {len(errors)}"
                          f"{' ' + str(sorted(set(map(str, errors)))[:3]) if errors else ''}   {load()}")
                    if app == "Emgav":
                        loaded.update(posted)
                        # The worker's mails of this round reach the sink before the next round
                        # starts, so that no round pays for the mails of the one before.
                        mail_log.latencies(posted, timeout=120)
            emgav, baseline = (summary(app, results[app]) for app in apps)
            print(f"  ratio of medians (Emgav / baseline): {emgav / baseline:.2f}")
            if title == "registration POST":
                under_load, lost = mail_log.latencies(loaded, timeout=120)
                print(f"  « confirm your address » mail, POST to SMTP sink: idle p50 "
                      f"{milliseconds(idle_latencies, 0.5):.0f} ms p95 {milliseconds(idle_latencies, 0.95):.0f} ms "
                      f"({len(idle_latencies)} mails, {idle_lost} missing); under load p50 "
                      f"{milliseconds(under_load, 0.5):.0f} ms p95 {milliseconds(under_load, 0.95):.0f} ms "
                      f"({len(under_load)} mails, {lost} missing after 120 s)")
        print(f"\n{load()}")
    finally:
        for process in reversed(processes):
            process.stop()
        sink.terminate()
        sink.wait(10)
        import redis as redis_client

        redis_client.Redis.from_url(redis.url).delete(QUEUE)
        redis.stop()
        support.drop_postgres_database(name)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--smtp-sink"]:
        run_smtp_sink(int(sys.argv[2]), sys.argv[3])
    else:
        main()
