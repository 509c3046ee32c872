"""The rules of seats, waiting lists, offers, changes and cancellations, in-process (no worker):
the services are called directly and the outbox rows they queue are checked."""
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from webapp.database import commit_keeping_loaded
from webapp.extensions import db
from webapp.models import Event, EventStatus, OfferStatus, OutboxMail, Registration, RegistrationStatus, SeatOffer
from webapp.models.base import utcnow
from webapp.services import events, registrations, seats, state, tokens
from webapp.services.registrations import RegistrationError

from . import support
from .support import StatementCounter, assert_counters_match_rows, person


def mails(kind, registration=None):
    query = select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)
    if registration is not None:
        query = query.where(OutboxMail.registration_id == registration.id)
    return db.session.scalars(query).all()


def open_offer(registration):
    return db.session.scalars(
        select(SeatOffer).where(SeatOffer.registration_id == registration.id, SeatOffer.status == OfferStatus.open)
    ).one()


def status(registration):
    db.session.refresh(registration)
    return registration.status.value


def full_event(make_event, capacity=1, **fields):
    """An event of `capacity` seats. (make_event works in its own session: create events first.)"""
    return db.session.get(Event, make_event(capacity=capacity, **fields))


# --- Taking seats and waiting. ---

def test_confirmed_addresses_take_seats_then_wait_in_order(app_ctx, make_event):
    event = full_event(make_event, capacity=2)
    people = [person(event, name) for name in ("Anne", "Bleunwenn", "Corentin", "Deniz")]
    assert [status(p) for p in people] == ["confirmed", "confirmed", "waiting", "waiting"]
    assert [registrations.waiting_position(p) for p in people] == [None, None, 1, 2]
    assert len(mails("registration_confirmed")) == 2
    assert [m.recipient for m in mails("waiting_list")] == ["corentin@example.org", "deniz@example.org"]
    assert_counters_match_rows(event.id)


def test_a_freed_seat_goes_to_the_first_person_waiting_not_to_a_newcomer(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    registrations.cancel_registration(anne)
    newcomer = person(event, "Corentin")  # the seat is free, but Bleunwenn waits: Corentin waits behind her
    assert status(newcomer) == "waiting"
    seats.offer_free_seats(event.id)
    offer = open_offer(bleunwenn)
    assert status(bleunwenn) == "offered" and status(newcomer) == "waiting"
    assert offer.expires_at == pytest.approx(utcnow() + timedelta(hours=48), abs=timedelta(minutes=1))
    assert [(m.recipient, m.dedup_key, m.payload) for m in mails("seat_offer")] == [
        ("bleunwenn@example.org", f"seat-offer:{offer.id}", {"offer_id": offer.id})]
    assert_counters_match_rows(event.id)
    seats.offer_free_seats(event.id)  # running the task again offers nothing more
    assert len(mails("seat_offer")) == 1


def test_accepting_an_offer_confirms_and_books_the_chosen_workshops(app_ctx, make_event):
    start = utcnow() + timedelta(days=30)
    event = full_event(make_event, starts_at=start, ends_at=start + timedelta(hours=8), workshops=[
        dict(key="agro", title="Agroécologie", starts_at=start + timedelta(hours=5),
             ends_at=start + timedelta(hours=6), capacity=5),
    ])
    workshop = event.workshops[0]
    anne = person(event, "Anne")
    bleunwenn = person(event, "Bleunwenn", workshops=[workshop])
    assert [b.status.value for b in bleunwenn.bookings] == ["requested"]  # no workshop seat while waiting
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    seats.accept_offer(open_offer(bleunwenn))
    assert status(bleunwenn) == "confirmed"
    assert [b.status.value for b in bleunwenn.bookings] == ["booked"]
    (confirmation,) = mails("registration_confirmed", bleunwenn)
    assert confirmation.payload == {"sequence": 0}
    assert_counters_match_rows(event.id)


def test_an_offer_is_answered_once(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    offer = open_offer(bleunwenn)
    token = tokens.offer_token(offer)
    seats.accept_offer(seats.offer_from_token(token))
    with pytest.raises(RegistrationError) as refused:
        seats.offer_from_token(token)
    assert refused.value.code == "accepted"
    with pytest.raises(RegistrationError) as refused:
        seats.decline_offer(offer)
    assert refused.value.code == "accepted"
    assert status(bleunwenn) == "confirmed"
    assert_counters_match_rows(event.id)


def test_forged_or_revoked_offer_links_are_refused(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    offer = open_offer(bleunwenn)
    token = tokens.offer_token(offer)
    for bad in (support.forge(token), tokens.make_token("offer", offer.id + 1, 1), tokens.manage_token(bleunwenn)):
        with pytest.raises(tokens.InvalidLink):
            seats.offer_from_token(bad)
    bleunwenn.token_version += 1
    db.session.commit()
    with pytest.raises(tokens.InvalidLink):
        seats.offer_from_token(token)
    assert open_offer(bleunwenn).id == offer.id  # nothing changed


def test_declining_passes_the_seat_to_the_next_person_at_once(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn, corentin = (person(event, n) for n in ("Anne", "Bleunwenn", "Corentin"))
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    seats.decline_offer(open_offer(bleunwenn))
    assert status(bleunwenn) == "cancelled"
    assert status(corentin) == "offered"  # without waiting for the worker
    (cancelled,) = mails("registration_cancelled", bleunwenn)
    assert cancelled.payload["with_invite"] is False
    assert_counters_match_rows(event.id)
    seats.decline_offer(open_offer(corentin))  # nobody waits any more: the seat is free again
    db.session.refresh(event)
    assert (event.seats_taken, event.waiting_count) == (0, 0)
    assert status(person(event, "Deniz")) == "confirmed"
    assert_counters_match_rows(event.id)


def test_an_unanswered_offer_expires_and_the_next_person_is_offered(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn, corentin = (person(event, n) for n in ("Anne", "Bleunwenn", "Corentin"))
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    offer = open_offer(bleunwenn)
    token = tokens.offer_token(offer)
    with time_machine.travel(utcnow() + timedelta(hours=47), tick=False):
        assert seats.expire_seat_offers() == 0
    with time_machine.travel(utcnow() + timedelta(hours=48, minutes=1), tick=False):
        with pytest.raises(RegistrationError) as refused:  # before the beat task ran
            seats.accept_offer(offer)
        assert refused.value.code == "expired"
        assert seats.expire_seat_offers() == 1
    assert status(bleunwenn) == "cancelled" and status(corentin) == "offered"
    (expired,) = mails("offer_expired", bleunwenn)
    assert (expired.dedup_key, expired.payload) == (f"offer-expired:{offer.id}", {"offer_id": offer.id})
    with pytest.raises(RegistrationError) as refused:
        seats.offer_from_token(token)
    assert refused.value.code == "expired"
    assert_counters_match_rows(event.id)


def test_an_offer_never_outlives_the_event_start(app_ctx, make_event):
    start = utcnow().replace(microsecond=0) + timedelta(hours=10)
    event = full_event(make_event, starts_at=start, ends_at=start + timedelta(hours=2),
                       registration_closes_at=start)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    assert open_offer(bleunwenn).expires_at == start


@pytest.mark.parametrize("change", ["registration_closed", "event_started", "event_draft"])
def test_no_offer_once_registrations_are_closed(app_ctx, make_event, change):
    start = utcnow().replace(microsecond=0) + timedelta(days=2)
    closes_at = start - timedelta(days=1) if change == "registration_closed" else None
    event = full_event(make_event, starts_at=start, ends_at=start + timedelta(hours=2),
                       registration_closes_at=closes_at)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    registrations.cancel_registration(anne)
    later = {"registration_closed": start - timedelta(hours=12), "event_started": start + timedelta(minutes=5),
             "event_draft": utcnow()}[change]
    if change == "event_draft":
        event.status = EventStatus.draft
        db.session.commit()
    with time_machine.travel(later, tick=False):
        seats.offer_free_seats(event.id)
    assert status(bleunwenn) == "waiting"
    assert mails("seat_offer") == []
    assert_counters_match_rows(event.id)


def test_raised_capacity_offers_the_new_seats_in_order(app_ctx, make_event):
    event = full_event(make_event, capacity=1)
    people = [person(event, n) for n in ("Anne", "Bleunwenn", "Corentin", "Deniz")]
    event.capacity = 3
    db.session.commit()
    seats.offer_free_seats(event.id)
    assert [status(p) for p in people] == ["confirmed", "offered", "offered", "waiting"]
    assert [m.recipient for m in mails("seat_offer")] == ["bleunwenn@example.org", "corentin@example.org"]
    assert_counters_match_rows(event.id)


# --- Cancelling, leaving the waiting list. ---

def test_cancelling_frees_the_seat_and_sends_the_cancel_invite_once(app_ctx, make_event):
    event = full_event(make_event)
    anne = person(event, "Anne")
    registrations.cancel_registration(anne)
    assert status(anne) == "cancelled"
    (mail,) = mails("registration_cancelled", anne)
    assert mail.payload == {"sequence": 1, "with_invite": True}
    with pytest.raises(RegistrationError) as refused:
        registrations.cancel_registration(anne)
    assert refused.value.code == "already_cancelled"
    assert len(mails("registration_cancelled")) == 1
    assert_counters_match_rows(event.id)


def test_a_person_waiting_can_leave_the_list_but_not_a_confirmed_one(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn, corentin = (person(event, n) for n in ("Anne", "Bleunwenn", "Corentin"))
    with pytest.raises(RegistrationError) as refused:
        registrations.leave_waiting_list(anne)
    assert refused.value.code == "not_waiting"
    registrations.leave_waiting_list(bleunwenn)
    assert status(bleunwenn) == "cancelled"
    assert registrations.waiting_position(corentin) == 1
    assert mails("registration_cancelled", bleunwenn)[0].payload["with_invite"] is False
    assert_counters_match_rows(event.id)


def test_cancelling_while_offered_withdraws_the_offer(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn, corentin = (person(event, n) for n in ("Anne", "Bleunwenn", "Corentin"))
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    offer = open_offer(bleunwenn)
    registrations.cancel_registration(bleunwenn)
    db.session.refresh(offer)
    assert offer.status == OfferStatus.withdrawn
    seats.offer_free_seats(event.id)
    assert status(corentin) == "offered"
    with pytest.raises(RegistrationError) as refused:
        seats.accept_offer(offer)
    assert refused.value.code == "withdrawn"
    assert_counters_match_rows(event.id)


# --- Workshops. ---

@pytest.fixture
def workshop_event(app_ctx, make_event):
    """An event (no seat limit) with two workshops at the same time, one of 1 seat, and a later one."""
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event_id = make_event(capacity=None, starts_at=start, ends_at=start + timedelta(hours=8), workshops=[
        dict(key="agro", title="Agroécologie", starts_at=start + timedelta(hours=5),
             ends_at=start + timedelta(hours=6, minutes=30), capacity=1, room="Salle Gwenn"),
        dict(key="coop", title="Coopération décentralisée", starts_at=start + timedelta(hours=5),
             ends_at=start + timedelta(hours=6), capacity=10),
        dict(key="ess", title="Écosystèmes ESS", starts_at=start + timedelta(hours=7),
             ends_at=start + timedelta(hours=8), capacity=10),
    ])
    return db.session.get(Event, event_id)


def workshop(event, key):
    return next(w for w in event.workshops if w.key == key)


def booking_statuses(registration):
    db.session.expire(registration)
    return {b.workshop.key: b.status.value for b in registration.active_bookings()}


def test_a_full_workshop_has_its_own_waiting_list(workshop_event):
    agro = workshop(workshop_event, "agro")
    anne = person(workshop_event, "Anne", workshops=[agro])
    bleunwenn = person(workshop_event, "Bleunwenn", workshops=[agro])
    assert status(bleunwenn) == "confirmed"  # the event has room: only the workshop is full
    assert booking_statuses(anne) == {"agro": "booked"} and booking_statuses(bleunwenn) == {"agro": "waiting"}
    assert_counters_match_rows(workshop_event.id)

    registrations.cancel_registration(anne)
    seats.offer_free_seats(workshop_event.id)
    offer = open_offer(bleunwenn)
    assert offer.workshop_id == agro.id and booking_statuses(bleunwenn) == {"agro": "offered"}
    assert_counters_match_rows(workshop_event.id)
    seats.accept_offer(offer)
    assert booking_statuses(bleunwenn) == {"agro": "booked"}
    (update,) = mails("invite_updated", bleunwenn)
    assert update.payload == {"sequence": 1}
    assert_counters_match_rows(workshop_event.id)


def test_an_expired_workshop_offer_leaves_the_registration_confirmed(workshop_event):
    agro = workshop(workshop_event, "agro")
    anne, bleunwenn, corentin = (person(workshop_event, n, workshops=[agro]) for n in ("Anne", "Bleunwenn", "Corentin"))
    registrations.update_registration(anne, first_name="Anne", last_name="Le Goff", organisation="",
                                      actor_type="asi", language="fr", workshops=[])
    seats.offer_free_seats(workshop_event.id)
    with time_machine.travel(utcnow() + timedelta(hours=49), tick=False):
        assert seats.expire_seat_offers() == 1
    assert status(bleunwenn) == "confirmed" and booking_statuses(bleunwenn) == {}
    assert booking_statuses(corentin) == {"agro": "offered"}
    assert len(mails("offer_expired", bleunwenn)) == 1
    assert_counters_match_rows(workshop_event.id)


def test_overlapping_workshops_are_refused_by_the_service(workshop_event):
    agro, coop, ess = (workshop(workshop_event, k) for k in ("agro", "coop", "ess"))
    with pytest.raises(RegistrationError) as refused:
        person(workshop_event, "Anne", workshops=[agro, coop])
    assert refused.value.code == "workshops_overlap"
    bleunwenn = person(workshop_event, "Bleunwenn", workshops=[agro, ess])
    with pytest.raises(RegistrationError) as refused:
        registrations.update_registration(bleunwenn, first_name="Bleunwenn", last_name="Le Goff", organisation="",
                                          actor_type="asi", language="fr", workshops=[agro, coop, ess])
    assert refused.value.code == "workshops_overlap"
    assert booking_statuses(bleunwenn) == {"agro": "booked", "ess": "booked"}
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 1
    assert_counters_match_rows(workshop_event.id)


def test_changing_workshops_updates_the_invite_and_frees_seats(workshop_event):
    agro, coop, ess = (workshop(workshop_event, k) for k in ("agro", "coop", "ess"))
    anne = person(workshop_event, "Anne", workshops=[agro])
    bleunwenn = person(workshop_event, "Bleunwenn", workshops=[agro])
    registrations.update_registration(anne, first_name="Anne", last_name="Le Goff", organisation="",
                                      actor_type="asi", language="fr", workshops=[coop, ess])
    assert booking_statuses(anne) == {"coop": "booked", "ess": "booked"}
    assert [m.payload["sequence"] for m in mails("invite_updated", anne)] == [1]
    seats.offer_free_seats(workshop_event.id)  # the agro seat Anne dropped
    assert booking_statuses(bleunwenn) == {"agro": "offered"}
    assert_counters_match_rows(workshop_event.id)


def test_only_changes_shown_in_the_invite_send_an_update(workshop_event):
    agro = workshop(workshop_event, "agro")
    anne = person(workshop_event, "Anne")
    bleunwenn = person(workshop_event, "Bleunwenn", workshops=[agro])

    def change(registration, **values):
        fields = dict(first_name=registration.first_name, last_name=registration.last_name,
                      organisation=registration.organisation, actor_type=registration.actor_type,
                      language=registration.language, workshops=[b.workshop for b in registration.active_bookings()])
        fields.update(values)
        registrations.update_registration(registration, **fields)

    change(anne, organisation="Xylm", actor_type="ess", language="en")
    assert mails("invite_updated") == []
    change(anne, workshops=[agro])  # the workshop is full: Anne waits, her invite does not change
    assert booking_statuses(anne) == {"agro": "waiting"} and mails("invite_updated") == []
    change(anne, first_name="Annaig")
    change(bleunwenn, workshops=[])
    assert [(m.recipient, m.payload["sequence"]) for m in mails("invite_updated")] == [
        ("anne@example.org", 1), ("bleunwenn@example.org", 1)]
    assert anne.first_name == "Annaig" and anne.organisation == "Xylm" and anne.language == "en"
    assert_counters_match_rows(workshop_event.id)


def test_people_without_a_seat_keep_their_workshop_choice_as_a_request(app_ctx, make_event):
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = full_event(make_event, starts_at=start, ends_at=start + timedelta(hours=8), workshops=[
        dict(key="agro", title="Agroécologie", starts_at=start + timedelta(hours=5),
             ends_at=start + timedelta(hours=6), capacity=1)])
    person(event, "Anne")
    bleunwenn = person(event, "Bleunwenn")
    registrations.update_registration(bleunwenn, first_name="Bleunwenn", last_name="Le Goff", organisation="",
                                      actor_type="asi", language="fr", workshops=event.workshops)
    assert booking_statuses(bleunwenn) == {"agro": "requested"}
    assert mails("invite_updated") == []
    assert_counters_match_rows(event.id)


def test_a_cancelled_registration_cannot_be_changed(workshop_event):
    anne = person(workshop_event, "Anne")
    registrations.cancel_registration(anne)
    with pytest.raises(RegistrationError) as refused:
        registrations.update_registration(anne, first_name="X", last_name="Y", organisation="", actor_type="asi",
                                          language="fr", workshops=[])
    assert refused.value.code == "cancelled"
    assert status(anne) == "cancelled" and anne.first_name == "Anne"


# --- Event changes. ---

def test_an_event_change_sends_one_updated_invite_per_confirmed_person(app_ctx, make_event):
    event = full_event(make_event)
    person(event, "Anne")
    bleunwenn = person(event, "Bleunwenn")  # waiting: no invite to update
    person(event, "Corentin", confirm=False)
    event.starts_at += timedelta(hours=1)
    event.ends_at += timedelta(hours=1)
    events.notify_event_changed(event)
    db.session.commit()
    events.notify_event_changed(event)
    db.session.commit()
    assert [(m.recipient, m.payload) for m in mails("invite_updated")] == [
        ("anne@example.org", {"sequence": 1}),
        ("anne@example.org", {"sequence": 2}),
    ]
    assert mails("invite_updated", bleunwenn) == []


def test_cancelling_the_event_tells_everyone_and_withdraws_offers(app_ctx, make_event):
    event = full_event(make_event)
    anne, bleunwenn, corentin, deniz = (person(event, n) for n in ("Anne", "Bleunwenn", "Corentin", "Deniz"))
    erwan = person(event, "Erwan", confirm=False)
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    offer = open_offer(bleunwenn)
    events.cancel_event(event)
    db.session.commit()
    db.session.refresh(offer)
    assert offer.status == OfferStatus.withdrawn and status(bleunwenn) == "waiting"
    assert {m.recipient: m.payload["with_invite"] for m in mails("event_cancelled")} == {
        "bleunwenn@example.org": False, "corentin@example.org": False, "deniz@example.org": False,
        "erwan@example.org": False}
    with pytest.raises(RegistrationError) as refused:
        seats.accept_offer(offer)
    assert refused.value.code == "event_cancelled"
    with pytest.raises(RegistrationError) as refused:
        registrations.confirm_address(tokens.confirm_token(erwan))
    assert refused.value.code == "closed"
    seats.offer_free_seats(event.id)
    assert mails("seat_offer", corentin) == []
    assert_counters_match_rows(event.id)


def test_cancelling_the_event_sends_the_cancel_invite_to_seat_holders(app_ctx, make_event):
    event = full_event(make_event, capacity=5)
    anne = person(event, "Anne")
    events.cancel_event(event)
    db.session.commit()
    (mail,) = mails("event_cancelled", anne)
    assert mail.payload == {"sequence": 1, "with_invite": True}
    assert db.session.get(Event, event.id).status.value == "cancelled"


# --- Lost links. ---

def test_lost_links_lists_the_active_registrations_of_the_address(app_ctx, make_event):
    event_ids = [make_event() for _ in range(3)]
    first, second, third = (db.session.get(Event, event_id) for event_id in event_ids)
    anne = person(first, "Anne")
    anne_again = person(second, "Anne", confirm=False)
    cancelled = person(third, "Anne")
    registrations.cancel_registration(cancelled)
    assert registrations.send_lost_links("nobody@example.org") is None
    row = db.session.get(OutboxMail, registrations.send_lost_links(" Anne@Example.org "))
    assert (row.kind, row.recipient) == ("lost_links", "anne@example.org")
    assert sorted(row.payload["registration_ids"]) == sorted([anne.id, anne_again.id])
    registrations.send_lost_links("anne@example.org")  # asked twice in a few minutes: one mail
    assert len(mails("lost_links")) == 1


def test_confirming_takes_a_bounded_number_of_sql_statements(app_ctx, make_event):
    """The registration read from the link with its event, the « your seat » mail written, then,
    under the event's lock, which every confirmation of the event waits for: the seat taken by the
    statement that locks and reads the event, the status changed by the statement that reads the
    registration back (with whether it has workshop bookings: none here); nothing read twice.
    Counted on the engine, not timed (SQLite adds its BEGIN IMMEDIATE)."""
    event = full_event(make_event, capacity=10)
    token = tokens.confirm_token(person(event, confirm=False))
    db.session.expire_all()

    with StatementCounter(db.engine) as statements:
        registration = registrations.confirm_address(token)

    assert status(registration) == "confirmed"
    assert [re.match(r"(SELECT|INSERT INTO|UPDATE) (\w+)", sql).group(0) for sql in statements.queries] == [
        "SELECT registrations", "INSERT INTO outbox", "UPDATE events", "UPDATE registrations"]


def test_a_confirmation_that_finds_no_seat_after_all_drops_the_mail_it_wrote_first(app_ctx, make_event):
    """The event read before the lock showed a free seat, so the « your seat » mail was written
    first; the seat went meanwhile: that mail goes with the rolled-back transaction, and the person
    waits, told so by the waiting-list mail only."""
    event = full_event(make_event, capacity=1)
    event_id, anne_id = event.id, person(event, "Anne", confirm=False).id
    token = tokens.confirm_token(person(event, "Bleuenn", confirm=False))
    db.session.expunge_all()  # a request of its own: as the page does, Bleuenn's registration and its event read…
    bleuenn = registrations.link_owner("confirm", token)
    commit_keeping_loaded()  # …and kept as read: a seat is free
    with db.engine.begin() as other:  # meanwhile, Anne's confirmation takes the last seat
        other.execute(update(Event).where(Event.id == event_id).values(seats_taken=1))
        other.execute(update(Registration).where(Registration.id == anne_id)
                      .values(status=RegistrationStatus.confirmed))

    registrations.confirm_address(token)

    assert status(bleuenn) == "waiting"
    assert mails("registration_confirmed") == []
    assert len(mails("waiting_list", bleuenn)) == 1
    assert_counters_match_rows(event_id)


def test_a_counter_update_follows_the_changes_made_before_it(workshop_event):
    """The conditional UPDATE is written on the table, outside the ORM: the changes the session
    holds are flushed first, as an ORM statement would, so the guard sees the raised capacity."""
    agro = workshop(workshop_event, "agro")
    person(workshop_event, "Anne", workshops=[agro])
    db.session.refresh(agro)
    assert (agro.capacity, agro.seats_taken) == (1, 1)
    agro.capacity = 2  # not flushed yet
    assert seats.take_seat(agro)
    assert agro.seats_taken == 2
    db.session.rollback()


def test_a_transition_writes_the_expressions_it_is_given(app_ctx, make_event):
    """Transitions are built once per model, statuses, names and expressions: two expressions
    under the same name each give their own statement."""
    anne = person(full_event(make_event), "Anne")
    confirmed = anne.status
    revision = anne.revision
    assert state.transition(anne, [confirmed], confirmed, revision=seats.NEXT_REVISION)
    assert anne.revision == revision + 1
    assert state.transition(anne, [confirmed], confirmed, revision=Registration.__table__.c.revision + 2)
    assert anne.revision == revision + 3
    assert not state.transition(anne, [RegistrationStatus.waiting], confirmed, revision=seats.NEXT_REVISION)
    db.session.commit()
    db.session.expire_all()
    assert anne.revision == revision + 3
