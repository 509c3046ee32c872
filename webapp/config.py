"""Configuration read from environment variables (a `.env` file is read in development).

Every setting has a documented default, except `SECRET_KEY`, which must be set outside
development: `load_config` raises `ConfigError` with a clear message instead.
"""
import os
from datetime import timedelta
from pathlib import Path

from dkim.crypto import UnparsableKeyError, parse_pem_private_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A required setting is missing or invalid; raised at start-up."""


def _int(name, default):
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def load_config(overrides=None):
    """Build the Flask config dict from the environment, then apply `overrides`."""
    env = os.environ.get("EMGAV_ENV", "development")
    instance = Path(os.environ.get("EMGAV_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    config = {
        "EMGAV_ENV": env,
        # Storage: SQLite file in instance/ by default, PostgreSQL in production.
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'emgav.sqlite'}"
        ),
        # A pooled connection is checked before use: one closed by a database restart or
        # failover is replaced instead of failing the next request or task.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Broker for Celery (and rate-limit storage).
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Overrides the broker only (make run uses it for the embedded fallback broker).
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", ""),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": _int("SMTP_PORT", 1025),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_SECURITY": os.environ.get("SMTP_SECURITY", "none").lower(),
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", 30),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Emgav <noreply@emgav.localhost>"),
        # DKIM signing of every mail: all three, or none (no signature).
        "DKIM_SELECTOR": os.environ.get("DKIM_SELECTOR", ""),
        "DKIM_DOMAIN": os.environ.get("DKIM_DOMAIN", ""),
        "DKIM_PRIVATE_KEY_PATH": os.environ.get("DKIM_PRIVATE_KEY_PATH", ""),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        "EMAIL_TEMPLATES_DIR": os.environ.get(
            "EMAIL_TEMPLATES_DIR", str(PROJECT_ROOT / "email_templates")
        ),
        # Links and delays.
        "CONFIRM_LINK_MAX_AGE": timedelta(hours=_int("CONFIRM_LINK_HOURS", 72)),
        "SEAT_OFFER_VALIDITY": timedelta(hours=_int("SEAT_OFFER_HOURS", 48)),
        # Back office: "forgotten password" links, and the link of a new account to choose its password.
        "PASSWORD_RESET_MAX_AGE": timedelta(minutes=_int("PASSWORD_RESET_MINUTES", 60)),
        "ACCOUNT_INVITATION_MAX_AGE": timedelta(hours=_int("ACCOUNT_INVITATION_HOURS", 72)),
        # Outbox sweeper: rows left queued/sending longer than this are re-enqueued.
        "OUTBOX_STALE_AFTER": timedelta(seconds=_int("OUTBOX_STALE_SECONDS", 120)),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 8),
        # Personal data (README « Données personnelles »): how long each kind is kept before the
        # retention task anonymises or deletes it, in months; the privacy page shows these figures.
        "RETENTION_REGISTRATIONS_MONTHS": _int("RETENTION_REGISTRATIONS_MONTHS", 24),  # after the event's end
        "RETENTION_MAILS_MONTHS": _int("RETENTION_MAILS_MONTHS", 12),
        "RETENTION_JOURNAL_MONTHS": _int("RETENTION_JOURNAL_MONTHS", 36),
        # A person's link to download their data, mailed to their address.
        "DATA_ACCESS_LINK_MAX_AGE": timedelta(hours=_int("DATA_ACCESS_LINK_HOURS", 48)),
        # Version of the privacy text people agree to when they register (kept with their consent).
        "PRIVACY_TEXT_VERSION": os.environ.get("PRIVACY_TEXT_VERSION", "2026-11"),
        # Who is responsible for the data, and where to write about it (the privacy page).
        "PRIVACY_CONTROLLER": os.environ.get("PRIVACY_CONTROLLER", "Réseau Bretagne Solidaire"),
        "PRIVACY_CONTACT": os.environ.get("PRIVACY_CONTACT", "donnees-personnelles@emgav.localhost"),
        # Bulk mail (mailings, surveys): rows per batch, each batch sent over one SMTP connection.
        "MAIL_BATCH_SIZE": _int("MAIL_BATCH_SIZE", 50),
        # Web side never waits long for a broker that is down.
        "BROKER_CONNECT_TIMEOUT": _int("BROKER_CONNECT_TIMEOUT", 2),
        # Forms and sessions.
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("BASE_URL", "").startswith("https://"),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # Reverse proxies in front of the app whose X-Forwarded-For / -Proto headers are trusted.
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        # Web server processes (gunicorn reads it too, as its default number of workers).
        "WEB_CONCURRENCY": _int("WEB_CONCURRENCY", 1),
        # i18n
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ["fr", "en"],
        # Rate limits on public POSTs, stored in Redis; while Redis is down, in each process's
        # memory, each process allowing its share of the limit (see extensions.post_limit).
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") not in ("0", "false"),
        "RATELIMIT_PUBLIC_POST": os.environ.get("RATELIMIT_PUBLIC_POST", "10 per minute"),
        # Failed logins to the back office, per IP address and per account (the address typed).
        "RATELIMIT_LOGIN_IP": os.environ.get("RATELIMIT_LOGIN_IP", "10 per minute"),
        "RATELIMIT_LOGIN_ACCOUNT": os.environ.get("RATELIMIT_LOGIN_ACCOUNT", "5 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get(
            "RATELIMIT_STORAGE_URI", os.environ.get("REDIS_URL", "memory://")
        ),
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "INSTANCE_DIR": str(instance),
    }
    if overrides:
        config.update(overrides)
    _check(config)
    return config


def _check(config):
    if config["SMTP_SECURITY"] not in ("none", "starttls", "ssl"):
        raise ConfigError("SMTP_SECURITY must be one of: none, starttls, ssl")
    config["DKIM_PRIVATE_KEY"] = _dkim_private_key(config)
    if not config["SECRET_KEY"]:
        if config["EMGAV_ENV"] in ("development", "test"):
            config["SECRET_KEY"] = "dev-only-insecure-secret-key"
        else:
            raise ConfigError(
                "SECRET_KEY is required outside development: set it to a long random "
                "string (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )


DKIM_SETTINGS = ("DKIM_SELECTOR", "DKIM_DOMAIN", "DKIM_PRIVATE_KEY_PATH")


def _dkim_private_key(config):
    """The DKIM private key (PEM bytes) when the three DKIM settings are set, None when none is."""
    missing = [name for name in DKIM_SETTINGS if not config[name]]
    if len(missing) == len(DKIM_SETTINGS):
        return None
    if missing:
        raise ConfigError(f"DKIM signing needs {', '.join(DKIM_SETTINGS)}: {', '.join(missing)} not set "
                          "(set all three, or none to send unsigned mail)")
    path = config["DKIM_PRIVATE_KEY_PATH"]
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"DKIM_PRIVATE_KEY_PATH: cannot read {path}: {exc.strerror}") from None
    try:
        parse_pem_private_key(key)
    except UnparsableKeyError:
        raise ConfigError(f"DKIM_PRIVATE_KEY_PATH: {path} is not a PEM private key (RSA)") from None
    return key
