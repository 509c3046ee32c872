"""Configuration from environment variables: defaults, validation, start-up errors, `.env`,
the README's table, which must list every variable config.py reads, and the production web
server's settings (gunicorn.conf.py)."""
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.client import HTTPConnection
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

from webapp.config import PROJECT_ROOT, ConfigError, load_config

from . import support

# Every variable config.py reads: `os.environ.get("NAME"` or `_int("NAME"`.
CONFIG_SOURCE = (PROJECT_ROOT / "webapp" / "config.py").read_text(encoding="utf-8")
CONFIG_VARIABLES = sorted(set(re.findall(r'(?:os\.environ\.get|_int)\(\s*"([A-Z_]+)"', CONFIG_SOURCE)))


@pytest.fixture
def clean_env(monkeypatch):
    """No configuration variable set: what a fresh shell gives."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_env):
    config = load_config()

    assert config["EMGAV_ENV"] == "development"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{PROJECT_ROOT / 'instance' / 'emgav.sqlite'}"
    assert config["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert config["CELERY_BROKER_URL"] == ""
    assert (config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_SECURITY"]) == ("127.0.0.1", 1025, "none")
    assert (config["SMTP_USERNAME"], config["SMTP_PASSWORD"]) == ("", "")
    assert config["MAIL_FROM"] == "Emgav <noreply@emgav.localhost>"
    assert config["BASE_URL"] == "http://127.0.0.1:5000"
    assert config["CONFIRM_LINK_MAX_AGE"] == timedelta(hours=72)
    assert config["SEAT_OFFER_VALIDITY"] == timedelta(hours=48)
    assert config["SESSION_COOKIE_SECURE"] is False
    # Development works without a secret, with an obviously unsafe one.
    assert "insecure" in config["SECRET_KEY"]


def test_instance_dir_moves_the_default_database(clean_env, tmp_path):
    clean_env.setenv("EMGAV_INSTANCE_DIR", str(tmp_path))
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'emgav.sqlite'}"
    assert config["INSTANCE_DIR"] == str(tmp_path)


def test_values_from_the_environment(clean_env):
    clean_env.setenv("SMTP_PORT", "587")
    clean_env.setenv("SMTP_SECURITY", "STARTTLS")
    clean_env.setenv("BASE_URL", "https://emgav.example.org/")
    clean_env.setenv("SEAT_OFFER_HOURS", "24")
    config = load_config()
    assert (config["SMTP_PORT"], config["SMTP_SECURITY"]) == (587, "starttls")
    assert config["BASE_URL"] == "https://emgav.example.org"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SEAT_OFFER_VALIDITY"] == timedelta(hours=24)


@pytest.mark.parametrize("env", ["production", "staging"])
def test_secret_key_is_required_outside_development(clean_env, env):
    clean_env.setenv("EMGAV_ENV", env)
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        load_config()
    clean_env.setenv("SECRET_KEY", "a-long-random-secret")
    assert load_config()["SECRET_KEY"] == "a-long-random-secret"


def test_smtp_security_must_be_known(clean_env):
    clean_env.setenv("SMTP_SECURITY", "tls")
    with pytest.raises(ConfigError, match="SMTP_SECURITY must be one of: none, starttls, ssl"):
        load_config()


def test_numbers_must_be_whole(clean_env):
    clean_env.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="SMTP_PORT must be a whole number"):
        load_config()


def test_a_start_up_error_is_a_clear_message_not_a_traceback(base_env, tmp_path):
    env = {k: v for k, v in base_env.items() if k != "SECRET_KEY"}
    env["EMGAV_ENV"] = "production"
    result = support.run_emgav(env, "db", "upgrade", check=False, cwd=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is required outside development" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_emgav_reads_dotenv_from_the_current_directory(base_env, tmp_path):
    database = tmp_path / "from-dotenv.sqlite"
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{database}\nEMGAV_ENV=development\n")
    env = {k: v for k, v in base_env.items() if k not in ("DATABASE_URL", "EMGAV_ENV")}

    result = support.run_emgav(env, "db", "upgrade", check=False, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()


def test_the_environment_wins_over_dotenv(base_env, tmp_path):
    (tmp_path / ".env").write_text("EMGAV_ENV=production\n")  # would require SECRET_KEY...
    env = dict(base_env, EMGAV_ENV="test", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    env.pop("SECRET_KEY")

    result = support.run_emgav(env, "db", "upgrade", check=False, cwd=tmp_path)

    assert result.returncode == 0, result.stderr  # ...but the environment says "test"


def test_readme_documents_every_variable():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `([A-Z_]+)` \|", readme, re.MULTILINE)}
    assert CONFIG_VARIABLES, "no variable found in config.py"
    assert set(CONFIG_VARIABLES) <= table, f"missing from README: {sorted(set(CONFIG_VARIABLES) - table)}"


def test_dkim_takes_its_three_settings_and_a_readable_key(clean_env, tmp_path):
    assert load_config()["DKIM_PRIVATE_KEY"] is None  # none set: mail goes unsigned
    clean_env.setenv("DKIM_SELECTOR", "emgav")
    with pytest.raises(ConfigError, match="DKIM_DOMAIN, DKIM_PRIVATE_KEY_PATH not set"):
        load_config()
    clean_env.setenv("DKIM_DOMAIN", "bretagne-solidaire.test")
    clean_env.setenv("DKIM_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="DKIM_PRIVATE_KEY_PATH: cannot read .*missing.pem"):
        load_config()
    (tmp_path / "missing.pem").write_text("not a key\n")
    with pytest.raises(ConfigError, match="is not a PEM private key"):
        load_config()


def test_the_production_web_server_answers_more_connections_than_it_takes_at_once(base_env):
    """gunicorn.conf.py lets each process take 2 connections per thread (8 here): 40 at once all
    get their answer, the others waiting in the kernel's queue; and a browser's connection is
    still kept alive between its requests."""
    server, url = support.start_gunicorn(dict(base_env, WEB_THREADS="2"), workers=2, production=True)
    try:
        def status(_):
            with urlopen(f"{url}/healthz", timeout=30) as response:
                return response.status

        with ThreadPoolExecutor(40) as pool:
            assert list(pool.map(status, range(40))) == [200] * 40
        connection, sockets = HTTPConnection(urlsplit(url).netloc, timeout=10), []
        for _ in range(3):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            sockets.append(connection.sock)  # None once the server closed it
        connection.close()
        assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)
    finally:
        server.stop()
