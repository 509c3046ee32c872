"""Public pages: the list of events, an event, its registration form, calendar files and the
health check. Views stay thin: registering is `webapp.services.registrations.register`."""
import logging

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import joinedload

from ..extensions import db, post_limit, public_post_limit
from ..forms import RegistrationForm, with_questions
from ..models import Event, EventStatus, Question
from ..models.base import utcnow
from ..services import registrations
from ..services.calendar import build_event_calendar
from ..services.errors import RegistrationError, RegistrationErrorCode
from ..services.questions import AnswersError
from ..web import render_form_page
from . import bp

log = logging.getLogger(__name__)


def _visible_event_or_404(slug, with_questions=False):
    """A published or cancelled event (a cancelled one is shown as such); drafts do not exist.
    Read with its workshops, which its page and calendar file show, in one query; `with_questions`:
    with its registration questions too, for its registration form (their choices in one more
    query, only when it has some)."""
    query = _EVENT_WITH_QUESTIONS if with_questions else _EVENT
    event = db.session.scalars(query, {"slug": slug}).unique().one_or_none()
    if event is None or event.status == EventStatus.draft:
        abort(404)
    return event


# Built once: every public page of an event runs one of them.
_EVENT = select(Event).where(Event.slug == bindparam("slug")).options(joinedload(Event.workshops))
_EVENT_WITH_QUESTIONS = _EVENT.options(joinedload(Event.questions).selectinload(Question.choices))


@bp.get("/")
def index():
    events = db.session.scalars(
        select(Event)
        .where(Event.status == EventStatus.published, Event.ends_at > utcnow())
        .order_by(Event.starts_at, Event.id)
    ).all()
    return render_template("public/index.html", events=events)


@bp.get("/events/<slug>")
def event(slug):
    event = _visible_event_or_404(slug)
    return render_template("public/event.html", event=event, state=event.registration_state())


def _submitted_address():
    return "register:" + request.form.get("email", "").strip().lower()


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@public_post_limit()
@post_limit("RATELIMIT_REGISTER_ADDRESS", key_func=_submitted_address)
def register(slug):
    try:
        return _register(slug)
    except AnswersError:  # a chosen choice was deleted meanwhile: the form, checked again, says so
        db.session.rollback()
        return _register(slug)


def _register(slug):
    event = _visible_event_or_404(slug, with_questions=True)
    if not event.accepts_registrations():
        return _registration_unavailable(event, event.registration_state())
    form = with_questions(RegistrationForm, event.questions)(workshops=event.workshops)
    if request.method == "POST" and form.website.data:
        log.info("honeypot filled on %s: submission dropped", request.path)
        return redirect(url_for(".registration_sent", slug=slug), 303)
    if not form.validate_on_submit() or form.filled_too_fast():
        return _registration_form(form, event)
    try:
        registrations.register(
            event,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            email=form.email.data,
            organisation=form.organisation.data,
            actor_type=form.actor_type.data,
            language=str(get_locale()),
            workshops=form.chosen_workshops(),
            answers=form.answers(),
            news_consent=form.news_consent.data,
        )
    except RegistrationError as error:
        db.session.rollback()
        if error.code == RegistrationErrorCode.unknown_workshop:  # removed meanwhile: the form says so
            return _register(slug)
        if error.code == RegistrationErrorCode.too_many_address_checks:
            form.form_errors.append(_("Cette adresse a reçu trop de messages de confirmation depuis une heure. "
                                      "Réessayez plus tard."))
            return _registration_form(form, event)
        db.session.refresh(event)  # registration closed in the meantime
        return _registration_unavailable(event, event.registration_state())
    return redirect(url_for(".registration_sent", slug=slug), 303)


def _registration_form(form, event):
    form.stamp_shown_at()
    return render_form_page("public/register.html", form, event=event, state=event.registration_state())


def _registration_unavailable(event, state):
    """The event does not take registrations (not open yet, closed, cancelled): say so, no form."""
    status = 409 if request.method == "POST" else 200
    return render_template("public/registration_unavailable.html", event=event, state=state), status


@bp.get("/events/<slug>/register/sent")
def registration_sent(slug):
    """After registering: the same page whether the address was new or already known."""
    event = _visible_event_or_404(slug)
    return render_template("public/registration_sent.html", event=event)


@bp.get("/privacy")
@bp.get("/confidentialite", endpoint="privacy_fr")
def privacy():
    return render_template("public/privacy.html")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico by themselves: the site's icon (pages link the SVG one too)."""
    return current_app.send_static_file("favicon.ico")


@bp.get("/events/<slug>.ics")
def event_ics(slug):
    event = _visible_event_or_404(slug)
    response = _calendar_response([event])
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


@bp.get("/events.ics")
def events_ics():
    """Published and cancelled events: a subscriber's calendar shows a cancelled event as such
    (STATUS:CANCELLED) instead of keeping it as it was."""
    events = db.session.scalars(
        select(Event).where(Event.status.in_([EventStatus.published, EventStatus.cancelled]))
        .order_by(Event.starts_at, Event.id)
    ).all()
    return _calendar_response(events)


def _calendar_response(events):
    return Response(build_event_calendar(events), content_type="text/calendar; charset=utf-8")


@bp.get("/healthz")
def healthz():
    """Database and broker status. 200 while registrations work (the database answers), even with
    the broker down: mails then wait in the outbox for the sweeper. 503 when the database fails."""
    database = _check("database", _ping_database)
    broker = _check("broker", _ping_broker)
    healthy = database == "ok" and broker == "ok"
    body = {"status": "ok" if healthy else "degraded", "database": database, "broker": broker}
    response = jsonify(body)
    response.status_code = 200 if database == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _ping_database():
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _ping_broker():
    celery_app = current_app.extensions["celery"]
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                     timeout=current_app.config["BROKER_CONNECT_TIMEOUT"])


def _check(name, ping):
    """"ok" or "error". The reason goes to the log only: it names internal hosts and ports."""
    try:
        ping()
    except Exception:
        log.warning("health check: %s unreachable", name, exc_info=True)
        return "error"
    return "ok"
