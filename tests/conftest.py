"""Shared fixtures, and the markers of the tests that need more than this process. The suite runs
against real services: a private redis-server, an aiosmtpd SMTP server, Celery workers and
gunicorn as subprocesses, SQLite files, PostgreSQL databases and Chromium."""
import os
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import sync_playwright

from . import support

_TMP = Path(tempfile.mkdtemp(prefix="emgav-tests-"))

# Markers given to every test that uses one of these fixtures (or a fixture that uses them).
MARKS_BY_FIXTURE = {
    "worker": {"slow"},
    "live_server": {"slow"},
    "pg_env": {"postgres", "slow"},
    "browser": {"browser", "slow"},
}
# A test that calls one of these helpers itself starts processes: it is slow.
PROCESS_HELPERS = {"run_emgav", "start_worker", "start_gunicorn", "Process"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    """Mark the slow, browser and PostgreSQL tests from the fixtures and helpers they use, so that
    `-m "not slow"` runs the quick part; browser and PostgreSQL tests are slow too. Benchmarks
    (marked `bench`) run with `make bench` only (it sets EMGAV_BENCH=1)."""
    if not os.environ.get("EMGAV_BENCH"):
        benchmarks = [item for item in items if item.get_closest_marker("bench")]
        if benchmarks:
            config.hook.pytest_deselected(items=benchmarks)
            items[:] = [item for item in items if not item.get_closest_marker("bench")]
    for item in items:
        marks = {mark for name in getattr(item, "fixturenames", ()) for mark in MARKS_BY_FIXTURE.get(name, ())}
        function = getattr(item, "function", None)
        if function is not None and PROCESS_HELPERS & set(function.__code__.co_names):
            marks.add("slow")
        if item.get_closest_marker("browser") or item.get_closest_marker("postgres"):
            marks.add("slow")
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """The message catalogues compiled, as `make translations` does, when a .mo is missing or older
    than its .po: a plain `pytest` in a fresh clone serves English pages and mails too (Flask-Babel
    keeps a catalogue for the app's lifetime, so this must happen before any app renders)."""
    translations = support.ROOT / "webapp" / "translations"
    stale = [po for po in translations.glob("*/LC_MESSAGES/messages.po")
             if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        subprocess.run([str(support.VENV_BIN / "pybabel"), "-q", "compile", "-d", str(translations)], check=True)


@pytest.fixture(scope="session")
def extracted(tmp_path_factory):
    """Every wrapped string of the sources (a babel Catalog), extracted as `make translations-update` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([str(support.VENV_BIN / "pybabel"), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_",
                    "-o", str(pot), "."], cwd=support.ROOT, check=True)
    with pot.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="session")
def redis_server():
    server = support.RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    server = support.SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def suite_database_url():
    """The database of the `app` fixture: a SQLite file or, with EMGAV_TEST_DATABASE=postgresql
    (`make fuzz` runs the fuzz suite on both), a fresh PostgreSQL database, dropped at the end."""
    if os.environ.get("EMGAV_TEST_DATABASE", "sqlite") == "sqlite":
        yield f"sqlite:///{_TMP / 'emgav.sqlite'}"
        return
    if not support.postgres_available():
        pytest.exit(f"EMGAV_TEST_DATABASE=postgresql, but PostgreSQL is not reachable at {support.PG_ADMIN_URL}")
    name, url = support.create_postgres_database()
    yield url
    support.drop_postgres_database(name)


@pytest.fixture(scope="session")
def base_env(redis_server, smtp_server, suite_database_url):
    """Environment of the app under test, in this process and in its subprocesses."""
    env = {
        "EMGAV_ENV": "test",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": suite_database_url,
        "REDIS_URL": redis_server.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "Emgav <noreply@emgav.test>",
        "BASE_URL": support.BASE_URL,
        "RATELIMIT_ENABLED": "0",
        # The registration form may be sent back at once (tests/test_bots.py checks the minimum).
        "REGISTRATION_MIN_FILL_SECONDS": "0",
        "EMGAV_INSTANCE_DIR": str(_TMP / "instance"),
        "OUTBOX_STALE_SECONDS": "2",
    }
    os.environ.update(env)
    return dict(os.environ)


@pytest.fixture(scope="session")
def app(base_env):
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app({"TESTING": True})
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def db_app(request, app):
    """The app on the suite's SQLite database or, parametrised indirectly with "postgresql"
    (`support.ON_BOTH_DATABASES`), on a fresh migrated PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield app
        return
    from webapp import create_app
    from webapp.extensions import db

    pg_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": request.getfixturevalue("pg_env")["DATABASE_URL"]})
    yield pg_app
    with pg_app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Each test starts with empty tables, an empty broker and an empty mailbox (when it uses them)."""
    if "redis_server" in request.fixturenames or "app" in request.fixturenames:
        import redis

        server = request.getfixturevalue("redis_server")
        if server.proc is None:  # a test stopped it and failed before starting it again
            server.start()
        redis.Redis.from_url(server.url).flushdb()
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        from webapp.extensions import db

        with app.app_context():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
    if "smtp_server" in request.fixturenames:
        request.getfixturevalue("smtp_server").clear()
    yield


@pytest.fixture
def app_ctx(app):
    with app.test_request_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def worker(app, base_env):
    """A real Celery worker (with beat embedded) on the private Redis, sending to the test SMTP server.

    One per test that asks for it: tests without it never have a worker acting behind their back.
    """
    proc = support.start_worker(base_env, beat=True)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def live_server(app, base_env):
    """The app under gunicorn (two processes); yields its base URL."""
    proc, url = support.start_gunicorn(base_env, workers=2)
    yield url
    proc.stop()


@pytest.fixture
def limited_app(app):
    """Build an app whose rate limits are on (counted in memory; `config` overrides its settings).
    The limiter is one object for the whole process, so its on/off switch is put back afterwards
    for the other tests."""
    from webapp import create_app
    from webapp.extensions import limiter

    was_enabled = limiter.enabled

    def build(**config):
        return create_app(dict({"TESTING": True, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                                "RATELIMIT_PUBLIC_POST": "2 per minute"}, **config))

    yield build
    limiter.enabled = was_enabled


@pytest.fixture
def make_event(db_app):
    """Create a published event (keyword arguments override the defaults) in `db_app`'s database
    (the suite's, unless the test asks for PostgreSQL); returns its id."""
    from webapp.extensions import db
    from webapp.models import Event, EventStatus, Workshop
    from webapp.models.base import utcnow

    counter = iter(range(1, 10_000))

    def factory(workshops=(), **fields):
        start = utcnow().replace(microsecond=0) + timedelta(days=30)
        values = dict(
            slug=f"journee-{next(counter)}",
            title="Journée régionale : ESS et solidarité internationale",
            description="Une journée d'échanges.",
            starts_at=start,
            ends_at=start + timedelta(hours=8),
            venue_name="Espace Anne de Bretagne",
            venue_address="15 rue Martenot, 35000 Rennes",
            contact_email="contact@bretagne-solidaire.bzh",
            status=EventStatus.published,
            capacity=None,
        )
        values.update(fields)
        with db_app.app_context():
            event = Event(**values)
            for w in workshops:
                event.workshops.append(Workshop(**w))
            db.session.add(event)
            db.session.commit()
            return event.id

    return factory


@pytest.fixture
def event_slug(make_event):
    """The slug of a published event on `support.START`, 40 seats, one workshop (20 seats, 14:30-16:00)."""
    make_event(slug="journee", starts_at=support.START, ends_at=support.START + timedelta(hours=8), capacity=40,
               workshops=[dict(key="riaa", title="Agroécologie", starts_at=support.START + timedelta(hours=5),
                               ends_at=support.START + timedelta(hours=6, minutes=30), room="Salle 1", capacity=20)])
    return "journee"


@pytest.fixture
def pg_env(base_env):
    """Environment pointing at a fresh, migrated PostgreSQL database (dropped afterwards).

    Skipped with a visible reason when no server is reachable, unless CI is set (then it fails).
    """
    if not support.postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {support.PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL not reachable at {support.PG_ADMIN_URL}")
    name, url = support.create_postgres_database()
    env = dict(base_env, DATABASE_URL=url)
    support.run_emgav(env, "db", "upgrade")
    yield env
    support.drop_postgres_database(name)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright. Skipped when it is missing, unless CI is set (then it fails)."""
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab on the app under gunicorn; `page.requested` lists every URL it asked for."""
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    yield page
    context.close()
