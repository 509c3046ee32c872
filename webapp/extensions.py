"""Flask extensions, created unbound and initialised in `create_app`."""
from flask import g, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Stable constraint names, so that Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


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


def public_post_limit():
    """Decorator for views whose POST is public (registration, lost link): rate-limited per IP."""
    from flask import current_app

    return limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC_POST"], methods=["POST"])
