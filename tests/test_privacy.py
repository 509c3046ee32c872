"""Personal data: retention (time travel: the event ends, the periods pass, the task runs twice, then
the whole database is searched for the person), erasure from the manage link through the real
worker and SMTP server, the download of one's data, consent records, the back office's access
journal and admin erasure."""
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.mail import delivery, outbox
from webapp.mail.message import build_message
from webapp.models import (
    Consent,
    ConsentPurpose,
    DataAccess,
    DataAccessAction,
    Event,
    JournalEntry,
    OutboxMail,
    OutboxStatus,
    Question,
    QuestionChoice,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Suppression,
    User,
    UserRole,
)
from webapp.models.base import utcnow
from webapp.services import checkin, dashboards, privacy, registrations, suppressions, tokens
from webapp.services.errors import RegistrationError

from . import support
from .support import invite_of, person
from .test_concurrency import create_event, run_together, target  # noqa: F401  (the fixture: SQLite and PostgreSQL)
from .test_organiser_dashboards import network  # noqa: F401  (the fixture: three events of the network)

ANNE = "azilis@example.org"
ANNE_TEXT = "Azilis Le Goff, allergique aux noix, joignable au 06 12 34 56 78"


def database_dump():
    """Every row of every table of the models, as text (a SELECT over each table)."""
    return "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                     for row in db.session.execute(select(table)))


def questions_of(event):
    """A free-text question and a choice question on the event; returns (text id, choice question id, choice id)."""
    text = Question(event=event, kind=QuestionKind.short_text, label="Régime alimentaire ?")
    choice = Question(event=event, kind=QuestionKind.single_choice, label="Soirée ?", position=1)
    choice.choices = [QuestionChoice(label="Oui, je reste"), QuestionChoice(label="Non", position=1)]
    db.session.add_all([text, choice])
    db.session.commit()
    return text.id, choice.id, choice.choices[0].id


def admin():
    return db.session.get(User, support.make_user("admin@reseau.bzh", UserRole.admin))


# --- Retention ---

def test_after_the_retention_periods_the_person_is_nowhere_in_the_database_and_the_figures_stay(
        app_ctx, make_event):
    event = db.session.get(Event, make_event(capacity=10, workshops=[dict(
        key="riaa", title="Agroécologie", starts_at=utcnow() + timedelta(days=30, hours=2),
        ends_at=utcnow() + timedelta(days=30, hours=3), capacity=5)]))
    text_id, choice_id, evening = questions_of(event)
    user = admin()
    anne = person(event, "Azilis", organisation="Coopérative Xylm", workshops=event.workshops, news_consent=True,
                  answers={text_id: [ANNE_TEXT], choice_id: [str(evening)]})
    bob = person(event, "Bob", last_name="Martin", actor_type="ess",
                 answers={text_id: ["Rien"], choice_id: [str(evening)]})
    later_event = db.session.get(Event, make_event(starts_at=utcnow() + timedelta(days=900),
                                                   ends_at=utcnow() + timedelta(days=900, hours=8)))
    person(later_event, "Bob", last_name="Martin", actor_type="ess")  # Bob comes back to the network
    registrations.update_registration(anne, first_name="Azilis", last_name="Le Goff", organisation="Coopérative Xylm",
                                      actor_type="asi", language="fr", workshops=event.workshops, by=user)
    privacy.record_view(user, anne)
    outbox.queue_mail("lost_links", ANNE, "lost-links:anne", payload={"registration_ids": [anne.id]})
    db.session.commit()
    with time_machine.travel(event.starts_at + timedelta(hours=1)):
        checkin.check_in(db.session.get(Registration, anne.id), user)
    for row in db.session.scalars(select(OutboxMail)):  # every mail sent, an SMTP reply quoting one address
        row.status, row.sent_at = OutboxStatus.sent, row.created_at
    db.session.commit()

    figures_at = event.ends_at + timedelta(days=1)
    start, end = event.starts_at.date() - timedelta(days=1), later_event.starts_at.date() + timedelta(days=1)

    def figures():
        db.session.expire_all()
        return (dashboards.event_figures(db.session.get(Event, event.id), now=figures_at),
                dashboards.network_figures(start, end, "Europe/Paris", now=figures_at))

    before = figures()
    assert ANNE in database_dump() and ANNE_TEXT in database_dump()

    # The mail log goes after 12 months, the registrations after 24 (after the event), the journals after 36.
    with time_machine.travel(event.ends_at + timedelta(days=370), tick=False):
        report = privacy.apply_retention()
        assert (report.registrations, report.journal_entries) == (0, 0) and report.mails > 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0
    with time_machine.travel(event.ends_at + timedelta(days=732), tick=False):
        first, second = privacy.apply_retention(), privacy.apply_retention()
    assert first.registrations == 2  # Anne and Bob's first registration; Bob's later event is not over
    assert second == privacy.RetentionReport()  # the second run finds nothing to do

    dump = database_dump()
    for personal in (ANNE, "Azilis", "Le Goff", "Coopérative Xylm", "Xylm", ANNE_TEXT, "allergique"):
        assert personal not in dump, personal
    assert "bob@example.org" in dump  # his later registration is not over yet
    assert figures() == before  # counts, actor types, workshops, presence, returning people
    kept = db.session.get(Registration, anne.id)
    assert (kept.status, kept.actor_type, kept.anonymised_at is not None) == (RegistrationStatus.confirmed, "asi", True)
    assert [a.choices[0].label for a in kept.answers if a.choices] == ["Oui, je reste"]  # anonymous statistics
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 4  # what was agreed stays, anonymously
    anonymised = db.session.scalars(select(Registration.id).where(Registration.anonymised_at.is_not(None))).all()
    assert sorted(anonymised) == [anne.id, bob.id]

    with time_machine.travel(event.ends_at + timedelta(days=1100), tick=False):
        assert privacy.apply_retention().journal_entries > 0
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 0
        assert db.session.scalar(select(func.count()).select_from(DataAccess)) == 0


@support.ON_BOTH_DATABASES
def test_the_network_view_counts_the_same_people_after_retention_and_the_names_are_gone(db_app, network):  # noqa: F811
    """Three events of 2029 and 2030 (fixture of the dashboards' tests): once the retention period of
    all of them is over, the network's figures (people who came back, newcomers, families of actors)
    and each event's are the same as before; the task runs twice; nobody's name or address is left."""
    app = db_app
    moment = datetime(2031, 1, 1, tzinfo=UTC)
    period = (date(2029, 1, 1), date(2030, 12, 31), "Europe/Paris")

    def figures():
        with app.app_context():
            network_view = dashboards.network_figures(*period, now=moment)
            return ([(item.event.slug, item.pool, item.returning) for item in network_view.events],
                    network_view.people, network_view.several,
                    [dashboards.event_figures(db.session.get(Event, network[key]), now=moment).pool
                     for key in ("old", "first", "second")])

    before = figures()
    assert before[1:3] == (3, 2)
    with time_machine.travel(datetime(2033, 1, 1, tzinfo=UTC), tick=False), app.app_context():
        assert privacy.apply_retention().registrations == 7
        assert privacy.apply_retention() == privacy.RetentionReport()
        dump = database_dump().lower()
    assert figures() == before
    for name in ("anne", "bleuenn", "corentin", "deniz", "le goff"):
        assert name not in dump, name


def test_months_are_calendar_months():
    assert privacy.months_before(datetime(2030, 3, 31, 12), 1) == datetime(2030, 2, 28, 12)
    assert privacy.months_before(datetime(2030, 1, 15), 24) == datetime(2028, 1, 15)


# --- Erasure ---

def test_erasure_from_the_manage_link_cancels_mails_the_cancel_invite_then_leaves_only_a_hash(
        app, base_env, client, smtp_server, make_event):
    with app.test_request_context():
        event = db.session.get(Event, make_event(capacity=1))
        text_id, choice_id, evening = questions_of(event)
        anne = person(event, "Azilis", organisation="Coopérative Xylm",
                      answers={text_id: [ANNE_TEXT], choice_id: [str(evening)]})
        bleuenn = person(event, "Bleuenn")
        assert (anne.status, bleuenn.status) == (RegistrationStatus.confirmed, RegistrationStatus.waiting)
        suppressions.unsubscribe(suppressions.address_hash(ANNE))
        reminder_id = outbox.queue_registration_mail("event_reminder", anne, "reminder:test:anne")
        db.session.commit()
        anne_id, bleuenn_id = anne.id, bleuenn.id
    manage = support.personal_link(app, "manage", anne_id)
    confirm = support.personal_link(app, "confirm", anne_id)

    page = client.get(manage + "/erase")
    assert page.status_code == 200 and "Supprimer mes données" in support.page_text(page)
    assert support.submit(client, manage + "/erase").status_code == 200

    worker = support.start_worker(base_env)
    try:
        [cancel] = smtp_server.wait_for(ANNE, kind="registration_cancelled")
        assert invite_of(cancel)[0] == "CANCEL"
        smtp_server.wait_for("bleuenn@example.org", kind="seat_offer")  # the seat goes to the next person

        def erased():
            with app.app_context():
                return db.session.get(Registration, anne_id).anonymised_at is not None
        support.wait_until(erased, message="the erasure to complete")
    finally:
        worker.stop()

    assert not [m for m in smtp_server.to(ANNE) if m["X-Emgav-Kind"] == "event_reminder"]
    for path in (manage, confirm, manage + "/cancel"):
        response = client.get(path)
        assert response.status_code == 410 and "Données effacées" in support.page_text(response), path
    with app.app_context():
        assert db.session.get(OutboxMail, reminder_id).status == OutboxStatus.cancelled
        assert db.session.get(Registration, bleuenn_id).status == RegistrationStatus.offered
        dump = database_dump()
        for personal in (ANNE, "Azilis", "Coopérative Xylm", ANNE_TEXT):
            assert personal not in dump, personal
        [listed] = db.session.scalars(select(Suppression)).all()
        assert listed.address_hash == suppressions.address_hash(ANNE) and listed.address_hash in dump


def test_an_erasure_and_a_click_on_the_confirmation_link_at_once_leave_no_seat_taken(target):  # noqa: F811
    """Whichever comes first, the person ends cancelled, without a seat, and erased; the event's
    counters match its rows (the cancellation's conditional UPDATE and the event's lock)."""
    _env, app = target
    for attempt in range(5):
        with app.test_request_context():
            event = create_event(capacity=1)
            registration = person(event, "Azilis", email=f"azilis{attempt}@example.org", confirm=False)
            token, registration_id, event_id = tokens.confirm_token(registration), registration.id, event.id
        results = run_together(app, [
            lambda: registrations.confirm_address(token),  # noqa: B023  (run before the loop moves on)
            lambda: privacy.erase(db.session.get(Registration, registration_id)),  # noqa: B023
        ])
        assert not [r for r in results if isinstance(r, Exception) and not isinstance(
            r, RegistrationError | tokens.InvalidLink)], results
        with app.app_context():
            support.assert_counters_match_rows(event_id)
            erased = db.session.get(Registration, registration_id)
            assert erased.status == RegistrationStatus.cancelled and erased.erasure_requested_at is not None
            assert db.session.get(Event, event_id).seats_taken == 0


def test_a_cancelled_registration_still_leads_to_the_erasure_and_its_cancel_invite_still_goes(
        app, client, smtp_server, make_event):
    registration_id = support.person_id(app, make_event(), "Azilis")
    manage = support.personal_link(app, "manage", registration_id)
    assert support.submit(client, manage + "/cancel").status_code == 200
    page = client.get(manage)
    assert page.status_code == 410 and f'href="{manage}/erase"' in page.get_data(as_text=True)
    assert support.submit(client, manage + "/erase").status_code == 200
    with app.test_request_context():
        pending = db.session.scalars(select(OutboxMail).where(OutboxMail.status == OutboxStatus.queued)).all()
        assert [row.kind for row in pending] == ["registration_cancelled"]  # the confirmation mails dropped
        assert db.session.get(Registration, registration_id).anonymised_at is None  # it waits for that mail
        delivery.deliver(pending[0].id)
        privacy.complete_erasures_after_mail([pending[0].id])
        assert invite_of(smtp_server.wait_for(ANNE, kind="registration_cancelled")[0])[0] == "CANCEL"
        assert db.session.get(Registration, registration_id).anonymised_at is not None
        assert ANNE not in database_dump()


def test_an_admin_erases_a_person_of_a_past_event_at_once_and_it_is_journalled(app_ctx, client, make_event):
    past = db.session.get(Event, make_event(starts_at=utcnow() - timedelta(days=10),
                                            ends_at=utcnow() - timedelta(days=9, hours=16)))
    anne = Registration(event=past, first_name="Azilis", last_name="Le Goff", email=ANNE, actor_type="asi",
                        status=RegistrationStatus.confirmed, privacy_consent_at=utcnow())
    db.session.add(anne)
    db.session.commit()
    user_id = support.make_user("admin@reseau.bzh", UserRole.admin)
    support.logged_in_as(client, user_id)
    person_page = f"/organiser/events/{past.id}/registrations/{anne.id}"
    token = support.csrf_token(client, person_page)
    response = client.post(person_page + "/erase", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    erased = db.session.get(Registration, anne.id)
    assert erased.anonymised_at is not None and erased.email is None and erased.first_name == ""
    assert erased.status == RegistrationStatus.confirmed  # a past event's figures do not change
    assert ANNE not in database_dump()
    actions = db.session.scalars(select(DataAccess.action).order_by(DataAccess.id)).all()
    assert actions == [DataAccessAction.viewed, DataAccessAction.erased]


# --- Access ---

def test_the_download_holds_every_registration_answer_and_mail_of_the_address_and_nothing_else(
        app, client, make_event):
    event_ids = [make_event(title=title) for title in ("Journée de Rennes", "Forum de Brest")]
    with app.test_request_context():
        first, second = (db.session.get(Event, event_id) for event_id in event_ids)
        text_id, _choice, _evening = questions_of(first)
        anne = person(first, "Azilis", answers={text_id: [ANNE_TEXT]})
        person(second, "Azilis", organisation="Coopérative Xylm")
        person(first, "Bob", answers={text_id: ["Réponse de Bob"]})
        anne_id = anne.id
    manage = support.personal_link(app, "manage", anne_id)
    assert client.get(manage + "/my-data").status_code == 200
    assert support.submit(client, manage + "/my-data").status_code == 200
    with app.test_request_context():
        row = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "data_access")).one()
        assert row.recipient == ANNE
        link = support.link_in(build_message(row), "my-data")

    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = json.loads(response.get_data(as_text=True))
    assert sorted(r["event"]["title"] for r in data["registrations"]) == ["Forum de Brest", "Journée de Rennes"]
    assert {r["email"] for r in data["registrations"]} == {ANNE}
    assert [a["text"] for r in data["registrations"] for a in r["answers"]] == [ANNE_TEXT]
    assert {r["organisation"] for r in data["registrations"]} == {"", "Coopérative Xylm"}
    assert {(mail["to"], mail["kind"]) for mail in data["mails"]} >= {
        (ANNE, "confirm_address"), (ANNE, "registration_confirmed"), (ANNE, "data_access")}
    assert {mail["to"] for mail in data["mails"]} == {ANNE}
    assert "Bob" not in response.get_data(as_text=True) and "bob@" not in response.get_data(as_text=True)

    with time_machine.travel(utcnow() + timedelta(hours=49)):
        assert client.get(link).status_code == 410
    assert client.get(link[:-4] + "abcd").status_code == 404


# --- Consent ---

def test_consent_is_recorded_with_the_text_version_and_news_is_unticked_and_optional(app, client, event_slug):
    form = client.get(f"/events/{event_slug}/register").get_data(as_text=True)
    [box] = re.findall(r'<input[^>]*name="news_consent"[^>]*>', form)
    assert 'type="checkbox"' in box and "checked" not in box and "required" not in box
    assert support.post_registration(client, event_slug, email=ANNE).status_code == 303
    assert support.post_registration(client, event_slug, email="bob@example.org", news_consent="y").status_code == 303
    with app.app_context():
        recorded = db.session.execute(
            select(Registration.email, Consent.purpose, Consent.text_version, Consent.withdrawn_at)
            .join(Consent, Consent.registration_id == Registration.id).order_by(Consent.id)).all()
    version = app.config["PRIVACY_TEXT_VERSION"]
    assert recorded == [(ANNE, ConsentPurpose.privacy_notice, version, None),
                        ("bob@example.org", ConsentPurpose.privacy_notice, version, None),
                        ("bob@example.org", ConsentPurpose.network_news, version, None)]


def test_news_consent_is_withdrawn_in_one_click_from_the_mails_and_the_manage_page(app, client, make_event):
    with app.test_request_context():
        anne = person(make_event(), "Azilis", news_consent=True)
        row = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "registration_confirmed")).one()
        link = support.link_in(build_message(row), "news-consent")
        anne_id = anne.id
    manage_path = support.personal_link(app, "manage", anne_id)
    [button] = re.findall(r'action="(/news-consent/[^"]+)"', client.get(manage_path).get_data(as_text=True))
    assert client.get(link).status_code == 200  # the mail's link shows the button too
    token = support.csrf_token(client, manage_path)
    for path in (button, link):  # one click on either; idempotent
        assert client.post(path, data={"csrf_token": token}).status_code == 200
    with app.test_request_context():
        [news] = db.session.scalars(select(Consent).where(Consent.purpose == ConsentPurpose.network_news)).all()
        assert news.withdrawn_at is not None
        message = build_message(db.session.scalars(select(OutboxMail).where(
            OutboxMail.kind == "registration_confirmed")).one())
        assert "/news-consent/" not in support.mail_text(message)
    assert "news-consent" not in client.get(support.personal_link(app, "manage", anne_id)).get_data(as_text=True)


# --- Back office ---

def test_person_pages_and_exports_are_journalled_and_admins_see_the_journal(app, client, make_event):
    event_id = make_event(title="Journée de Rennes")
    anne_id = support.person_id(app, event_id, "Azilis")
    with app.app_context():
        organiser_id = support.make_user("orga@reseau.bzh", events=[event_id])
        admin_id = support.make_user("admin@reseau.bzh", UserRole.admin)
        support.logged_in_as(client, organiser_id)
        admin_client = support.logged_in_as(app.test_client(), admin_id)
    assert client.get(f"/organiser/events/{event_id}/registrations/{anne_id}").status_code == 200
    token = support.csrf_token(client, f"/organiser/events/{event_id}/registrations")
    assert client.post(f"/organiser/events/{event_id}/registrations/export.csv",
                       data={"csrf_token": token}).status_code == 200
    assert client.get("/organiser/data-access-journal").status_code == 404  # admins only

    page = support.page_text(admin_client.get("/organiser/data-access-journal"))
    assert "orga@reseau.bzh" in page and "fiche consultée" in page and "liste exportée" in page
    assert "Azilis Le Goff" in page and "personnes : 1" in page
    with app.app_context():
        entries = db.session.execute(select(DataAccess.user_id, DataAccess.action, DataAccess.registration_id,
                                            DataAccess.count).order_by(DataAccess.id)).all()
    assert entries == [(organiser_id, DataAccessAction.viewed, anne_id, 1),
                       (organiser_id, DataAccessAction.exported, None, 1)]


@pytest.mark.parametrize("path", ["/privacy", "/confidentialite"])
def test_the_privacy_page_gives_the_controller_and_the_periods_of_the_configuration(client, app, path):
    page = support.page_text(client.get(path))
    for figure in ("24 mois", "12 mois", "36 mois", app.config["PRIVACY_CONTROLLER"], app.config["PRIVACY_CONTACT"],
                   app.config["PRIVACY_TEXT_VERSION"]):
        assert figure in page, figure
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)  # the footer links it
    english = support.page_text(client.get(path + "?lang=en"))
    assert "24 months" in english and "Who is responsible" in english
