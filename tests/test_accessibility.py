"""Every public and participant page state, in French and in English, in Chromium against the app
under gunicorn, with its data made through the services:

- axe-core (tests/vendor/axe.min.js) finds no violation of WCAG 2.0 and 2.1, levels A and AA;
- reflow (WCAG 1.4.10): at 320 CSS px nothing scrolls sideways;
- text resized to 200 % (WCAG 1.4.4): at 1280 px nothing scrolls sideways either;
- at 1024 px nothing scrolls sideways either; at each of these sizes, no word of ordinary length is
  cut across two lines.

Each state is a function below, registered with `@state(name, status)`: it makes its data, then
brings the browser tab to the page (a link, or a form filled in and sent) and the test checks the
HTTP status of that page. A new page or page state gets its entry here. The checks, the tabs and
the data helpers are in tests/accessibility.py, shared with tests/test_accessibility_back_office.py.

With EMGAV_SCREENSHOT_DIR set, a full-page PNG of each state at 1280 and 390 px is saved there.
"""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    Event,
    EventStatus,
    Registration,
    SeatOffer,
    SurveyParticipant,
    SurveyStatus,
    User,
    UserRole,
)
from webapp.models.base import utcnow
from webapp.services import events, registrations, seats, survey_answers, surveys, tokens

from . import accessibility, support
from .accessibility import MARKDOWN, ONLINE_URL, PARTICIPANT

STATES = accessibility.States()
state = STATES.register


class Visit(accessibility.Visit):
    """One page state being reached, with the helpers of participants' links and forms."""

    def link(self, kind, registration_id):
        return support.personal_link(self.app, kind, registration_id)

    def unsubscribe_link(self, address):
        with self.app.app_context():
            return f"/unsubscribe/{tokens.unsubscribe_token(address)}"

    def seat_offer(self, workshop=False):
        """A seat freed and offered to a second person waiting, for the event or for a workshop;
        returns (event id, that person's registration id, the offer link)."""
        if workshop:
            event_id = self.event(workshops=("xylm",), capacities=(1,))
            holder = self.person(event_id, "Yann", workshops=("xylm",))
            waiting = self.person(event_id, "Bleuenn", workshops=("xylm",))
            with self.app.app_context():
                registration = db.session.get(Registration, holder)
                registrations.update_registration(
                    registration, first_name="Yann", last_name="Le Goff", organisation="", actor_type="asi",
                    language=self.language, workshops=[])
        else:
            event_id = self.event(capacity=1)
            holder = self.person(event_id, "Yann")
            waiting = self.person(event_id, "Bleuenn")
            with self.app.app_context():
                registrations.cancel_registration(db.session.get(Registration, holder))
        with self.app.app_context():
            seats.offer_free_seats(event_id)
        return event_id, waiting, support.offer_link(self.app, waiting)

    def survey_link(self, **survey_fields):
        """A survey made from the template in the visit's language, open now, and the link of a
        person invited to it (booked on a workshop: its question is asked too)."""
        event_id = self.event(workshops=("riaa",))
        registration_id = self.person(event_id, email=PARTICIPANT, workshops=("riaa",))
        with self.app.test_request_context():
            survey = surveys.create_from_template(db.session.get(Event, event_id), self.language)
            survey.status, survey.invited_at = SurveyStatus.active, utcnow()
            survey.closes_at = utcnow() + timedelta(days=21)
            for name, value in survey_fields.items():
                setattr(survey, name, value)
            participant = SurveyParticipant(survey=survey, registration_id=registration_id)
            db.session.add(participant)
            db.session.commit()
            return f"/surveys/{survey_answers.survey_token(participant)}"

    def fill_registration(self):
        self.fill(first_name="Anne", last_name="Le Goff", email=PARTICIPANT, organisation="Xylm",
                  actor_type="ess")
        self.page.locator('main form [name="privacy_consent"]').check()


# --- Public pages ---------------------------------------------------------------------------------

@state("events: none")
def _(v):
    v.goto("/")


@state("events: several")
def _(v):
    v.event(title="Journée régionale : ESS et solidarité internationale", workshops=("xylm",))
    v.event(title="Webinaire : financer un projet de coopération", capacity=1, seats_taken=1, venue_name="",
            venue_address="", online_url=ONLINE_URL, starts_at=support.START + timedelta(days=3),
            ends_at=support.START + timedelta(days=3, hours=2))
    v.event(title="Assemblée du réseau", registration_opens_at=utcnow() + timedelta(days=10),
            starts_at=support.START + timedelta(days=5), ends_at=support.START + timedelta(days=6))
    v.event(title="Forum de l'ESS", registration_closes_at=utcnow() - timedelta(hours=1))
    v.goto("/")


@state("event: open, with workshops")
def _(v):
    v.event(slug="journee", workshops=("xylm", "outaouais", "riaa"), capacities=(25, None, 10))
    v.goto("/events/journee")


@state("event: full, a workshop full")
def _(v):
    event_id = v.event(slug="journee", capacity=1, workshops=("xylm", "riaa"), capacities=(1, 10))
    v.person(event_id, "Yann", workshops=("xylm",))
    v.goto("/events/journee")


@state("event: registration not open yet")
def _(v):
    v.event(slug="journee", registration_opens_at=utcnow() + timedelta(days=10))
    v.goto("/events/journee")


@state("event: registration closed")
def _(v):
    v.event(slug="journee", registration_closes_at=utcnow() - timedelta(hours=1))
    v.goto("/events/journee")


@state("event: cancelled")
def _(v):
    v.event(slug="journee", status=EventStatus.cancelled, workshops=("riaa",))
    v.goto("/events/journee")


@state("event: online, no seat limit, no description")
def _(v):
    v.event(slug="journee", venue_name="", venue_address="", online_url=ONLINE_URL, capacity=None, description="")
    v.goto("/events/journee")


@state("event: Markdown description, texts in English")
def _(v):
    v.event(slug="journee", content_language="en", title="Regional day: SSE and international solidarity",
            venue_name="Anne de Bretagne hall", workshops=("riaa",), description=MARKDOWN)
    v.goto("/events/journee")


@state("form")
def _(v):
    v.event(slug="journee", workshops=("xylm", "outaouais", "riaa"), capacities=(25, None, 10))
    v.goto("/events/journee/register")


@state("form: with questions")
def _(v):
    v.questions(v.event(slug="journee", workshops=("xylm", "riaa")))
    v.goto("/events/journee/register")


@state("form: questions answered wrong", 422)
def _(v):
    role = v.questions(v.event(slug="journee"))["role"][0]
    v.goto("/events/journee/register")
    v.fill_registration()  # the required question left out, a line break in a line
    v.page.locator(f'main form [name="question_{role}"]').fill("Chargée de mission\u2028coopération")
    v.send()


@state("form: event full, waiting list")
def _(v):
    v.event(slug="journee", capacity=1, seats_taken=1)
    v.goto("/events/journee/register")


@state("form: registrations need approval")
def _(v):
    v.event(slug="journee", approval_required=True, workshops=("riaa",))
    v.goto("/events/journee/register")


@state("form: every field wrong", 422)
def _(v):
    v.event(slug="journee", workshops=("xylm", "outaouais"))
    v.goto("/events/journee/register")
    v.fill(email="anne@")
    v.send()


@state("form: workshops at the same time", 422)
def _(v):
    v.event(slug="journee", workshops=("xylm", "outaouais", "riaa"))
    v.goto("/events/journee/register")
    v.fill_registration()
    v.page.locator("#workshops-0").check()
    v.page.locator("#workshops-1").check()
    v.send()


@state("registration sent")
def _(v):
    v.event(slug="journee")
    v.goto("/events/journee/register")
    v.fill_registration()
    v.send()


@state("registration unavailable: not open yet")
def _(v):
    v.event(slug="journee", registration_opens_at=utcnow() + timedelta(days=10))
    v.goto("/events/journee/register")


@state("registration unavailable: closed")
def _(v):
    v.event(slug="journee", registration_closes_at=utcnow() - timedelta(hours=1))
    v.goto("/events/journee/register")


@state("registration unavailable: event cancelled")
def _(v):
    v.event(slug="journee", status=EventStatus.cancelled)
    v.goto("/events/journee/register")


@state("registration unavailable: closed while filling in", 409)
def _(v):
    event_id = v.event(slug="journee")
    v.goto("/events/journee/register")
    v.fill_registration()
    v.change(Event, event_id, registration_closes_at=utcnow() - timedelta(minutes=1))
    v.send()


@state("privacy")
def _(v):
    v.goto("/privacy")


# --- Confirmation link ----------------------------------------------------------------------------

@state("confirmed: seat and workshops")
def _(v):
    event_id = v.event(workshops=("xylm", "riaa"), capacities=(1, None))
    v.person(event_id, "Yann", workshops=("xylm",))
    v.goto(v.link("confirm", v.person(event_id, confirm=False, email=PARTICIPANT, organisation="Xylm",
                                      workshops=("xylm", "riaa"))))


@state("confirmed: waiting list")
def _(v):
    event_id = v.event(capacity=1)
    v.person(event_id, "Yann")
    v.goto(v.link("confirm", v.person(event_id, confirm=False)))


@state("confirmed: request awaiting approval")
def _(v):
    event_id = v.event(approval_required=True, workshops=("xylm", "riaa"))
    v.goto(v.link("confirm", v.person(event_id, confirm=False, email=PARTICIPANT, workshops=("xylm",))))


@state("confirm link expired", 410)
def _(v):
    registration_id = v.person(v.event(), confirm=False)
    with time_machine.travel(utcnow() - timedelta(days=4)):
        path = v.link("confirm", registration_id)
    v.goto(path)


@state("confirm link invalid", 404)
def _(v):
    v.goto("/confirm/not-a-valid-link")


@state("address already confirmed", 409)
def _(v):
    v.goto(v.link("confirm", v.person(v.event())))


@state("confirm link: registration cancelled", 410)
def _(v):
    registration_id = v.person(v.event(), confirm=False)
    with v.app.app_context():
        registrations.cancel_registration(db.session.get(Registration, registration_id))
    v.goto(v.link("confirm", registration_id))


@state("confirm link: registrations closed", 410)
def _(v):
    event_id = v.event()
    registration_id = v.person(event_id, confirm=False)
    v.change(Event, event_id, registration_closes_at=utcnow() - timedelta(minutes=1))
    v.goto(v.link("confirm", registration_id))


# --- Manage link ----------------------------------------------------------------------------------

@state("manage: with questions")
def _(v):
    event_id = v.event(workshops=("riaa",))
    made = v.questions(event_id)
    diet, evening = made["diet"], made["evening"]
    v.goto(v.link("manage", v.person(event_id, email=PARTICIPANT, answers={
        diet[0]: [str(diet[1][0])], evening[0]: [str(evening[1][1])], made["role"][0]: ["Coordinatrice"]})))


@state("manage: seat, workshops and check-in code")
def _(v):
    event_id = v.event(workshops=("xylm", "outaouais", "riaa"), capacities=(1, None, 10))
    v.person(event_id, "Yann", workshops=("xylm",))
    v.goto(v.link("manage", v.person(event_id, email=PARTICIPANT, organisation="Xylm", workshops=("xylm", "riaa"))))
    assert v.page.locator("svg.checkin-qr[role=img]").count() == 1  # the QR code and its text alternative


@state("manage: waiting list")
def _(v):
    event_id = v.event(capacity=1, workshops=("riaa",))
    v.person(event_id, "Yann")
    v.goto(v.link("manage", v.person(event_id, workshops=("riaa",))))


@state("manage: request awaiting approval")
def _(v):
    event_id = v.event(approval_required=True, workshops=("xylm", "riaa"))
    v.goto(v.link("manage", v.person(event_id, email=PARTICIPANT, workshops=("riaa",))))


@state("manage: request declined", 410)
def _(v):
    registration_id = v.person(v.event(approval_required=True))
    with v.app.app_context():
        admin = support.make_user("organisation@example.org", UserRole.admin)
        registrations.decline_registration(db.session.get(Registration, registration_id),
                                           by=db.session.get(User, admin))
    v.goto(v.link("manage", registration_id))


@state("cancel: question, request awaiting approval")
def _(v):
    v.goto(v.link("manage", v.person(v.event(approval_required=True))) + "/cancel")


@state("manage: seat offered")
def _(v):
    _event_id, registration_id, _offer = v.seat_offer()
    v.goto(v.link("manage", registration_id))


@state("manage: registrations closed")
def _(v):
    event_id = v.event(workshops=("xylm", "riaa"))
    registration_id = v.person(event_id, workshops=("riaa",))
    v.change(Event, event_id, registration_closes_at=utcnow() - timedelta(minutes=1))
    v.goto(v.link("manage", registration_id))


@state("manage: event cancelled")
def _(v):
    event_id = v.event()
    registration_id = v.person(event_id)
    with v.app.app_context():
        events.cancel_event(db.session.get(Event, event_id))
        db.session.commit()
    v.goto(v.link("manage", registration_id))


@state("manage: changes with errors", 422)
def _(v):
    v.goto(v.link("manage", v.person(v.event(workshops=("xylm", "outaouais")))))
    v.fill(first_name="", last_name="")
    v.page.locator("#workshops-0").check()
    v.page.locator("#workshops-1").check()
    v.send("#change-form button[type=submit]")


@state("manage: changes saved")
def _(v):
    v.goto(v.link("manage", v.person(v.event(workshops=("riaa",)))))
    v.fill(organisation="Réseau RIAA")
    v.send("#change-form button[type=submit]")


@state("manage: registration cancelled", 410)
def _(v):
    registration_id = v.person(v.event())
    with v.app.app_context():
        registrations.cancel_registration(db.session.get(Registration, registration_id))
    v.goto(v.link("manage", registration_id))


@state("manage link invalid", 404)
def _(v):
    v.goto("/manage/not-a-valid-link")


@state("cancel: question")
def _(v):
    v.goto(v.link("manage", v.person(v.event())) + "/cancel")


@state("cancel: done")
def _(v):
    v.goto(v.link("manage", v.person(v.event())) + "/cancel")
    v.send()


@state("left the waiting list")
def _(v):
    event_id = v.event(capacity=1)
    v.person(event_id, "Yann")
    v.goto(v.link("manage", v.person(event_id)))
    v.send("#leave-waiting-list button")


@state("leave the waiting list: no longer waiting", 409)
def _(v):
    event_id = v.event(capacity=1)
    holder = v.person(event_id, "Yann")
    registration_id = v.person(event_id)
    v.goto(v.link("manage", registration_id))
    with v.app.app_context():  # meanwhile a seat is freed, offered and accepted
        registrations.cancel_registration(db.session.get(Registration, holder))
        seats.offer_free_seats(event_id)
        seats.accept_offer(db.session.scalars(select(SeatOffer)).one())
    v.send("#leave-waiting-list button")


# --- Seat offers ----------------------------------------------------------------------------------

@state("offer: event seat")
def _(v):
    v.goto(v.seat_offer()[2])


@state("offer: workshop seat")
def _(v):
    v.goto(v.seat_offer(workshop=True)[2])


@state("offer expired", 410)
def _(v):
    _event_id, registration_id, path = v.seat_offer()
    with v.app.app_context():
        offer = db.session.scalars(select(SeatOffer).filter_by(registration_id=registration_id)).one()
        offer.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    v.goto(path)


@state("offer already answered", 409)
def _(v):
    _event_id, _registration_id, path = v.seat_offer()
    v.goto(path)
    v.send("button[value=accept]")
    v.goto(path)


@state("offer withdrawn: event cancelled", 410)
def _(v):
    event_id, _registration_id, path = v.seat_offer()
    with v.app.app_context():
        events.cancel_event(db.session.get(Event, event_id))
        db.session.commit()
    v.goto(path)


@state("offer accepted: event seat")
def _(v):
    v.goto(v.seat_offer()[2])
    v.send("button[value=accept]")


@state("offer accepted: workshop seat")
def _(v):
    v.goto(v.seat_offer(workshop=True)[2])
    v.send("button[value=accept]")


@state("offer declined: event seat")
def _(v):
    v.goto(v.seat_offer()[2])
    v.send("button[value=decline]")


@state("offer declined: workshop seat")
def _(v):
    v.goto(v.seat_offer(workshop=True)[2])
    v.send("button[value=decline]")


# --- Lost link ------------------------------------------------------------------------------------

@state("lost link")
def _(v):
    v.goto("/lost-link")


@state("lost link: wrong address", 422)
def _(v):
    v.goto("/lost-link")
    v.fill(email="anne@example")
    v.send()


@state("lost link: sent")
def _(v):
    v.goto("/lost-link")
    v.fill(email=PARTICIPANT)
    v.send()


# --- Unsubscribe ----------------------------------------------------------------------------------

@state("unsubscribe")
def _(v):
    v.goto(v.unsubscribe_link(PARTICIPANT))


@state("unsubscribe: done")
def _(v):
    v.goto(v.unsubscribe_link(PARTICIPANT))
    v.send()


# --- Errors ---------------------------------------------------------------------------------------

@state("not found", 404)
def _(v):
    v.goto("/events/nulle-part")


@state("method not allowed", 405)
def _(v):
    v.goto(v.link("manage", v.person(v.event())) + "/leave-waiting-list")


@state("form expired (CSRF)", 400)
def _(v):
    v.event(slug="journee")
    v.goto("/events/journee/register")
    v.fill_registration()
    v.page.locator('main form [name="csrf_token"]').evaluate("input => input.value = 'expired'")
    v.send()


@state("bad request", 400)
def _(v):
    v.goto(v.seat_offer()[2])
    v.page.locator("button[value=accept]").evaluate("button => button.value = 'maybe'")
    v.send("button[name=answer] >> nth=0")


# --- Surveys --------------------------------------------------------------------------------------

@state("survey: empty")
def _(v):
    v.goto(v.survey_link())


@state("survey: with errors", 422)
def _(v):
    v.goto(v.survey_link())
    v.page.locator("main form textarea").first.fill("x" * 10)
    v.page.locator("main form textarea").first.evaluate("area => area.value = 'x'.repeat(6000)")
    v.send()
    assert v.page.locator(".error-summary li").count() == 2  # the required rating, the text too long


@state("survey: answered")
def _(v):
    v.goto(v.survey_link(anonymous=False))
    v.page.locator("main form input[type=radio][value='4']").first.check()
    v.send()


@state("survey: closed", 410)
def _(v):
    v.goto(v.survey_link(closes_at=utcnow() - timedelta(minutes=1)))


@state("survey: link not valid", 404)
def _(v):
    v.goto(support.forge(v.survey_link()))


@state("request too large", 413)
def _(v):
    v.goto("/lost-link")
    v.page.locator('main form [name="email"]').evaluate("input => input.value = 'x'.repeat(2 * 1024 * 1024)")
    v.send()


@state("too many requests", 429)
def _(v):
    limited = v.request.getfixturevalue("rate_limited_server")
    for _attempt in range(2):  # the limit is one per minute
        v.page.goto(limited + "/lost-link")
        v.fill(email=PARTICIPANT)
        v.send()


# --- The checks -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rate_limited_server(app, base_env):
    """The app under gunicorn with the rate limit of public forms on: one submission a minute."""
    env = dict(base_env, RATELIMIT_ENABLED="1", RATELIMIT_PUBLIC_POST="1 per minute")
    proc, url = support.start_gunicorn(env, workers=1)
    yield url
    proc.stop()


@pytest.fixture(scope="module")
def tabs(browser):
    yield from accessibility.open_tabs(browser)


@pytest.mark.parametrize("language", accessibility.LANGUAGES)
@pytest.mark.parametrize("name", STATES)
def test_page_state_is_accessible(app, live_server, tabs, make_event, request, name, language):
    accessibility.check_state(STATES, name, Visit(app, live_server, tabs[language], language, make_event, request))
