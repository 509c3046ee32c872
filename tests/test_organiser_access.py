"""Who may open each back-office page and run each action, route by route: anonymous visitors (sent
to the login page, then back), disabled accounts (logged out), organisers of another event (404,
the same page as for an event that does not exist), the event's organisers, admins. A last test
walks the app's URL map: a back-office route missing from ROUTES fails the suite.

To add a route: add a `Route` to ROUTES, with its access level and, for a POST, form data that
makes the action succeed when allowed ({event}, {draft}, {workshop}, {organiser}, {other}, {target},
{people_event}, {arrival_event}, {seated}, {waiting}, {failed_mail}, {approval_event}, {awaiting},
{awaiting_other}, {question}, {second_question}, {survey_question}, {second_survey_question} are replaced by
ids, {arrival_code} by a check-in code;
{workshop_start} and {workshop_end} by times within the event).
"""
import enum
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    CheckIn,
    Event,
    EventStatus,
    JournalEntry,
    Mailing,
    OutboxMail,
    OutboxStatus,
    Registration,
    Suppression,
    SuppressionReason,
    User,
    UserRole,
    event_organisers,
)
from webapp.organiser import PUBLIC_ENDPOINTS
from webapp.services import accounts, mailings, questions, reminders, suppressions, surveys

from . import support
from .support import logged_in_as, make_user


class Access(enum.Enum):
    public = "public"        # anonymous visitors too
    account = "account"      # any active account
    event = "event"          # the event's organisers and admins
    admin = "admin"          # admins only (404 for the others)


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str
    access: Access
    data: dict = field(default_factory=dict)
    download: bool = False  # a POST that answers with a file (an export) instead of sending the browser on

    def url(self, ids):
        return self.path.format(**ids)

    def form(self, ids):
        return {name: value.format(**ids) for name, value in self.data.items()}


NEW_PASSWORD = "un autre mot de passe assez long"
# A valid event form: new events start on this, edits change it.
EVENT_FORM = {"title": "Rencontre régionale", "slug": "rencontre-regionale", "timezone": "Europe/Paris",
              "starts_at": "2030-06-12T09:30", "ends_at": "2030-06-12T17:30",
              "contact_email": "contact@bretagne-solidaire.bzh"}

MAILING_FORM = {"subject": "Infos pratiques", "body": "Bonjour {{prénom}},\n\nApportez votre repas.",
                "status": "confirmed"}

ROUTES = [
    Route("organiser.login", "GET", "/organiser/login", Access.public),
    Route("organiser.login", "POST", "/organiser/login", Access.public),
    Route("organiser.forgot_password", "GET", "/organiser/password/forgot", Access.public),
    Route("organiser.forgot_password", "POST", "/organiser/password/forgot", Access.public),
    Route("organiser.reset_password", "GET", "/organiser/password/reset/{reset_token}", Access.public),
    Route("organiser.reset_password", "POST", "/organiser/password/reset/{reset_token}", Access.public),
    Route("organiser.logout", "POST", "/organiser/logout", Access.account),
    Route("organiser.dashboard", "GET", "/organiser/", Access.account),
    Route("organiser.change_password", "GET", "/organiser/account/password", Access.account),
    Route("organiser.change_password", "POST", "/organiser/account/password", Access.account,
          {"current_password": support.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    Route("organiser.event_home", "GET", "/organiser/events/{event}", Access.event),
    Route("organiser.new_event", "GET", "/organiser/events/new", Access.admin),
    Route("organiser.new_event", "POST", "/organiser/events/new", Access.admin, EVENT_FORM),
    Route("organiser.edit_event", "GET", "/organiser/events/{event}/edit", Access.event),
    Route("organiser.edit_event", "POST", "/organiser/events/{event}/edit", Access.event,
          dict(EVENT_FORM, title="Nouveau titre")),
    Route("organiser.publish_event", "POST", "/organiser/events/{draft}/publish", Access.event),
    Route("organiser.unpublish_event", "POST", "/organiser/events/{event}/unpublish", Access.event),
    Route("organiser.cancel_event", "GET", "/organiser/events/{event}/cancel", Access.event),
    Route("organiser.cancel_event", "POST", "/organiser/events/{event}/cancel", Access.event),
    Route("organiser.copy_event", "GET", "/organiser/events/{event}/copy", Access.event),
    Route("organiser.copy_event", "POST", "/organiser/events/{event}/copy", Access.event,
          {"title": "Journée 2031", "slug": "journee-2031", "starts_at": "2031-06-11T09:00",
           "ends_at": "2031-06-11T17:00"}),
    Route("organiser.event_workshops", "GET", "/organiser/events/{event}/workshops", Access.event),
    Route("organiser.new_workshop", "GET", "/organiser/events/{event}/workshops/new", Access.event),
    Route("organiser.new_workshop", "POST", "/organiser/events/{event}/workshops/new", Access.event,
          {"key": "nouvel-atelier", "title": "Nouvel atelier", "starts_at": "{workshop_start}",
           "ends_at": "{workshop_end}"}),
    Route("organiser.edit_workshop", "GET", "/organiser/events/{event}/workshops/{workshop}/edit", Access.event),
    Route("organiser.edit_workshop", "POST", "/organiser/events/{event}/workshops/{workshop}/edit", Access.event,
          {"title": "Atelier renommé", "starts_at": "{workshop_start}", "ends_at": "{workshop_end}"}),
    Route("organiser.remove_workshop", "GET", "/organiser/events/{event}/workshops/{workshop}/remove",
          Access.event),
    Route("organiser.remove_workshop", "POST", "/organiser/events/{event}/workshops/{workshop}/remove",
          Access.event, {"people": "0"}),
    Route("organiser.event_questions", "GET", "/organiser/events/{event}/questions", Access.event),
    Route("organiser.new_question", "GET", "/organiser/events/{event}/questions/new", Access.event),
    Route("organiser.new_question", "POST", "/organiser/events/{event}/questions/new", Access.event,
          {"label": "Covoiturage ?", "kind": "yes_no"}),
    Route("organiser.edit_question", "GET", "/organiser/events/{event}/questions/{question}/edit", Access.event),
    Route("organiser.edit_question", "POST", "/organiser/events/{event}/questions/{question}/edit", Access.event,
          {"label": "Votre fonction dans la structure", "kind": "short_text"}),
    Route("organiser.move_question", "POST", "/organiser/events/{event}/questions/{second_question}/move/up",
          Access.event),
    Route("organiser.delete_question", "GET", "/organiser/events/{event}/questions/{question}/delete",
          Access.event),
    Route("organiser.delete_question", "POST", "/organiser/events/{event}/questions/{question}/delete",
          Access.event),
    Route("organiser.account_list", "GET", "/organiser/accounts", Access.admin),
    Route("organiser.new_account", "GET", "/organiser/accounts/new", Access.admin),
    Route("organiser.new_account", "POST", "/organiser/accounts/new", Access.admin,
          {"email": "nouvelle@example.org", "role": "organiser"}),
    Route("organiser.disable_account", "POST", "/organiser/accounts/{target}/disable", Access.admin),
    Route("organiser.enable_account", "POST", "/organiser/accounts/{dormant}/enable", Access.admin),
    Route("organiser.event_team", "GET", "/organiser/events/{event}/team", Access.admin),
    Route("organiser.event_team", "POST", "/organiser/events/{event}/team", Access.admin, {"user_id": "{other}"}),
    Route("organiser.remove_organiser", "POST", "/organiser/events/{event}/team/{organiser}/remove", Access.admin),
    Route("organiser.registrations", "GET", "/organiser/events/{people_event}/registrations", Access.event),
    Route("organiser.export_registrations", "POST", "/organiser/events/{people_event}/registrations/export.csv",
          Access.event, download=True),
    Route("organiser.export_registrations", "POST", "/organiser/events/{people_event}/registrations/export.xlsx",
          Access.event, {"status": "confirmed"}, download=True),
    Route("organiser.add_registration", "GET", "/organiser/events/{people_event}/registrations/new", Access.event),
    Route("organiser.add_registration", "POST", "/organiser/events/{people_event}/registrations/new", Access.event,
          {"first_name": "Nolwenn", "last_name": "Riou", "email": "nolwenn@example.org", "actor_type": "ess",
           "language": "fr", "confirmed": "yes", "privacy_consent": "y"}),
    Route("organiser.registration", "GET", "/organiser/events/{people_event}/registrations/{seated}", Access.event),
    Route("organiser.edit_registration", "GET", "/organiser/events/{people_event}/registrations/{seated}/edit",
          Access.event),
    Route("organiser.edit_registration", "POST", "/organiser/events/{people_event}/registrations/{seated}/edit",
          Access.event, {"first_name": "Maëlle", "last_name": "Kerjean", "actor_type": "asi", "language": "en"}),
    Route("organiser.cancel_registration", "POST", "/organiser/events/{people_event}/registrations/{seated}/cancel",
          Access.event),
    Route("organiser.give_priority", "POST", "/organiser/events/{people_event}/registrations/{waiting}/priority",
          Access.event),
    Route("organiser.accept_all_requests", "POST", "/organiser/events/{approval_event}/registrations/accept-all",
          Access.event),
    Route("organiser.accept_registration", "POST",
          "/organiser/events/{approval_event}/registrations/{awaiting}/accept", Access.event),
    Route("organiser.decline_registration", "POST",
          "/organiser/events/{approval_event}/registrations/{awaiting_other}/decline", Access.event),
    Route("organiser.checkin", "GET", "/organiser/events/{people_event}/checkin", Access.event),
    Route("organiser.check_in", "POST", "/organiser/events/{arrival_event}/checkin", Access.event,
          {"code": "{arrival_code}"}),
    Route("organiser.undo_check_in", "POST", "/organiser/events/{people_event}/checkin/{seated}/undo", Access.event),
    Route("organiser.walk_in", "GET", "/organiser/events/{event}/checkin/walk-in", Access.event),
    Route("organiser.walk_in", "POST", "/organiser/events/{event}/checkin/walk-in", Access.event,
          {"first_name": "Nolwenn", "last_name": "Riou", "actor_type": "paysanne", "privacy_consent": "y"}),
    Route("organiser.attendance_sheet", "GET", "/organiser/events/{people_event}/attendance", Access.event),
    Route("organiser.event_dashboard", "GET", "/organiser/events/{people_event}/dashboard", Access.event),
    Route("organiser.event_dashboard_chart", "GET", "/organiser/events/{people_event}/dashboard/registrations.svg",
          Access.event),
    Route("organiser.export_event_dashboard", "GET", "/organiser/events/{people_event}/dashboard/figures.csv",
          Access.event),
    Route("organiser.network_dashboard", "GET", "/organiser/network", Access.admin),
    Route("organiser.network_dashboard_chart", "GET", "/organiser/network/people.svg?start=2020-01-01&end=2040-12-31",
          Access.admin),
    Route("organiser.export_network_dashboard", "GET", "/organiser/network/figures.csv?start=2020-01-01&end=2040-12-31",
          Access.admin),
    Route("organiser.mail_log", "GET", "/organiser/events/{people_event}/mails", Access.event),
    Route("organiser.retry_failed_mails", "POST", "/organiser/events/{people_event}/mails/retry", Access.event),
    Route("organiser.retry_mail", "POST", "/organiser/events/{people_event}/mails/{failed_mail}/retry", Access.event),
    Route("organiser.reminders", "GET", "/organiser/events/{event}/reminders", Access.event),
    Route("organiser.reminders", "POST", "/organiser/events/{event}/reminders", Access.event, {"days_before": "3"}),
    Route("organiser.remove_reminder", "POST", "/organiser/events/{event}/reminders/7/remove", Access.event),
    Route("organiser.switch_reminders", "POST", "/organiser/events/{event}/reminders/switch?enabled=0", Access.event),
    Route("organiser.mailings", "GET", "/organiser/events/{people_event}/mailings", Access.event),
    Route("organiser.new_mailing", "GET", "/organiser/events/{people_event}/mailings/new", Access.event),
    Route("organiser.new_mailing", "POST", "/organiser/events/{people_event}/mailings/new", Access.event,
          MAILING_FORM),
    Route("organiser.mailing_audience_count", "GET",
          "/organiser/events/{people_event}/mailings/count?status=confirmed&presence=present", Access.event),
    Route("organiser.mailing", "GET", "/organiser/events/{people_event}/mailings/{mailing}", Access.event),
    Route("organiser.mailing", "GET", "/organiser/events/{people_event}/mailings/{sent_mailing}", Access.event),
    Route("organiser.edit_mailing", "GET", "/organiser/events/{people_event}/mailings/{mailing}/edit", Access.event),
    Route("organiser.edit_mailing", "POST", "/organiser/events/{people_event}/mailings/{mailing}/edit", Access.event,
          dict(MAILING_FORM, subject="Autre objet")),
    Route("organiser.mailing_progress", "GET", "/organiser/events/{people_event}/mailings/{sent_mailing}/progress",
          Access.event),
    Route("organiser.test_mailing", "POST", "/organiser/events/{people_event}/mailings/{mailing}/test", Access.event),
    Route("organiser.send_mailing", "POST", "/organiser/events/{people_event}/mailings/{mailing}/send", Access.event),
    Route("organiser.schedule_mailing", "POST", "/organiser/events/{people_event}/mailings/{mailing}/schedule",
          Access.event, {"send_at": "2039-06-01T10:00"}),
    Route("organiser.cancel_mailing", "POST", "/organiser/events/{people_event}/mailings/{mailing}/cancel",
          Access.event),
    Route("organiser.retry_mailing", "POST", "/organiser/events/{people_event}/mailings/{sent_mailing}/retry",
          Access.event),
    Route("organiser.retry_mailing_row", "POST",
          "/organiser/events/{people_event}/mailings/{sent_mailing}/rows/{failed_mailing_row}/retry", Access.event),
    Route("organiser.suppression_lists", "GET", "/organiser/lists", Access.account),
    Route("organiser.lift_suppression", "POST", "/organiser/lists/{suppressed}/lift", Access.event),
    Route("organiser.surveys", "GET", "/organiser/events/{event}/survey", Access.event),
    Route("organiser.surveys", "POST", "/organiser/events/{event}/survey", Access.event,
          {"title": "Votre avis", "status": "active", "anonymous": "y", "invite_days_after": "1",
           "invite_time": "09:00", "reminder_days": "4"}),
    Route("organiser.new_survey_question", "GET", "/organiser/events/{event}/survey/questions/new", Access.event),
    Route("organiser.new_survey_question", "POST", "/organiser/events/{event}/survey/questions/new", Access.event,
          {"label": "Reviendrez-vous ?", "kind": "yes_no"}),
    Route("organiser.edit_survey_question", "GET", "/organiser/events/{event}/survey/questions/{survey_question}/edit",
          Access.event),
    Route("organiser.edit_survey_question", "POST",
          "/organiser/events/{event}/survey/questions/{survey_question}/edit", Access.event,
          {"label": "Votre note d'ensemble", "kind": "rating"}),
    Route("organiser.move_survey_question", "POST",
          "/organiser/events/{event}/survey/questions/{second_survey_question}/move/up", Access.event),
    Route("organiser.delete_survey_question", "POST",
          "/organiser/events/{event}/survey/questions/{survey_question}/delete", Access.event),
]
PROTECTED = [route for route in ROUTES if route.access != Access.public]
DASHBOARD = ROUTES[[route.endpoint for route in ROUTES].index("organiser.dashboard")]
ROLES = ["anonymous", "disabled", "other_organiser", "event_organiser", "admin"]

# What each role gets: "login" (sent to the login page), 404, or "ok".
OUTCOMES = {
    Access.account: {"anonymous": "login", "disabled": "login", "other_organiser": "ok", "event_organiser": "ok",
                     "admin": "ok"},
    Access.event: {"anonymous": "login", "disabled": "login", "other_organiser": 404, "event_organiser": "ok",
                   "admin": "ok"},
    Access.admin: {"anonymous": "login", "disabled": "login", "other_organiser": 404, "event_organiser": 404,
                   "admin": "ok"},
}


def route_id(route):
    return f"{route.method} {route.endpoint}"


@pytest.fixture
def world(app, make_event):
    """Two events, the first with a workshop, the default reminders and two questions, and a draft;
    an admin; an organiser of the first event and of the draft; an organiser of the second only; a
    disabled organiser of the first (logged in before being disabled); an account to disable, and a
    disabled one to enable. A third event of the first organiser (one seat) has people: one with the
    seat (checked in), whose confirmation mail failed, and one waiting; a fourth one of theirs asks
    for approval: two requests await a decision; a fifth one of theirs has a person with a seat, not
    checked in yet."""
    event = make_event(title="Journée régionale", starts_at=support.START, ends_at=support.START + timedelta(hours=8),
                       workshops=[dict(key="agro", title="Agroécologie", starts_at=support.START + timedelta(hours=1),
                                       ends_at=support.START + timedelta(hours=2))])
    other_event = make_event(title="Atelier ESS")
    draft = make_event(title="Brouillon", status=EventStatus.draft)
    people_event = make_event(title="Journée avec inscriptions", capacity=1)
    approval_event = make_event(title="Journée sur validation", approval_required=True)
    arrival_event = make_event(title="Journée de l'accueil")
    with app.app_context():
        reminders.schedule(db.session.get(Event, event), reminders.DEFAULT_DAYS)
        db.session.commit()
        ids = {
            "event": event, "other_event": other_event, "draft": draft, "people_event": people_event,
            "approval_event": approval_event, "arrival_event": arrival_event,
            "workshop": db.session.get(Event, event).workshops[0].id,
            # The workshop's times as the forms show them (Paris time), within the event.
            "workshop_start": "2030-06-12T10:30", "workshop_end": "2030-06-12T12:00",
            "admin": make_user("admin@example.org", UserRole.admin),
            "organiser": make_user("anne@example.org", events=[event, draft, people_event, approval_event,
                                                               arrival_event]),
            "other": make_user("yann@example.org", events=[other_event]),
            "disabled": make_user("gwen@example.org", events=[event]),
            "target": make_user("cible@example.org"),
            "dormant": make_user("dormant@example.org", active=False),
        }
        ids["reset_token"] = accounts.password_token(db.session.get(User, ids["organiser"]))
        first = questions.add_question(db.session.get(Event, event), None, kind="short_text", label="Votre fonction")
        second = questions.add_question(db.session.get(Event, event), None, kind="single_choice", label="Repas",
                                        choices=["Végétarien", "Sans gluten"])
        ids["question"], ids["second_question"] = first.id, second.id
        survey = surveys.create_from_template(db.session.get(Event, event), "fr")
        ids["survey_question"], ids["second_survey_question"] = survey.questions[0].id, survey.questions[1].id
    ids["seated"] = support.person_id(app, people_event, "Maela")
    ids["waiting"] = support.person_id(app, people_event, "Loeiz")
    ids["awaiting"] = support.person_id(app, approval_event, "Morgane")
    ids["awaiting_other"] = support.person_id(app, approval_event, "Erwan")
    with app.app_context():
        failed = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "registration_confirmed")).one()
        failed.status, failed.last_error = OutboxStatus.failed, "550 5.1.1 mailbox unknown"
        db.session.commit()
        ids["failed_mail"] = failed.id
    arrival = support.person_id(app, ids["arrival_event"], "Nolwenn")
    with app.app_context():
        ids["arrival_code"] = db.session.get(Registration, arrival).checkin_code
        db.session.add(CheckIn(registration_id=ids["seated"], event_id=people_event))
        db.session.commit()
        organiser = db.session.get(User, ids["organiser"])
        event_with_people = db.session.get(Event, people_event)
        ids["mailing"] = mailings.create_draft(event_with_people, organiser, "Infos", "Bonjour {prénom}",
                                               mailings.Audience()).id
        sent = mailings.create_draft(event_with_people, organiser, "Nouvelles", "Bonjour", mailings.Audience())
        mailings.send_now(sent, organiser)
        mailings.fan_out(sent.id)
        [row] = db.session.scalars(select(OutboxMail).where(OutboxMail.mailing_id == sent.id)).all()
        row.status, row.last_error = OutboxStatus.failed, "550 5.1.1 mailbox unknown"
        db.session.commit()
        ids["sent_mailing"], ids["failed_mailing_row"] = sent.id, row.id
        suppressions.suppress("loeiz@example.org", SuppressionReason.unsubscribed)
        db.session.commit()
        ids["suppressed"] = db.session.scalars(select(Suppression.id)).one()
    return ids


def client_as(app, world, role):
    client = app.test_client()
    with app.app_context():
        if role == "disabled":
            logged_in_as(client, world["disabled"])
            accounts.disable_user(db.session.get(User, world["disabled"]))
        elif role != "anonymous":
            user = {"other_organiser": "other", "event_organiser": "organiser", "admin": "admin"}[role]
            logged_in_as(client, world[user])
    return client


def send(client, route, world):
    """Send the route's request as a browser would: forms with their CSRF token."""
    if route.method == "GET":
        return client.get(route.url(world))
    token = support.csrf_token(client, "/organiser/password/forgot")
    return client.post(route.url(world), data=dict(route.form(world), csrf_token=token))


def snapshot(app):
    """What the back office can change: accounts, who runs which event, journal, outbox, mailings,
    the unsubscribe and undeliverable lists (events and workshops change with a journal entry)."""
    with app.app_context():
        users = db.session.execute(select(User.email, User.active, User.password_hash, User.role)).all()
        return (sorted(users), sorted(db.session.execute(select(event_organisers.c.event_id,
                                                                event_organisers.c.user_id)).all()),
                db.session.scalars(select(JournalEntry.id)).all(), db.session.scalars(select(OutboxMail.id)).all(),
                sorted(db.session.execute(select(Mailing.id, Mailing.subject, Mailing.status)).all()),
                db.session.scalars(select(Suppression.id)).all())


def assert_sent_to_login(response, route, world):
    assert response.status_code == 302, response.status_code
    location = urlsplit(response.headers["Location"])
    assert location.path == "/organiser/login"
    if route.method == "GET":  # then back to the page
        assert parse_qs(location.query) == {"next": [route.url(world)]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", PROTECTED, ids=route_id)
def test_access_route_by_route(app, world, route, role):
    client = client_as(app, world, role)
    before = snapshot(app)

    response = send(client, route, world)

    expected = OUTCOMES[route.access][role]
    if expected == "login":
        assert_sent_to_login(response, route, world)
    elif expected == 404:
        assert response.status_code == 404
    elif route.method == "GET":
        assert response.status_code == 200
    elif route.download:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
    else:  # the action was done, then the browser is sent on
        assert response.status_code == 302
        assert not response.headers["Location"].startswith("/organiser/login?next")
    if expected != "ok":
        assert snapshot(app) == before, "a refused request changed something"
    else:
        assert route.method == "GET" or route.endpoint == "organiser.logout" or snapshot(app) != before


@pytest.mark.parametrize("route", [route for route in ROUTES if route.access == Access.public], ids=route_id)
def test_public_pages_need_no_account(app, world, route):
    response = send(app.test_client(), route, world)

    # The page, or its form with what is missing (422, like every form sent with mistakes).
    assert response.status_code == (422 if route.method == "POST" else 200)


def test_every_back_office_route_has_an_access_test(app):
    tested = {(route.endpoint, route.method) for route in ROUTES}
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("organiser.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}

    assert sorted(routes - tested) == [], "back-office routes without an access test: add them to ROUTES"
    assert {route.endpoint for route in ROUTES if route.access == Access.public} == PUBLIC_ENDPOINTS


@pytest.mark.parametrize("route", [route for route in ROUTES if route.method == "POST"], ids=route_id)
def test_every_back_office_form_needs_its_csrf_token(app, world, route):
    client = client_as(app, world, "admin")
    before = snapshot(app)

    response = client.post(route.url(world), data=route.form(world))

    assert response.status_code == 400
    assert "Le formulaire a expiré" in support.page_text(response)
    assert snapshot(app) == before


def test_an_event_of_another_organiser_looks_like_no_event_at_all(app, world):
    client = client_as(app, world, "other_organiser")

    hidden = client.get(f"/organiser/events/{world['event']}")
    missing = client.get("/organiser/events/999999")

    assert hidden.status_code == missing.status_code == 404
    # The same page, but for the address in the language switch (and the logout form's CSRF token,
    # signed anew on each page).
    assert without_csrf_tokens(hidden).replace(f"/organiser/events/{world['event']}?", "/organiser/events/999999?") \
        == without_csrf_tokens(missing)
    assert BACK_OFFICE_MENU in missing.get_data(as_text=True)
    assert "Journée régionale" not in support.page_text(client.get("/organiser/"))


# --- Error pages ----------------------------------------------------------------------------------

BACK_OFFICE_MENU = '<nav class="back-office-nav"'


def without_csrf_tokens(response):
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', response.get_data(as_text=True))


def layout(response):
    """Which layout a page has: the back office's with its menu, its bare one (logged out), or the public one."""
    page = response.get_data(as_text=True)
    if 'class="back-office"' not in page:
        return "public"
    return "back office" if BACK_OFFICE_MENU in page and "Se déconnecter" in page else "back office, no menu"


def test_error_pages_of_the_back_office_have_its_layout_and_menu(app, world):
    client = client_as(app, world, "event_organiser")
    no_such_page = client.get("/organiser/pas-de-page")  # no route: no blueprint either
    no_such_event = client.get("/organiser/events/999999")
    wrong_method = client.get(f"/organiser/events/{world['event']}/publish")
    no_csrf_token = client.post(f"/organiser/events/{world['event']}/publish")

    assert [(r.status_code, layout(r)) for r in (no_such_page, no_such_event, wrong_method, no_csrf_token)] == [
        (404, "back office"), (404, "back office"), (405, "back office"), (400, "back office")]
    assert "Page introuvable" in support.page_text(no_such_page)
    assert wrong_method.headers["Allow"] and "Action impossible" in support.page_text(wrong_method)
    assert "Le formulaire a expiré" in support.page_text(no_csrf_token)
    # Elsewhere the public layout, even for an account logged in.
    assert (client.get("/pas-de-page").status_code, layout(client.get("/pas-de-page"))) == (404, "public")


def test_a_logged_out_visitor_gets_an_error_page_that_tells_nothing(app, world):
    client = client_as(app, world, "anonymous")

    response = client.get("/organiser/pas-de-page")

    assert (response.status_code, layout(response)) == (404, "back office, no menu")
    page = support.page_text(response)
    for hint in ("Journée régionale", "Inscriptions", "Comptes", "@example.org"):
        assert hint not in page


def test_a_disabled_account_is_logged_out_on_its_next_request(app, world):
    client = client_as(app, world, "event_organiser")
    assert client.get("/organiser/").status_code == 200
    with app.app_context():
        accounts.disable_user(db.session.get(User, world["organiser"]))

    assert_sent_to_login(client.get("/organiser/"), DASHBOARD, world)
    with app.app_context():
        enabled_again = db.session.get(User, world["organiser"])
        enabled_again.active = True  # even re-enabled, the old session stays ended
        db.session.commit()
    assert client.get("/organiser/").status_code == 302


@pytest.mark.parametrize("next_path, destination", [
    ("/organiser/accounts", "/organiser/accounts"),
    ("/organiser/events/1?x=1", "/organiser/events/1?x=1"),
    ("https://evil.example/organiser/", "/organiser/"),
    ("//evil.example/organiser/", "/organiser/"),
    ("/\\evil.example", "/organiser/"),
    ("/events/journee", "/organiser/"),
    ("javascript:alert(1)", "/organiser/"),
])
def test_after_login_only_a_back_office_path_is_followed(app, world, next_path, destination):
    response = support.log_in(app.test_client(), "admin@example.org", next_path=quote(next_path, safe=""))

    assert response.status_code == 302
    assert response.headers["Location"] == destination
