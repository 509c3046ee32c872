"""The least a durable registration needs, as a bare Flask app: the yardstick of `make bench-register`.

The same form fields parsed and checked (Flask-WTF, CSRF token in the session), one INSERT
committed in PostgreSQL, one Celery `delay`; a confirmation link (signed token, one UPDATE
committed, one `delay`); an event page (one SELECT, a small template). Served by gunicorn with
the same settings as Emgav: `gunicorn 'tests.bench.baseline_app:create_app()'`, configured by
BASELINE_DATABASE_URL, REDIS_URL and SECRET_KEY.
"""
import os

from celery import Celery
from flask import Flask, abort, redirect
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import create_engine, text
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

ACTOR_TYPES = ["asi", "ess", "collectivite", "recherche", "paysanne", "entreprise", "particulier", "autre"]
# Nobody consumes this queue: the bench empties it at the end.
QUEUE = "baseline"
SALT = "baseline-confirm"

SCHEMA = ("""
CREATE TABLE IF NOT EXISTS baseline_registrations (
    id serial PRIMARY KEY, event_slug varchar(100) NOT NULL, first_name varchar(100) NOT NULL,
    last_name varchar(100) NOT NULL, email varchar(254) NOT NULL, organisation varchar(200) NOT NULL,
    actor_type varchar(30) NOT NULL, status varchar(20) NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now())""",
          "CREATE INDEX IF NOT EXISTS ix_baseline_registrations_event ON baseline_registrations (event_slug, status)")

PAGE = """<!doctype html><title>{{ title }}</title><h1>{{ title }}</h1><p>{{ taken }} seats taken</p>
<form method="post">{{ form.csrf_token }}{% for field in form if field.name != 'csrf_token' %}
{{ field.label }} {{ field() }}{% endfor %}</form>"""


class RegistrationForm(FlaskForm):
    first_name = StringField(validators=[DataRequired(), Length(max=100)])
    last_name = StringField(validators=[DataRequired(), Length(max=100)])
    email = StringField(validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    organisation = StringField(validators=[Length(max=200)])
    actor_type = SelectField(choices=[(key, key) for key in ACTOR_TYPES], validators=[DataRequired()])
    privacy_consent = BooleanField(validators=[DataRequired()])
    shown_at = HiddenField()  # Emgav's form carries it too (its bots' minimum fill time)


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    engine = create_engine(os.environ["BASELINE_DATABASE_URL"], pool_pre_ping=True)
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # workers start together
        for statement in SCHEMA:
            connection.execute(text(statement))
    celery = Celery("baseline", broker=os.environ["REDIS_URL"])
    celery.conf.update(task_default_queue=QUEUE, task_ignore_result=True)

    @celery.task(name="baseline.deliver")
    def deliver(registration_id):
        """Never run: the work a worker would do is not part of the yardstick."""

    page_template = app.jinja_env.from_string(PAGE)
    confirmed_template = app.jinja_env.from_string("<!doctype html><title>OK</title><p>Confirmed {{ id }}</p>")
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT)

    def page(slug, form):
        with engine.connect() as connection:
            taken = connection.execute(
                text("SELECT count(*) FROM baseline_registrations WHERE event_slug = :slug AND status = 'confirmed'"),
                {"slug": slug}).scalar_one()
        return page_template.render(title=slug, taken=taken, form=form)

    @app.get("/events/<slug>")
    def event(slug):
        return page(slug, RegistrationForm())

    @app.route("/events/<slug>/register", methods=["GET", "POST"])
    def register(slug):
        form = RegistrationForm()
        if not form.validate_on_submit():
            return page(slug, form), 400 if form.is_submitted() else 200
        with engine.begin() as connection:
            registration_id = connection.execute(
                text("INSERT INTO baseline_registrations (event_slug, first_name, last_name, email, organisation, "
                     "actor_type) VALUES (:slug, :first_name, :last_name, :email, :organisation, :actor_type) "
                     "RETURNING id"),
                dict(slug=slug, first_name=form.first_name.data, last_name=form.last_name.data,
                     email=form.email.data.lower(), organisation=form.organisation.data,
                     actor_type=form.actor_type.data)).scalar_one()
        deliver.delay(registration_id)
        return redirect(f"/events/{slug}/register/sent", 303)

    @app.get("/confirm/<token>")
    def confirm(token):
        try:
            registration_id = signer.loads(token, max_age=3600)
        except BadSignature:
            abort(404)
        with engine.begin() as connection:
            connection.execute(text("UPDATE baseline_registrations SET status = 'confirmed' WHERE id = :id"),
                               {"id": registration_id})
        deliver.delay(registration_id)
        return confirmed_template.render(id=registration_id)

    return app


def confirm_token(secret_key, registration_id):
    """The baseline's confirmation link for a registration."""
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps(registration_id)
