"""The reminders page of the back office: the moments and their states, adding and removing a
reminder, switching them off and on (journalled, through the rules of events), and the practical
information in the event's form."""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Event, EventStatus, JournalAction, JournalEntry, ReminderStatus, UserRole
from webapp.services import events, reminders

from .support import START, csrf_token, logged_in_as, make_user, page_text, person, submit
from .test_organiser_events import change, error_summary

PAGE = "/organiser/events/{}/reminders"


@pytest.fixture
def event_id(app):
    """A published event on START (12 June 2030, 09:30 in Paris) with the default reminders, created
    on 1 June; Anne holds a seat; the week-before reminder was sent to her on 5 June."""
    with app.test_request_context():
        with time_machine.travel(START - timedelta(days=11), tick=False):
            event = events.create_event(slug="journee", title="Journée régionale", starts_at=START,
                                        ends_at=START + timedelta(hours=8), contact_email="contact@example.org",
                                        status=EventStatus.published)
            person(event, "Anne")
        with time_machine.travel(START - timedelta(days=7, minutes=30), tick=False):
            assert reminders.queue_due_reminders() == 1
        return event.id


@pytest.fixture
def client(app, event_id):
    """An organiser of the event, logged in."""
    with app.app_context():
        return logged_in_as(app.test_client(), make_user("anne@bretagne-solidaire.bzh", events=[event_id]))


def reminder_states(app, event_id):
    with app.app_context():
        return [(r.days_before, r.status) for r in db.session.get(Event, event_id).reminders]


def journal(app, event_id):
    with app.app_context():
        return [(entry.action, entry.details) for entry in db.session.scalars(
            select(JournalEntry).where(JournalEntry.event_id == event_id).order_by(JournalEntry.id))]


def test_the_page_lists_each_moment_on_the_event_clock_with_its_state(app, client, event_id):
    text = page_text(client.get(PAGE.format(event_id)))
    assert "Moment (Europe/Paris)" in text
    assert "7 jours avant</th>" in text and "05/06/2030 09:00" in text
    assert "envoyé le 05/06/2030 09:00 à 1 personne" in text
    assert "1 jour avant</th>" in text and "11/06/2030 09:00" in text and "prévu" in text
    assert "Les informations pratiques ne sont pas renseignées." in text
    assert "Rappels</a>" in page_text(client.get(f"/organiser/events/{event_id}"))  # in the event's menu

    english = page_text(client.get(PAGE.format(event_id) + "?lang=en"))
    assert "sent on 6/5/30, 9:00" in english and "1 day before" in english and "planned" in english


def test_an_organiser_adds_removes_and_switches_off_reminders_and_each_change_is_journalled(app, client, event_id):
    response = submit(client, PAGE.format(event_id), days_before="3")
    assert response.status_code == 302
    assert "Le rappel est ajouté." in page_text(client.get(response.headers["Location"]))
    assert reminder_states(app, event_id) == [(7, ReminderStatus.sent), (3, ReminderStatus.planned),
                                              (1, ReminderStatus.planned)]

    response = client.post(PAGE.format(event_id) + "/7/remove",
                           data={"csrf_token": _token(client, event_id)})
    assert response.status_code == 302
    assert [days for days, _status in reminder_states(app, event_id)] == [3, 1]

    client.post(PAGE.format(event_id) + "/switch?enabled=0", data={"csrf_token": _token(client, event_id)})
    text = page_text(client.get(PAGE.format(event_id)))
    assert "Les rappels sont désactivés : aucun ne partira tant qu'ils ne sont pas réactivés." in text
    assert "désactivé</td>" in text.replace("\n", "").replace("  ", "")
    with app.app_context():
        assert not db.session.get(Event, event_id).reminders_enabled
    client.post(PAGE.format(event_id) + "/switch?enabled=0", data={"csrf_token": _token(client, event_id)})
    client.post(PAGE.format(event_id) + "/switch?enabled=1", data={"csrf_token": _token(client, event_id)})

    assert journal(app, event_id) == [
        (JournalAction.reminder_added, {"days": 3}), (JournalAction.reminder_removed, {"days": 7}),
        (JournalAction.reminders_switched_off, {}), (JournalAction.reminders_switched_on, {}),
    ]
    text = page_text(client.get(f"/organiser/events/{event_id}"))
    assert "Rappel ajouté (jours avant l'événement : 3)." in text and "Rappels désactivés." in text


def _token(client, event_id):
    return csrf_token(client, PAGE.format(event_id))


@pytest.mark.parametrize(("days", "message"), [
    ("0", "Indiquez un nombre de jours de 1 à 365."),
    ("400", "Indiquez un nombre de jours de 1 à 365."),
    ("", "Indiquez un nombre de jours."),
    ("1", "Il existe déjà un rappel ce nombre de jours avant l'événement."),
])
def test_a_wrong_number_of_days_is_listed_and_changes_nothing(app, client, event_id, days, message):
    before = reminder_states(app, event_id)
    response = submit(client, PAGE.format(event_id), days_before=days)
    assert response.status_code == 422
    assert message in error_summary(response)
    assert reminder_states(app, event_id) == before and journal(app, event_id) == []


def test_a_cancelled_event_keeps_its_reminders_unsent_and_unchangeable(app, client, event_id):
    with app.app_context():
        events.cancel_event(db.session.get(Event, event_id))
    text = page_text(client.get(PAGE.format(event_id)))
    assert "L'événement est annulé : ses rappels ne partiront pas." in text
    assert "ne partira pas : l'événement est annulé" in text and "Ajouter un rappel" not in text
    response = client.post(PAGE.format(event_id), data={"days_before": "3", "csrf_token": _token(client, event_id)})
    assert response.status_code == 302
    assert reminder_states(app, event_id) == [(7, ReminderStatus.sent), (1, ReminderStatus.planned)]
    assert journal(app, event_id) == []


def test_the_practical_information_is_part_of_the_event_form(app, event_id):
    with app.app_context():
        admin = logged_in_as(app.test_client(), make_user("admin@example.org", UserRole.admin))
    path = f"/organiser/events/{event_id}/edit"
    assert change(admin, path, practical_info="Apportez **votre repas**.").status_code == 302
    with app.app_context():
        assert db.session.get(Event, event_id).practical_info == "Apportez **votre repas**."
    assert "Les informations pratiques sont renseignées." in page_text(admin.get(PAGE.format(event_id)))
    assert journal(app, event_id) == [(JournalAction.event_updated, {"fields": "practical_info"})]
