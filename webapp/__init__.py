"""Emgav web application: `create_app()` builds the Flask app with its extensions and blueprints."""
import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import PROJECT_ROOT, load_config
from .extensions import babel, csrf, db, install_gettext, limiter, login_manager, migrate, select_locale


def create_app(overrides=None):
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(overrides))
    # instance/ holds the default SQLite database (and, under `emgav dev`, mails and broker).
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_gettext(app.jinja_env)  # in place of Flask-Babel's own

    from .database import configure_engine_events
    from .services.dispatch import celery_init_app

    with app.app_context():
        configure_engine_events(db.engine)
    celery_init_app(app)

    from . import models  # noqa: F401  (register the tables)
    from .organiser import bp as organiser_bp
    from .participant import bp as participant_bp
    from .public import bp as public_bp
    from .web import IdConverter, register_web_helpers

    app.url_map.converters["int"] = IdConverter  # before the blueprints add their rules
    app.register_blueprint(public_bp)
    app.register_blueprint(participant_bp)
    app.register_blueprint(organiser_bp, url_prefix="/organiser")
    register_web_helpers(app)

    from .cli import register_commands

    register_commands(app)
    if app.config["PROXY_COUNT"]:
        # Client address and scheme from the headers of that many trusted reverse proxies (the
        # rate limit counts per client). Links never use the Host header: see links.py.
        proxies = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    return app
