"""Flask extensions, created unbound and initialised in `create_app`."""
import flask_limiter
from flask import g, request, session
from flask_babel import Babel, get_locale, get_translations
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits import parse_many
from limits.storage import MemoryStorage
from sqlalchemy import MetaData

# Stable constraint names, so that Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter, told at start whether its storage (Redis) answers.

    Flask-Limiter finds out that Redis is down from a failing request, and the requests that fail
    alongside it, in the other threads of the process, pass uncounted. A process that starts
    while Redis is down therefore starts on the in-memory counts straight away; Flask-Limiter
    keeps checking Redis and goes back to it when it answers again."""

    def init_app(self, app):
        super().init_app(app)
        if self.enabled and app.config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"):
            self._storage_dead = not self.storage.check()  # Flask-Limiter's own flag; no public setter


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
# The back office's accounts; `webapp.organiser.access` sets its user loader and its answer to anonymous visitors.
login_manager = LoginManager()


def select_locale():
    """`?lang=` switch (remembered in the session), then the language of the participant whose
    link is open (`g.participant_language`), then the browser's preference, then French."""
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, worker outside a rendering context
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    if session.get("lang") in languages:
        return session["lang"]
    if g.get("participant_language") in languages:
        return g.participant_language
    return request.accept_languages.best_match(languages) or languages[0]


babel = Babel()


def current_translations():
    """Flask-Babel's translations for the current locale, looked up once per request and locale
    (Flask-Babel looks them up again at every message: 6 % of a confirmation). `force_locale`
    sets a new locale object, so a rendering inside it gets its own language."""
    locale = get_locale()
    cached = g.get("_translations")
    if cached is None or cached[0] is not locale:
        cached = g._translations = (locale, get_translations())
    return cached[1]


def install_gettext(env):
    """Give the Jinja environment `env` (pages or mails) gettext through `current_translations`."""
    env.install_gettext_callables(
        gettext=lambda message: current_translations().gettext(message),
        ngettext=lambda singular, plural, n: current_translations().ngettext(singular, plural, n),
        pgettext=lambda context, message: current_translations().pgettext(context, message),
        npgettext=lambda context, singular, plural, n: current_translations().npgettext(context, singular, plural, n),
        newstyle=True,
    )


def public_post_limit():
    """Decorator for views whose POST is public (registration, lost link): rate-limited per IP."""
    return post_limit("RATELIMIT_PUBLIC_POST")


def post_limit(setting, key_func=None, deduct_when=None):
    """Decorator: rate-limit the view's POSTs to the limit in config `setting`, counted per IP
    address (or per `key_func()`), and only for the responses `deduct_when(response)` accepts."""
    return limiter.limit(lambda: _limit_value(setting), key_func=key_func, methods=["POST"],
                         deduct_when=deduct_when)


def _limit_value(setting):
    """The limit in config `setting`, counted in Redis for all the web processes together. When
    the counts are kept in each process's memory instead (Redis unreachable, or `memory://`), each
    of the WEB_CONCURRENCY processes allows its share (at least one), so that together they allow
    no more than the limit."""
    from flask import current_app

    value = current_app.config[setting]
    processes = current_app.config["WEB_CONCURRENCY"]
    if processes == 1 or not isinstance(limiter.limiter.storage, MemoryStorage):
        return value
    return "; ".join(f"{max(1, item.amount // processes)} per {item.multiples} {item.GRANULARITY.name}"
                     for item in parse_many(value))
