"""The approval mode: for an event that asks for it, a confirmed address waits for an organiser's
decision; accepting follows the usual rules and mails, declining ends the registration with a polite
mail. The services called directly (their outbox rows checked), then the pages of both sides.
(The concurrent decisions are in tests/test_concurrency.py.)"""
from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Event, JournalAction, JournalEntry, OutboxMail, Registration, User, UserRole
from webapp.models.base import utcnow
from webapp.services import event_files, events, registrations, tokens
from webapp.services.errors import RegistrationError
from webapp.services.events import EventRuleError

from . import support
from .support import assert_counters_match_rows, make_user, page_text, person, person_id


def mails(kind, registration=None):
    query = select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)
    if registration is not None:
        query = query.where(OutboxMail.registration_id == registration.id)
    return db.session.scalars(query).all()


def kinds_for(registration):
    return [row.kind for row in db.session.scalars(
        select(OutboxMail).where(OutboxMail.registration_id == registration.id).order_by(OutboxMail.id))]


def status(registration):
    db.session.refresh(registration)
    return registration.status.value


def approval_event(make_event, capacity=1, **fields):
    """An event of `capacity` seats that asks for approval, with one workshop of one seat."""
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    return db.session.get(Event, make_event(
        capacity=capacity, approval_required=True, starts_at=start, ends_at=start + timedelta(hours=8),
        workshops=[dict(key="agro", title="Agroécologie", starts_at=start + timedelta(hours=1),
                        ends_at=start + timedelta(hours=2), capacity=1)], **fields))


@pytest.fixture
def organiser(app_ctx):
    user = db.session.get(User, make_user("organisation@example.org", UserRole.admin))
    db.session.commit()  # ends the read: make_event writes from a session of its own
    return user


def journal_actions(event):
    return [entry.action for entry in db.session.scalars(
        select(JournalEntry).where(JournalEntry.event_id == event.id).order_by(JournalEntry.id))]


def refused(call):
    with pytest.raises(RegistrationError) as caught:
        call()
    return caught.value.code.value


# --- The services ---

def test_a_confirmed_address_awaits_the_organisers_decision_without_seat_or_waiting_list(app_ctx, make_event):
    event = approval_event(make_event)
    anne = person(event, "Anne", workshops=event.workshops)

    assert status(anne) == "awaiting_approval"
    assert anne.approval_requested_at is not None and anne.confirmed_at is None
    assert [b.status.value for b in anne.bookings] == ["requested"]
    db.session.refresh(event)
    assert (event.seats_taken, event.waiting_count, event.workshops[0].seats_taken) == (0, 0, 0)
    assert kinds_for(anne) == ["confirm_address", "approval_requested"]
    assert registrations.waiting_position(anne) is None
    assert_counters_match_rows(event.id)


def test_accepting_takes_a_seat_or_the_waiting_list_with_the_usual_mails(app_ctx, make_event, organiser):
    event = approval_event(make_event)
    anne = person(event, "Anne", workshops=event.workshops)
    bleunwenn = person(event, "Bleunwenn")

    registrations.accept_registration(anne, by=organiser)
    registrations.accept_registration(bleunwenn, by=organiser)

    assert (status(anne), status(bleunwenn)) == ("confirmed", "waiting")
    assert anne.decided_at is not None and anne.confirmed_at is not None
    assert [b.status.value for b in anne.bookings] == ["booked"]
    assert kinds_for(anne)[-1] == "registration_confirmed"
    assert mails("registration_confirmed", anne)[0].payload == {"sequence": 0}
    assert kinds_for(bleunwenn)[-1] == "waiting_list"
    assert registrations.waiting_position(bleunwenn) == 1
    assert journal_actions(event) == [JournalAction.registration_accepted] * 2
    assert_counters_match_rows(event.id)


def test_declining_ends_the_registration_with_a_polite_mail_and_a_new_request_is_possible(
        app_ctx, make_event, organiser):
    event = approval_event(make_event)
    anne = person(event, "Anne", workshops=event.workshops)

    registrations.decline_registration(anne, by=organiser)

    assert status(anne) == "declined" and not anne.is_active
    assert anne.decided_at is not None and anne.cancelled_at is None
    assert [b.status.value for b in anne.bookings] == ["cancelled"]
    [declined] = mails("registration_declined", anne)
    assert declined.dedup_key == f"registration-declined:{anne.id}" and declined.payload["with_invite"] is False
    assert journal_actions(event) == [JournalAction.registration_declined]
    assert_counters_match_rows(event.id)
    # Anne may ask again: a new registration, which awaits a decision in its turn.
    again = person(event, "Anne")
    assert again.id != anne.id and status(again) == "awaiting_approval"
    assert registrations.find_active_registration(event, "anne@example.org").id == again.id


def test_only_a_request_awaiting_a_decision_can_be_accepted_or_declined(app_ctx, make_event, organiser):
    event = approval_event(make_event, capacity=5)
    accepted, declined = person(event, "Anne"), person(event, "Bleunwenn")
    pending = person(event, "Corentin", confirm=False)
    registrations.accept_registration(accepted, by=organiser)
    registrations.decline_registration(declined, by=organiser)
    before = journal_actions(event)

    for registration in (accepted, declined, pending):
        assert refused(lambda r=registration: registrations.accept_registration(r, by=organiser)) == "not_awaiting"
        assert refused(lambda r=registration: registrations.decline_registration(r, by=organiser)) == "not_awaiting"

    assert (status(accepted), status(declined), status(pending)) == ("confirmed", "declined", "pending")
    assert journal_actions(event) == before
    assert len(mails("registration_confirmed")) == len(mails("registration_declined")) == 1


def test_accept_all_requests_the_oldest_first_leaving_those_decided(app_ctx, make_event, organiser):
    event = approval_event(make_event, capacity=2)
    people = [person(event, name) for name in ("Anne", "Bleunwenn", "Corentin", "Deniz")]
    registrations.decline_registration(people[1], by=organiser)
    late = person(event, "Erwan", confirm=False)

    accepted = registrations.accept_all_requests(event, by=organiser)

    assert [r.id for r in accepted] == [people[0].id, people[2].id, people[3].id]
    assert [status(p) for p in (*people, late)] == ["confirmed", "declined", "confirmed", "waiting", "pending"]
    assert journal_actions(event).count(JournalAction.registration_accepted) == 3
    assert registrations.accept_all_requests(event, by=organiser) == []
    assert_counters_match_rows(event.id)


def test_a_request_cannot_be_accepted_once_registrations_close_but_can_be_declined(app_ctx, make_event, organiser):
    event = approval_event(make_event)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    assert refused(lambda: registrations.accept_registration(anne, by=organiser)) == "closed"
    registrations.decline_registration(bleunwenn, by=organiser)

    assert (status(anne), status(bleunwenn)) == ("awaiting_approval", "declined")
    assert_counters_match_rows(event.id)


def test_cancelling_the_event_tells_the_people_awaiting_and_ends_the_decisions(app_ctx, make_event, organiser):
    event = approval_event(make_event)
    anne = person(event, "Anne")

    events.cancel_event(event)

    [notice] = mails("event_cancelled", anne)
    assert notice.payload["with_invite"] is False
    assert refused(lambda: registrations.accept_registration(anne, by=organiser)) == "event_cancelled"
    assert refused(lambda: registrations.decline_registration(anne, by=organiser)) == "event_cancelled"


def test_a_person_awaiting_a_decision_may_cancel_it_which_frees_nothing(app_ctx, make_event, organiser):
    event = approval_event(make_event)
    anne = person(event, "Anne")
    yann = registrations.add_by_organiser(event, by=organiser, confirmed=True, first_name="Yann", last_name="Riou",
                                          email="yann@example.org", organisation="", actor_type="ess", language="fr")

    registrations.cancel_registration(anne)

    assert (status(anne), status(yann)) == ("cancelled", "confirmed")
    [cancelled] = mails("registration_cancelled", anne)
    assert cancelled.payload["with_invite"] is False
    db.session.refresh(event)
    assert (event.seats_taken, event.waiting_count) == (1, 0)
    assert_counters_match_rows(event.id)


def test_people_added_by_hand_need_no_approval(app_ctx, make_event, organiser):
    event = approval_event(make_event, capacity=5)
    values = dict(organisation="", actor_type="ess", language="fr")

    confirmed = registrations.add_by_organiser(event, by=organiser, confirmed=True, first_name="Anne",
                                               last_name="Riou", email="anne@example.org", **values)
    pending = registrations.add_by_organiser(event, by=organiser, confirmed=False, first_name="Yann",
                                             last_name="Riou", email="yann@example.org", **values)
    registrations.confirm_address(tokens.confirm_token(pending))

    assert (status(confirmed), status(pending)) == ("confirmed", "confirmed")
    assert not mails("approval_requested")


def test_approval_cannot_be_turned_off_while_requests_await_a_decision(app_ctx, make_event, organiser):
    event = approval_event(make_event, capacity=5)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")

    with pytest.raises(EventRuleError) as caught:
        events.update_event(event, approval_required=False)
    assert support.plain_list(caught.value.errors) == [
        ("2 demandes d'inscription attendent la décision des personnes qui organisent : "
         "acceptez-les ou refusez-les avant de ne plus demander de validation.")]
    db.session.refresh(event)
    assert event.approval_required

    registrations.accept_registration(anne, by=organiser)
    registrations.decline_registration(bleunwenn, by=organiser)
    events.update_event(event, approval_required=False)
    assert not db.session.get(Event, event.id).approval_required
    assert status(person(event, "Corentin")) == "confirmed"


def test_event_files_and_copies_carry_the_setting(app_ctx):
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    data = {"slug": "journee-validation", "title": "Journée", "contact_email": "contact@example.org",
            "starts_at": start, "ends_at": start + timedelta(hours=8), "approval_required": True}

    event, created = event_files.import_event(data)
    copy = events.copy_event(event, slug="journee-2", title="Journée 2", starts_at=start + timedelta(days=365),
                             ends_at=start + timedelta(days=365, hours=8))

    assert created and event.approval_required and copy.approval_required
    with pytest.raises(event_files.EventFileError) as caught:
        event_files.import_event(dict(data, approval_required="oui"))
    assert support.plain_list(caught.value.errors) == ["« approval_required » doit valoir true ou false, pas « oui »."]
    event, _created = event_files.import_event({k: v for k, v in data.items() if k != "approval_required"})
    assert not event.approval_required  # left out: no approval


# --- The mails ---

@pytest.mark.parametrize("language, subject, says", [
    ("fr", "Demande d'inscription reçue : Journée régionale", "Votre demande attend leur décision"),
    ("en", "Registration request received: Journée régionale", "Your request awaits their decision"),
])
def test_the_request_received_mail_says_it_awaits_a_decision_with_the_manage_link(
        app, make_event, language, subject, says):
    event_id = make_event(title="Journée régionale", approval_required=True)
    person_id(app, event_id, "Anne", language=language)

    message = support.outbox_message(app, "approval_requested")

    text, html = support.text_and_html(message)
    assert support.plain(message["Subject"]) == subject
    assert says in support.plain(text) and says in support.plain(html)
    assert support.link_in(message, "manage").startswith("/manage/")
    assert not message.get_content_type() == "multipart/mixed"  # no invite


@pytest.mark.parametrize("language, subject, says", [
    ("fr", "Votre demande d'inscription : Journée régionale", "ne peuvent malheureusement pas donner suite"),
    ("en", "Your registration request: Journée régionale", "cannot accept your registration request"),
])
def test_the_declined_mail_is_polite_and_has_no_manage_link(app, make_event, language, subject, says):
    event_id = make_event(title="Journée régionale", approval_required=True)
    anne = person_id(app, event_id, "Anne", language=language)
    with app.test_request_context():
        registrations.decline_registration(db.session.get(Registration, anne),
                                           by=db.session.get(User, make_user("orga@example.org", UserRole.admin)))

    message = support.outbox_message(app, "registration_declined")

    text, html = support.text_and_html(message)
    assert support.plain(message["Subject"]) == subject
    assert says in support.plain(text) and says in support.plain(html)
    assert "/manage/" not in text and message.get_content_type() != "multipart/mixed"


# --- The pages ---

@pytest.fixture
def back_office(app, make_event):
    """An event that asks for approval (one seat), its organiser logged in, two requests."""
    event = make_event(title="Journée sur validation", capacity=1, approval_required=True)
    client = app.test_client()
    with app.app_context():
        support.logged_in_as(client, make_user("organisation@example.org", events=[event]))
    people = {name: person_id(app, event, name) for name in ("Anne", "Bleunwenn")}
    return client, event, people


def press(client, page, action):
    return client.post(action, data={"csrf_token": support.csrf_token(client, page)}, follow_redirects=True)


def test_the_list_counts_and_filters_the_requests_to_decide(app, back_office, make_event):
    client, event, _people = back_office

    text = page_text(client.get(f"/organiser/events/{event}/registrations"))
    filtered = page_text(client.get(f"/organiser/events/{event}/registrations?status=awaiting_approval"))

    assert "à valider : 2" in text and "refusées : 0" in text
    assert "2 inscriptions trouvées" in filtered and "Le Goff Anne" in filtered
    # An event without approval does not show these counts.
    other = make_event(title="Journée ouverte")
    admin_client = app.test_client()
    with app.app_context():
        support.logged_in_as(admin_client, make_user("admin@example.org", UserRole.admin))
    assert "à valider :" not in page_text(admin_client.get(f"/organiser/events/{other}/registrations"))


def test_accept_every_request_from_the_list(app, back_office):
    client, event, people = back_office
    page = f"/organiser/events/{event}/registrations"
    assert "Accepter les 2 demandes à valider" in page_text(client.get(page))

    text = page_text(press(client, page, f"{page}/accept-all"))

    assert "Demandes acceptées : 2 (places réservées : 1 ; liste d'attente : 1)." in text
    assert "Accepter les" not in text and "Aucune inscription ne correspond." in text
    with app.app_context():
        assert [db.session.get(Registration, people[name]).status.value for name in ("Anne", "Bleunwenn")] == [
            "confirmed", "waiting"]


def test_accept_and_decline_from_the_persons_page(app, back_office):
    client, event, people = back_office
    anne_page = f"/organiser/events/{event}/registrations/{people['Anne']}"
    bleunwenn_page = f"/organiser/events/{event}/registrations/{people['Bleunwenn']}"
    before = page_text(client.get(anne_page))
    assert "à valider" in before and "Accepter" in before and "Refuser" in before
    assert "Adresse confirmée ; demande à valider" in before

    accepted = page_text(press(client, anne_page, f"{anne_page}/accept"))
    declined = page_text(press(client, bleunwenn_page, f"{bleunwenn_page}/decline"))
    again = page_text(press(client, bleunwenn_page, f"{bleunwenn_page}/accept"))

    assert "La demande de Anne Le Goff est acceptée : place réservée." in accepted
    assert "Demande d'inscription acceptée : Anne Le Goff (anne@example.org)." in accepted
    assert "Accepter" not in accepted.replace("acceptée", "")
    assert "La demande de Bleunwenn Le Goff est refusée" in declined and "<dd>refusée</dd>" in declined
    assert "Cette demande n'attend pas (ou plus) de décision" in again
    with app.app_context():
        assert [r.kind for r in db.session.scalars(select(OutboxMail).where(
            OutboxMail.registration_id == people["Bleunwenn"]).order_by(OutboxMail.id))][-1] == "registration_declined"


def test_the_event_form_sets_approval_and_refuses_to_drop_it_while_requests_await(app, back_office):
    client, event, _people = back_office
    url = f"/organiser/events/{event}/edit"
    form = page_text(client.get(url))
    assert "Valider chaque inscription" in form

    from .test_organiser_events import form_values
    values = form_values(client, url)
    assert values["approval_required"] == "y"  # ticked
    del values["approval_required"]
    response = client.post(url, data=values)

    assert response.status_code == 422
    assert "2 demandes d'inscription attendent la décision" in page_text(response)
    with app.app_context():
        assert db.session.get(Event, event).approval_required


def test_the_participant_pages_explain_the_request_and_let_the_person_cancel_it(app, make_event):
    event = make_event(slug="journee", approval_required=True)
    assert "valident chaque inscription" in page_text(app.test_client().get("/events/journee/register"))
    anne = person_id(app, event, "Anne", confirm=False)
    client = app.test_client()

    confirmed = page_text(client.get(support.personal_link(app, "confirm", anne)))
    manage_path = support.personal_link(app, "manage", anne)
    manage = page_text(client.get(manage_path))

    for text in (confirmed, manage):
        assert "votre demande attend leur décision" in text
    assert "Annuler ma demande" in manage and "Quitter la liste d'attente" not in manage
    assert "Votre demande sera retirée avant d'être examinée" in page_text(client.get(manage_path + "/cancel"))
    response = client.post(manage_path + "/cancel", data={"csrf_token": support.csrf_token(client, manage_path)})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Registration, anne).status.value == "cancelled"


def test_a_declined_persons_manage_link_says_the_request_was_not_accepted(app, make_event):
    event = make_event(slug="journee", title="Journée", approval_required=True)
    anne = person_id(app, event, "Anne")
    with app.test_request_context():
        registrations.decline_registration(db.session.get(Registration, anne),
                                           by=db.session.get(User, make_user("orga@example.org", UserRole.admin)))

    response = app.test_client().get(support.personal_link(app, "manage", anne))

    assert response.status_code == 410
    assert "Les personnes qui organisent « Journée » n'ont pas pu donner suite" in page_text(response)
