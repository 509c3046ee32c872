"""Every page state of the back office (/organiser/), in French and in English, in Chromium against
the app under gunicorn, with the checks of tests/accessibility.py: axe-core (WCAG 2.0 and 2.1, A and
AA), reflow at 320 px, text at 200 % at 1280 px, no word cut to fit a table's column. A new
back-office page or page state gets its entry here.

Each state is a function below, registered with `@state(name, status)`: it makes its data (the
account logs in by its session cookie, made as the login page makes it), then brings the browser
tab to the page (a link, or a form filled in and sent). Last, one walk through the back office with
the keyboard alone.
"""
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    CheckIn,
    Event,
    EventStatus,
    JournalAction,
    OutboxMail,
    OutboxStatus,
    Registration,
    ReminderStatus,
    SuppressionReason,
    SurveyParticipant,
    SurveyQuestionKind,
    SurveyStatus,
    User,
    UserRole,
)
from webapp.models.base import utcnow
from webapp.services import (
    accounts,
    checkin,
    journal,
    mailings,
    registrations,
    reminders,
    suppressions,
    survey_answers,
    surveys,
)
from webapp.web import address_breaks

from . import accessibility, support
from .accessibility import MARKDOWN, ONLINE_URL, PARTICIPANT

STATES = accessibility.States()
state = STATES.register

# Long addresses, as people have them: they must wrap in the menu and in the tables.
ADMIN = "coordination-des-rencontres@reseau-bretagne-solidaire.bzh"
ORGANISER = "organisation-journee-ess.finistere@reseau-bretagne-solidaire.bzh"
LONG_ADDRESS = "coordination.rencontres.regionales@bretagnesolidaire.bzh"  # without a hyphen to break at
TITLE = "Journée régionale : économie sociale et solidaire et solidarité internationale"
# The main button of a form with a description (not its preview button).
SAVE = 'main form button[type=submit]:not([name="preview"]):visible'


class Visit(accessibility.Visit):
    """One back-office page state being reached: accounts and events, and the browser tab."""

    def log_in(self, email=ADMIN, role=UserRole.admin, events=()):
        """An account of `role` (assigned to `events`), logged in in the tab; returns its id."""
        with self.app.app_context():
            user_id = support.make_user(email, role, events=events)
            client = support.logged_in_as(self.app.test_client(), user_id)
        cookie = client.get_cookie("session")
        self.page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": self.base_url}])
        return user_id

    def log_in_organiser(self, events=()):
        return self.log_in(ORGANISER, UserRole.organiser, events=events)

    def journal(self, event_id, user_id, *entries):
        """Journal entries of (action, details) pairs by the account `user_id` (None: the service)."""
        with self.app.app_context():
            event = db.session.get(Event, event_id)
            user = db.session.get(User, user_id) if user_id else None
            for action, details in entries:
                journal.record(event, user, action, **details)
            db.session.commit()

    def busy_event(self):
        """A published event with its three workshops, people with a seat, waiting or to confirm
        (their ids in `self.people`), an organiser and a journal, the admin logged in; returns its id."""
        admin = self.log_in()
        event_id = self.event(title=TITLE, capacity=2, online_url=ONLINE_URL,
                              workshops=("xylm", "outaouais", "riaa"), capacities=(1, None, 10))
        self.question_ids = self.questions(event_id)
        diet, evening = self.question_ids["diet"], self.question_ids["evening"]
        self.people = {
            "Anne": self.person(event_id, "Anne", email=PARTICIPANT, organisation="Réseau Bretagne Solidaire",
                                actor_type="ess", workshops=("xylm", "riaa"), answers={
                                    diet[0]: [str(diet[1][1])], evening[0]: [str(evening[1][0]), str(evening[1][2])],
                                    self.question_ids["certificate"][0]: ["yes"],
                                    self.question_ids["notes"][0]: [("Arrivée vers 10 h.\nBesoin d'une place "
                                                                    "de stationnement adaptée.")]}),
            "Yann": self.person(event_id, "Yann", workshops=("outaouais",),
                                answers={diet[0]: [str(diet[1][0])]}),
            "Bleuenn": self.person(event_id, "Bleuenn", organisation="Xylm", answers={diet[0]: [str(diet[1][2])]}),
            "Gwen": self.person(event_id, "Gwen", email=LONG_ADDRESS, confirm=False,
                                answers={diet[0]: [str(diet[1][0])]}),
        }
        with self.app.app_context():
            support.make_user(ORGANISER, UserRole.organiser, events=[event_id])
        self.journal(event_id, admin,
                     (JournalAction.event_created, {}),
                     (JournalAction.event_updated, {"fields": "title, description, starts_at, ends_at, capacity"}),
                     (JournalAction.workshop_added, {"key": "xylm"}),
                     (JournalAction.organiser_assigned, {"email": ORGANISER}),
                     (JournalAction.event_published, {}))
        return event_id

    def approval_event(self):
        """A published event that asks for approval: Anne's and Yann's requests await a decision,
        Bleuenn's was declined (ids in `self.people`); the admin logged in; returns its id."""
        admin = self.log_in()
        event_id = self.event(title=TITLE, capacity=2, approval_required=True, workshops=("xylm", "riaa"),
                              capacities=(1, 10))
        self.people = {
            "Anne": self.person(event_id, "Anne", email=PARTICIPANT, organisation="Réseau Bretagne Solidaire",
                                workshops=("xylm", "riaa")),
            "Yann": self.person(event_id, "Yann"),
            "Bleuenn": self.person(event_id, "Bleuenn", email=LONG_ADDRESS),
        }
        with self.app.app_context():
            registrations.decline_registration(db.session.get(Registration, self.people["Bleuenn"]),
                                               by=db.session.get(User, admin))
        return event_id

    def mail_trouble(self):
        """Anne's confirmation refused by the mail server, Yann's to be tried again."""
        with self.app.app_context():
            def row(name):
                return db.session.scalars(select(OutboxMail).where(
                    OutboxMail.registration_id == self.people[name], OutboxMail.kind == "registration_confirmed")).one()
            failed, retrying = row("Anne"), row("Yann")
            failed.status, failed.attempts = OutboxStatus.failed, 1
            failed.last_error = (f"550 5.1.1 <{PARTICIPANT}>: Recipient address rejected: "
                                 "User unknown in virtual mailbox table")
            retrying.status, retrying.attempts, retrying.next_attempt_at = OutboxStatus.retrying, 2, utcnow()
            retrying.last_error = "421 4.7.0 Try again later, closing connection."
            db.session.commit()

    def workshop_id(self, event_id, key):
        with self.app.app_context():
            return next(w.id for w in db.session.get(Event, event_id).workshops if w.key == key)


# --- Logging in, forgotten password ---------------------------------------------------------------

@state("login")
def _(v):
    v.goto("/organiser/")  # an anonymous visitor is sent to the login page


@state("login: fields left empty", 422)
def _(v):
    v.goto("/organiser/login")
    v.send()


@state("login: wrong password", 422)
def _(v):
    v.goto("/organiser/login")
    v.fill(email=ADMIN, password="pas le bon mot de passe")
    v.send()


@state("login: too many attempts", 429)
def _(v):
    limited = v.request.getfixturevalue("rate_limited_server")
    for _attempt in range(2):  # the limit is one failed attempt a minute
        v.page.goto(limited + "/organiser/login")
        v.fill(email=ADMIN, password="pas le bon mot de passe")
        v.send()


@state("page not found: logged out", 404)
def _(v):
    v.goto("/organiser/pas-de-page")  # no route answers: no login page either


@state("forgotten password")
def _(v):
    v.goto("/organiser/password/forgot")


@state("forgotten password: wrong address", 422)
def _(v):
    v.goto("/organiser/password/forgot")
    v.fill(email="anne@example")
    v.send()


@state("forgotten password: sent")
def _(v):
    v.goto("/organiser/password/forgot")
    v.fill(email=ORGANISER)
    v.send()


def reset_link(v, **travel):
    """The path of a password link of a new organiser account (made `travel` ago)."""
    user_id = v.log_in_organiser()
    v.page.context.clear_cookies()
    with v.app.app_context(), time_machine.travel(utcnow() - timedelta(**travel)):
        return f"/organiser/password/reset/{accounts.password_token(db.session.get(User, user_id))}"


@state("new password")
def _(v):
    v.goto(reset_link(v))


@state("new password: errors", 422)
def _(v):
    v.goto(reset_link(v))
    v.fill(password="court", confirm="autre")
    v.send()


@state("password link expired", 410)
def _(v):
    v.goto(reset_link(v, hours=2))


@state("password link invalid", 404)
def _(v):
    v.goto("/organiser/password/reset/not-a-valid-link")


# --- Dashboard, one's password, accounts -----------------------------------------------------------

@state("dashboard: admin, events")
def _(v):
    v.busy_event()
    v.event(title="Webinaire : financer un projet de coopération", status=EventStatus.draft, online_url=ONLINE_URL,
            venue_name="", venue_address="", starts_at=support.START + timedelta(days=3),
            ends_at=support.START + timedelta(days=3, hours=2))
    cancelled = v.event(title="Assemblée du réseau", starts_at=support.START + timedelta(days=5),
                        ends_at=support.START + timedelta(days=6))
    v.change(Event, cancelled, status=EventStatus.cancelled)
    v.goto("/organiser/")


@state("dashboard: organiser, no event")
def _(v):
    v.event()
    v.log_in_organiser()
    v.goto("/organiser/")


@state("dashboard: organiser, some events")
def _(v):
    first = v.event(title=TITLE)
    second = v.event(title="Webinaire : financer un projet de coopération", status=EventStatus.draft)
    v.person(first, "Anne")
    v.log_in_organiser(events=[first, second])
    v.goto("/organiser/")


@state("change password")
def _(v):
    v.log_in_organiser()
    v.goto("/organiser/account/password")


@state("change password: errors", 422)
def _(v):
    v.log_in_organiser()
    v.goto("/organiser/account/password")
    v.fill(current_password="pas le bon", password="un mot de passe assez long bis", confirm="un autre")
    v.send()


@state("change password: saved")
def _(v):
    v.log_in_organiser()
    v.goto("/organiser/account/password")
    new = "un nouveau mot de passe assez long"
    v.fill(current_password=support.PASSWORD, password=new, confirm=new)
    v.send()


@state("page not found", 404)
def _(v):
    v.log_in_organiser()
    v.goto("/organiser/pas-de-page")


@state("event not found", 404)
def _(v):
    event_id = v.event(title=TITLE)  # an event of others: the same page as an event that does not exist
    v.log_in_organiser()
    v.goto(f"/organiser/events/{event_id}")


@state("action not allowed", 405)
def _(v):
    event_id = v.event(title=TITLE)
    v.log_in_organiser(events=[event_id])
    v.goto(f"/organiser/events/{event_id}/publish")  # a button's action, opened as a page


@state("accounts")
def _(v):
    v.log_in()
    with v.app.app_context():
        support.make_user(ORGANISER, UserRole.organiser)
        support.make_user("yann.le-goff@example.org", UserRole.organiser, active=False)
        support.make_user(LONG_ADDRESS, UserRole.organiser)
        accounts.invite_user("nouvelle-personne.rencontres@reseau-bretagne-solidaire.bzh")
        db.session.commit()
    v.goto("/organiser/accounts")


@state("new account")
def _(v):
    v.log_in()
    v.goto("/organiser/accounts/new")


@state("new account: errors", 422)
def _(v):
    v.log_in()
    v.goto("/organiser/accounts/new")
    v.fill(email="anne@example")
    v.send()


# --- An event ---------------------------------------------------------------------------------------

@state("event home: draft, as its organiser")
def _(v):
    event_id = v.event(title=TITLE, status=EventStatus.draft, workshops=("riaa",))
    v.log_in_organiser(events=[event_id])
    v.goto(f"/organiser/events/{event_id}")


@state("event home: published, registrations and journal")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}")


@state("event home: cancelled")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/cancel")
    v.send("main form button")


@state("event team")
def _(v):
    event_id = v.busy_event()
    with v.app.app_context():
        support.make_user("organisation-webinaires@reseau-bretagne-solidaire.bzh", UserRole.organiser)
    v.goto(f"/organiser/events/{event_id}/team")


@state("event edit")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/edit")


@state("event edit: errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/edit")
    v.fill(title="", timezone="Europe/Rennes", ends_at="2030-06-12T08:00", online_url="visio.example.org",
           capacity="-1", contact_email="contact@")
    v.send(SAVE)


@state("event edit: Markdown preview")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/edit")
    v.fill(description=MARKDOWN, content_language="en")
    v.send('button[name="preview"]')


@state("new event")
def _(v):
    v.log_in()
    v.goto("/organiser/events/new")


@state("new event: errors", 422)
def _(v):
    v.log_in()
    v.goto("/organiser/events/new")
    v.fill(slug="Journée ESS", starts_at="2030-06-12T09:30")
    v.send(SAVE)


@state("copy")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/copy")


@state("copy: errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/copy")
    v.fill(title="", slug="Journée 2031", ends_at="2031-06-11T08:00")
    v.send()


@state("cancel: question")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/cancel")


# --- Its workshops ----------------------------------------------------------------------------------

@state("workshops")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/workshops")


@state("new workshop")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/workshops/new")


@state("edit workshop")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/workshops/{v.workshop_id(event_id, 'xylm')}/edit")


@state("edit workshop: errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/workshops/{v.workshop_id(event_id, 'xylm')}/edit")
    v.fill(title="", ends_at="2030-06-12T08:00", capacity="-3")
    v.send(SAVE)


@state("remove workshop: booked")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/workshops/{v.workshop_id(event_id, 'xylm')}/remove")


@state("remove workshop: not booked")
def _(v):
    event_id = v.event(title=TITLE, workshops=("xylm", "riaa"))
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/workshops/{v.workshop_id(event_id, 'riaa')}/remove")


@state("remove workshop: number changed", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/workshops/{v.workshop_id(event_id, 'xylm')}/remove")
    diet = v.question_ids["diet"]
    v.person(event_id, "Loeiz", workshops=("xylm",), answers={diet[0]: [str(diet[1][0])]})  # books it meanwhile
    v.send("main .actions button[type=submit]")


# --- Its questions ----------------------------------------------------------------------------------

@state("questions")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/questions")


@state("questions: none")
def _(v):
    event_id = v.event(title=TITLE)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/questions")


@state("new question")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/questions/new")


@state("new question: errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/questions/new")
    v.page.locator("#kind-2").check()
    v.send()


@state("edit question: answered, a choice removed")
def _(v):
    event_id = v.busy_event()
    diet = v.question_ids["diet"]
    v.goto(f"/organiser/events/{event_id}/questions/{diet[0]}/edit")
    v.page.locator(f"#remove_{diet[1][1]}").check()
    v.send()
    v.goto(f"/organiser/events/{event_id}/questions/{diet[0]}/edit")


@state("edit question: errors", 422)
def _(v):
    event_id = v.busy_event()
    diet = v.question_ids["diet"]
    v.goto(f"/organiser/events/{event_id}/questions/{diet[0]}/edit")
    v.fill(label="", **{f"choice_{diet[1][0]}": ""})
    v.send()


@state("delete question: answered")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/questions/{v.question_ids['diet'][0]}/delete")


# --- Its registrations and mails -------------------------------------------------------------------

@state("registrations")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations")


@state("registrations: several pages")
def _(v):
    event_id = v.event(title=TITLE, capacity=None)
    for number in range(26):
        v.person(event_id, f"Personne{number:02}", confirm=False, organisation="Réseau Bretagne Solidaire")
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/registrations?per_page=25&page=2")


@state("registrations: nobody found")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations")
    v.fill(q="personne", status="cancelled")
    v.send("main form[role=search] button")


@state("registrations: filtered by an answer")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations?answer=choice-{v.question_ids['diet'][1][0]}")


@state("registrations: wrong filter", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations?per_page=7")


@state("person: seat, workshops, a mail refused")
def _(v):
    event_id = v.busy_event()
    v.mail_trouble()
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Anne']}")


@state("person: waiting list")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Bleuenn']}")


@state("person: cancelled")
def _(v):
    event_id = v.busy_event()
    with v.app.app_context():
        registrations.cancel_registration(db.session.get(Registration, v.people["Yann"]))
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Yann']}")


@state("registrations: requests to decide")
def _(v):
    event_id = v.approval_event()
    v.goto(f"/organiser/events/{event_id}/registrations?status=awaiting_approval")


@state("person: request to decide")
def _(v):
    event_id = v.approval_event()
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Anne']}")


@state("person: request accepted")
def _(v):
    event_id = v.approval_event()
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Anne']}")
    v.send("main form[action$='/accept'] button")


@state("person: request declined")
def _(v):
    event_id = v.approval_event()
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Bleuenn']}")


@state("event edit: approval kept while requests await", 422)
def _(v):
    event_id = v.approval_event()
    v.goto(f"/organiser/events/{event_id}/edit")
    v.page.locator("#approval_required").uncheck()
    v.send(SAVE)


@state("add a person")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations/new")


@state("add a person: errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations/new")
    v.fill(email="anne@example")
    v.page.locator("#workshops-0").check()
    v.page.locator("#workshops-1").check()
    v.send()


@state("edit a person")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/registrations/{v.people['Anne']}/edit")


@state("mail log: nothing sent")
def _(v):
    event_id = v.event(title=TITLE, status=EventStatus.draft)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/mails")


@state("mail log: mails refused and to try again")
def _(v):
    event_id = v.busy_event()
    v.mail_trouble()
    v.goto(f"/organiser/events/{event_id}/mails")


# --- The day itself: check-in, walk-ins, attendance sheets ------------------------------------------

def checked_in(v, name):
    """`name` of the busy event checked in by the admin; returns the person's check-in code."""
    with v.app.app_context():
        person = db.session.get(Registration, v.people[name])
        checkin.check_in(person, db.session.scalars(select(User).where(User.email == ADMIN)).one())
        return db.session.get(Registration, v.people[name]).checkin_code


@state("check-in: search results")
def _(v):
    event_id = v.busy_event()
    checked_in(v, "Anne")
    v.goto(f"/organiser/events/{event_id}/checkin")
    v.fill(q="le goff")
    v.send("main form[role=search] button")


@state("check-in: a person to check in")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/checkin?registration={v.people['Yann']}")


@state("check-in: found by code, already checked in")
def _(v):
    event_id = v.busy_event()
    code = checked_in(v, "Anne")
    v.goto(f"/organiser/events/{event_id}/checkin")
    v.fill(code=code)
    v.send("main form.checkin-find:not([role=search]) button")


@state("check-in: waiting list")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/checkin?registration={v.people['Bleuenn']}")


@state("check-in: unknown code", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/checkin?code=AAAABBBBCCCC")


@state("check-in: a code read by the scanner, one waiting for the network")
def _(v):
    event_id = v.busy_event()
    with v.app.app_context():
        yann, bleuenn = (db.session.get(Registration, v.people[name]).checkin_code for name in ("Yann", "Bleuenn"))
    v.goto(f"/organiser/events/{event_id}/checkin")
    v.page.wait_for_function("typeof window.EmgavCheckin?.checkInCode === 'function'")
    v.page.evaluate("code => EmgavCheckin.checkInCode(code)", yann)
    v.page.context.set_offline(True)
    v.page.evaluate("code => EmgavCheckin.checkInCode(code)", bleuenn)
    v.page.context.set_offline(False)
    v.page.evaluate("localStorage.clear()")
    expect(v.page.locator("[data-result]")).to_be_visible()


@state("walk-in")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/checkin/walk-in")


@state("walk-in: errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/checkin/walk-in")
    v.fill(email="nolwenn@example")
    v.send()


@state("attendance sheet")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/attendance")


@state("attendance sheet: a workshop")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/attendance?workshop={v.workshop_id(event_id, 'riaa')}")


# --- Reminders ------------------------------------------------------------------------------------

def reminders_of(v, event_id, days=(14, 7, 1), **event_fields):
    """The event's reminders: the first sent (to 3 people), the second skipped, the others planned."""
    with v.app.app_context():
        event = db.session.get(Event, event_id)
        for name, value in event_fields.items():
            setattr(event, name, value)
        reminders.schedule(event, list(days))
        db.session.flush()
        if len(event.reminders) > 1:
            sent, skipped = event.reminders[:2]
            sent.status, sent.sent_at, sent.recipients = ReminderStatus.sent, sent.due_at, 3
            skipped.status = ReminderStatus.skipped
        db.session.commit()


@state("reminders: sent, skipped and planned")
def _(v):
    event_id = v.event(title=TITLE)
    reminders_of(v, event_id, practical_info=MARKDOWN)
    v.log_in_organiser(events=[event_id])
    v.goto(f"/organiser/events/{event_id}/reminders")


@state("reminders: switched off")
def _(v):
    event_id = v.event(title=TITLE)
    reminders_of(v, event_id, days=(7,), reminders_enabled=False)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/reminders")


# --- Survey ---------------------------------------------------------------------------------------

def survey_of(v, answered=True):
    """The event's survey from the template, invitations sent, one person answered; returns
    (event id, the id of the actor-type question)."""
    event_id = v.event(title=TITLE, workshops=("xylm", "riaa"))
    registration_id = v.person(event_id, workshops=("riaa",))
    with v.app.test_request_context():
        survey = surveys.create_from_template(db.session.get(Event, event_id), v.language)
        survey.status, survey.invited_at = SurveyStatus.active, utcnow()
        participant = SurveyParticipant(survey=survey, registration_id=registration_id)
        db.session.add(participant)
        db.session.commit()
        actors = next(q for q in survey.questions if q.kind == SurveyQuestionKind.multiple_choice)
        if answered:
            survey_answers.submit(participant, {survey.questions[0].id: ["4"], actors.id: [str(actors.choices[0].id)]})
        return event_id, actors.id


@state("survey: not created yet")
def _(v):
    event_id = v.event(title=TITLE)
    v.log_in_organiser(events=[event_id])
    v.goto(f"/organiser/events/{event_id}/survey")


@state("survey: questions, settings and answers")
def _(v):
    event_id, _actors = survey_of(v)
    v.log_in_organiser(events=[event_id])
    v.goto(f"/organiser/events/{event_id}/survey")


@state("survey: settings errors", 422)
def _(v):
    event_id, _actors = survey_of(v, answered=False)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/survey")
    v.fill(title="", opens_at="2030-07-02T12:00", closes_at="2030-07-01T12:00")
    v.send("main form[action$='/survey'] button[type=submit]")


@state("survey question: new")
def _(v):
    event_id, _actors = survey_of(v, answered=False)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/survey/questions/new")


@state("survey question: a chosen choice removed, refused", 422)
def _(v):
    event_id, actors = survey_of(v)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/survey/questions/{actors}/edit")
    v.fill(choices="autre")
    v.send()


@state("reminders: errors", 422)
def _(v):
    event_id = v.event(title=TITLE)
    reminders_of(v, event_id)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/reminders")
    v.fill(days_before="0")
    v.send('main form[aria-labelledby="add-title"] button[type=submit]')


@state("reminders: cancelled event")
def _(v):
    event_id = v.event(title=TITLE, status=EventStatus.cancelled)
    reminders_of(v, event_id)
    v.log_in()
    v.goto(f"/organiser/events/{event_id}/reminders")


# --- Mailings to registered people ---------------------------------------------------------------

MAILING_BODY = "Bonjour {prénom},\n\n" + MARKDOWN + "\n\nVotre inscription : {lien}"


def mailings_of(v, event_id):
    """A draft, a mailing being sent (Anne's mail failed, Yann's sent, Bleuenn's left) and a cancelled
    one; returns their ids."""
    with v.app.app_context():
        event = db.session.get(Event, event_id)
        draft = mailings.create_draft(event, None, "Infos pratiques : {événement}", MAILING_BODY,
                                      mailings.Audience(status=None))
        sending = mailings.create_draft(event, None, "La salle a changé", MAILING_BODY, mailings.Audience())
        mailings.send_now(sending, None)
        mailings.fan_out(sending.id)
        rows = db.session.scalars(select(OutboxMail).where(OutboxMail.mailing_id == sending.id)
                                  .order_by(OutboxMail.id)).all()
        rows[0].status, rows[0].attempts = OutboxStatus.failed, 1
        rows[0].last_error = f"550 5.1.1 <{PARTICIPANT}>: Recipient address rejected: User unknown"
        rows[1].status, rows[1].sent_at = OutboxStatus.sent, utcnow()
        cancelled = mailings.create_draft(event, None, "Brouillon abandonné", "Bonjour", mailings.Audience())
        mailings.cancel(cancelled, None)
        db.session.commit()
        return draft.id, sending.id


@state("mailings: list")
def _(v):
    event_id = v.busy_event()
    mailings_of(v, event_id)
    v.goto(f"/organiser/events/{event_id}/mailings")


@state("mailings: no mailing yet")
def _(v):
    event_id = v.event(title=TITLE)
    v.log_in_organiser(events=[event_id])
    v.goto(f"/organiser/events/{event_id}/mailings")


@state("mailings: compose")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/mailings/new")


@state("mailings: compose errors", 422)
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/mailings/new")
    v.fill(subject="", body="Bonjour {prenom}")
    v.send()


@state("mailings: draft with its preview")
def _(v):
    event_id = v.busy_event()
    draft_id, _sending = mailings_of(v, event_id)
    v.goto(f"/organiser/events/{event_id}/mailings/{draft_id}")


@state("mailings: being sent, its progress and log")
def _(v):
    event_id = v.busy_event()
    _draft, sending_id = mailings_of(v, event_id)
    v.goto(f"/organiser/events/{event_id}/mailings/{sending_id}")


@state("mailings: unsubscribe and undeliverable lists")
def _(v):
    v.busy_event()
    with v.app.app_context():
        suppressions.suppress(PARTICIPANT, SuppressionReason.undeliverable,
                              "550 5.1.1 Recipient address rejected: User unknown")
        suppressions.suppress(LONG_ADDRESS, SuppressionReason.unsubscribed)
        suppressions.suppress("ailleurs@example.org", SuppressionReason.unsubscribed)
        db.session.commit()
    v.goto("/organiser/lists")


# --- Dashboards --------------------------------------------------------------------------------------

@state("event dashboard: before the day")
def _(v):
    event_id = v.busy_event()
    v.goto(f"/organiser/events/{event_id}/dashboard")


@state("event dashboard: after the day, people checked in")
def _(v):
    event_id = v.busy_event()
    with v.app.app_context():
        db.session.add(CheckIn(registration_id=v.people["Anne"], event_id=event_id))
        db.session.commit()
    past = utcnow().replace(microsecond=0) - timedelta(days=2)
    v.change(Event, event_id, starts_at=past, ends_at=past + timedelta(hours=8))
    v.goto(f"/organiser/events/{event_id}/dashboard")


@state("network view: events side by side")
def _(v):
    v.busy_event()
    second = v.event(title="Webinaire : financer un projet de coopération", starts_at=support.START + timedelta(days=3),
                     ends_at=support.START + timedelta(days=3, hours=2))
    v.person(second, "Anne", email=PARTICIPANT, actor_type="ess")
    v.person(second, "Maïwenn", actor_type="collectivite")
    v.goto("/organiser/network?start=2030-01-01&end=2030-12-31")


@state("network view: no event in the period")
def _(v):
    v.log_in()
    v.goto("/organiser/network")


@state("network view: wrong period", 422)
def _(v):
    v.log_in()
    v.goto("/organiser/network")
    v.fill(start="2030-12-31", end="2030-01-01")
    v.send()


# --- Errors -----------------------------------------------------------------------------------------

@state("back office: no such event", 404)
def _(v):
    event_id = v.event()
    v.log_in_organiser()  # not one of its organisers: the same 404 as for an event that does not exist
    v.goto(f"/organiser/events/{event_id}")


# --- The checks -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rate_limited_server(app, base_env):
    """The app under gunicorn with the login limit on: one failed attempt a minute."""
    env = dict(base_env, RATELIMIT_ENABLED="1", RATELIMIT_LOGIN_IP="1 per minute")
    proc, url = support.start_gunicorn(env, workers=1)
    yield url
    proc.stop()


@pytest.fixture(scope="module")
def tabs(browser):
    yield from accessibility.open_tabs(browser)


@pytest.mark.parametrize("language", accessibility.LANGUAGES)
@pytest.mark.parametrize("name", STATES)
def test_back_office_page_state_is_accessible(app, live_server, tabs, make_event, request, name, language):
    page = tabs[language]
    page.context.clear_cookies()  # anonymous until the state logs in
    accessibility.check_state(STATES, name, Visit(app, live_server, page, language, make_event, request))
    # On a narrow page each cell shows the name of its column (see test_a_narrow_table_...).
    assert page.locator(".data-table td:not([data-label])").count() == 0, "a table cell without data-label"


def test_an_address_may_wrap_after_its_at_and_dots_and_stays_escaped():
    assert address_breaks("anne.le-goff@example.org") == "anne.<wbr>le-goff@<wbr>example.<wbr>org"
    assert address_breaks("<b>@x") == "&lt;b&gt;@<wbr>x"


def test_a_narrow_table_shows_each_row_as_a_block_and_keeps_its_headers(app, live_server, tabs, make_event, request):
    """On a narrow page each cell shows its column's name above it; screen readers still get a table
    with its column headers, and a cell's name without that label."""
    page = tabs["fr"]
    page.context.clear_cookies()
    STATES["accounts"][0](Visit(app, live_server, page, "fr", make_event, request))
    page.set_viewport_size({"width": accessibility.NARROW, "height": 640})

    cell = page.locator("main td[data-label]").first
    assert cell.evaluate("cell => getComputedStyle(cell).display") == "block"
    assert cell.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Rôle" / ""'
    table = page.get_by_role("table", name="Les comptes de l’espace des personnes qui organisent")
    expect(table.get_by_role("columnheader", name="Rôle")).to_have_count(1)
    expect(table.get_by_role("cell", name="administration", exact=True)).to_have_count(1)


# --- The keyboard alone -----------------------------------------------------------------------------

FOCUS_SHOWN = """element => {
  const style = getComputedStyle(element), box = element.getBoundingClientRect();
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const onScreen = box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth;
  return (outlined || style.boxShadow !== "none") && onScreen;
}"""


def tab_to(page, target, most=40):
    """Press Tab until `target` (a locator) has the focus, checking on the way that each element
    that gets it shows it, on screen."""
    for _press in range(most):
        page.keyboard.press("Tab")
        focused = page.locator("*:focus")
        described = focused.evaluate("e => e.outerHTML.slice(0, 120)")
        assert focused.evaluate(FOCUS_SHOWN), f"no visible focus on {described}"
        if focused.evaluate("(element, target) => element === target", target.element_handle()):
            return
    raise AssertionError(f"{target} not reached in {most} presses of Tab")


def enter(page):
    """Press Enter on a link or a button, and wait for the page it opens."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_run_an_event_with_the_keyboard_alone(app, page, live_server, make_event):
    """Open an event, rename it, publish it and remove a workshop, then log out: with Tab and Enter
    only, each focused element showing its focus."""
    event_id = make_event(title="Rencontre des ateliers", status=EventStatus.draft, starts_at=support.START,
                          ends_at=support.START + timedelta(hours=8), workshops=[
                              dict(key="fresque", title="Fresque du climat", starts_at=support.START,
                                   ends_at=support.START + timedelta(hours=1))])
    visit = Visit(app, live_server, page, "fr", make_event, None)
    visit.log_in()
    visit.goto("/organiser/")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    tab_to(page, page.get_by_role("link", name="Rencontre des ateliers"))
    enter(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rencontre des ateliers")

    tab_to(page, page.get_by_role("link", name="Modifier les informations"))
    enter(page)
    expect(page.get_by_role("button", name="Enregistrer")).to_have_count(1)  # the one Enter presses is hidden
    tab_to(page, page.get_by_label("Titre"))
    page.keyboard.press("End")
    page.keyboard.type(" 2030")
    enter(page)  # sends the form, as its main button does
    expect(page.get_by_role("status")).to_have_text("Les modifications sont enregistrées.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rencontre des ateliers 2030")

    tab_to(page, page.get_by_role("button", name="Publier"))
    enter(page)
    expect(page.get_by_role("status")).to_contain_text("L’événement est publié")

    tab_to(page, page.get_by_role("navigation", name="Pages de l’événement").get_by_role("link", name="Ateliers"))
    enter(page)
    tab_to(page, page.get_by_role("link", name="Retirer Fresque du climat"))
    enter(page)
    tab_to(page, page.get_by_role("button", name="Retirer l’atelier"))
    enter(page)
    expect(page.get_by_role("status")).to_have_text(
        "L’atelier fresque est retiré. Personnes prévenues par courriel : 0.")

    tab_to(page, page.get_by_role("button", name="Se déconnecter"))
    enter(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert (event.title, event.status) == ("Rencontre des ateliers 2030", EventStatus.published)
        assert event.workshops == []
