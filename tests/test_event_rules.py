"""The rules of events called directly, as a back-office form would (no event file): what each
one refuses, and its effects on the people registered (outbox rows, offers of freed seats)."""
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from webapp import create_app
from webapp.extensions import db
from webapp.formatting import event_when
from webapp.mail.rendering import render_mail, rendering_context
from webapp.models import Event, EventStatus, OfferStatus, OutboxMail, Registration, SeatOffer, Workshop
from webapp.models.base import utcnow
from webapp.services import events, registrations, seats, tokens
from webapp.services.events import EventRuleError

from .support import assert_counters_match_rows, plain_list, raises_saying

PARIS = ZoneInfo("Europe/Paris")
START = utcnow().replace(second=0, microsecond=0) + timedelta(days=30)


def new_event(capacity=None, workshops=(), **values):
    """A published event, 09:00-17:00 (UTC) in 30 days, made through the rules."""
    return events.create_event(**dict(dict(
        slug="rencontre-regionale", title="Rencontre régionale", status=EventStatus.published,
        starts_at=START, ends_at=START + timedelta(hours=8), venue_name="Espace Anne de Bretagne",
        venue_address="15 rue Martenot, 35000 Rennes", contact_email="contact@bretagne-solidaire.bzh",
        capacity=capacity, workshops=list(workshops)), **values))


def workshop(key, hours=(5, 6), capacity=None):
    return dict(key=key, title=f"Atelier {key}", starts_at=START + timedelta(hours=hours[0]),
                ends_at=START + timedelta(hours=hours[1]), capacity=capacity)


def person(event, name, *, workshops=(), confirm=True):
    registration = registrations.register(
        event, first_name=name, last_name="Kervella", email=f"{name.lower()}@example.org",
        organisation="", actor_type="asi", language="fr", workshops=workshops,
    )
    if confirm:
        registrations.confirm_address(tokens.confirm_token(registration))
    return registration


def mails(kind):
    return db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)).all()


def outbox_size():
    return db.session.scalar(select(func.count()).select_from(OutboxMail))


def status(registration):
    db.session.refresh(registration)
    return registration.status.value


# --- Creating. ---

def test_a_new_event_is_checked_as_a_whole_and_nothing_is_written_when_refused(app_ctx):
    with pytest.raises(EventRuleError) as refused:
        events.create_event(
            slug="Journée 2027", title="Journée", starts_at=START, ends_at=START + timedelta(hours=8),
            registration_opens_at=START, registration_closes_at=START - timedelta(days=1),
            contact_email="contact@bretagne-solidaire.bzh",
            workshops=[workshop("tard", hours=(8, 9)), workshop("tard", hours=(2, 1))],
        )
    assert plain_list(refused.value.errors) == [
        ("« slug » ne peut contenir que des minuscules sans accent, des chiffres et des tirets "
         "(par exemple journee-ess-2027), pas « Journée 2027 »."),
        "« registration_closes_at » de l'événement doit être après « registration_opens_at ».",
        "L'atelier « tard » doit avoir lieu pendant l'événement.",
        "« ends_at » de l'atelier « tard » doit être après « starts_at ».",
        "Deux ateliers ont la même clé « tard ».",
    ]
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_slug_is_given_to_one_event_only(app_ctx):
    new_event()
    with pytest.raises(EventRuleError) as refused:
        new_event()
    assert plain_list(refused.value.errors) == ["« slug » : un autre événement utilise déjà « rencontre-regionale »."]


def test_a_workshop_takes_place_during_its_event(app_ctx):
    with raises_saying(EventRuleError, "L'atelier « tard » doit avoir lieu pendant l'événement."):
        new_event(workshops=[workshop("tard", hours=(7, 9))])


# --- Publishing. ---

def test_publishing_a_draft_opens_registrations(app_ctx):
    event = new_event(status=EventStatus.draft)
    assert event.registration_state() == "draft"
    with pytest.raises(registrations.RegistrationError):
        person(event, "Anne")

    events.publish_event(event)

    assert event.status == EventStatus.published and event.registration_state() == "open"
    assert status(person(event, "Anne")) == "confirmed"


def test_an_event_goes_back_to_draft_only_while_nobody_is_registered(app_ctx):
    event = new_event()
    events.unpublish_event(event)
    assert event.status == EventStatus.draft and event.registration_state() == "draft"
    events.publish_event(event)
    person(event, "Anne", confirm=False)

    with pytest.raises(EventRuleError) as refused:
        events.unpublish_event(event)
    assert plain_list(refused.value.errors) == [
        ("L'événement « rencontre-regionale » a des inscriptions (1) : il ne peut pas redevenir un brouillon. "
         "Annulez-le pour prévenir les personnes inscrites.")]
    with pytest.raises(EventRuleError):  # the same rule for an event file saying status = "draft"
        events.update_event(event, status=EventStatus.draft, title="Autre titre")
    event = db.session.get(Event, event.id)
    assert (event.status, event.title) == (EventStatus.published, "Rencontre régionale")


def test_a_copy_is_a_draft_whose_workshops_and_window_move_with_its_start(app_ctx):
    source = new_event(capacity=10, workshops=[workshop("agro", capacity=5)],
                       registration_closes_at=START - timedelta(days=1))
    person(source, "Anne", workshops=source.workshops)

    copy = events.copy_event(source, slug="rencontre-2", title="Rencontre, deuxième édition",
                             starts_at=START + timedelta(days=365), ends_at=START + timedelta(days=365, hours=8))

    assert (copy.status, copy.capacity, copy.seats_taken, copy.venue_name) == (
        EventStatus.draft, 10, 0, "Espace Anne de Bretagne")
    assert copy.registration_closes_at == START + timedelta(days=364)
    [agro] = copy.workshops
    assert (agro.key, agro.starts_at, agro.capacity, agro.seats_taken) == (
        "agro", START + timedelta(days=365, hours=5), 5, 0)
    with raises_saying(EventRuleError, "un autre événement utilise déjà « rencontre-2 »"):
        events.copy_event(source, slug="rencontre-2", title="Encore", starts_at=START,
                          ends_at=START + timedelta(hours=8))


# --- Moving. ---

def test_moving_the_event_sends_updated_invites_to_the_people_holding_a_seat(app_ctx):
    event = new_event(capacity=1)
    anne = person(event, "Anne")
    waiting = person(event, "Bleunwenn")
    pending = person(event, "Corentin", confirm=False)
    assert (status(waiting), status(pending)) == ("waiting", "pending")

    events.move_event(event, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=8))

    assert db.session.get(Event, event.id).revision == 1
    [moved] = mails("invite_updated")
    assert (moved.registration_id, moved.payload["sequence"]) == (anne.id, 1)
    # The mail says what changed: the old time, next to the new one.
    with rendering_context("fr"):
        text, before = render_mail(moved).text, event_when(event, START, START + timedelta(hours=8))
    assert "Ce qui a changé" in text and before in text
    before = outbox_size()

    # The same times again: nothing changes, nobody is mailed.
    events.move_event(event, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=8))

    assert db.session.get(Event, event.id).revision == 1
    assert outbox_size() == before


def test_an_event_cannot_move_away_from_its_workshops(app_ctx):
    event = new_event(workshops=[workshop("agro")])
    with pytest.raises(EventRuleError) as refused:
        events.move_event(event, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=8))
    assert plain_list(refused.value.errors) == ["L'atelier « agro » doit avoir lieu pendant l'événement."]
    assert db.session.get(Event, event.id).starts_at == START
    assert mails("invite_updated") == []


def test_its_workshops_move_with_it_and_keep_their_hour_across_summer_time(app_ctx):
    # Saturday 23 March 2030, 09:30 in Paris (winter time), put off by two weeks (summer time).
    start, later = datetime(2030, 3, 23, 9, 30, tzinfo=PARIS), datetime(2030, 4, 6, 9, 30, tzinfo=PARIS)
    agro = dict(key="agro", title="Agroécologie", starts_at=start + timedelta(hours=2),
                ends_at=start + timedelta(hours=3))
    event = new_event(starts_at=start, ends_at=start + timedelta(hours=8), timezone="Europe/Paris", workshops=[agro])

    events.update_event(event, starts_at=later, ends_at=later + timedelta(hours=8),
                        workshops=events.workshops_moved_with(event, later))

    [agro] = db.session.get(Event, event.id).workshops
    assert (agro.starts_at, agro.ends_at) == (datetime(2030, 4, 6, 11, 30, tzinfo=PARIS),
                                              datetime(2030, 4, 6, 12, 30, tzinfo=PARIS))


# --- Capacity. ---

def test_a_capacity_below_the_seats_taken_is_refused(app_ctx):
    event = new_event(capacity=3, workshops=[workshop("agro", capacity=2)])
    for name in ("Anne", "Bleunwenn"):
        person(event, name, workshops=event.workshops)
    agro = event.workshops[0]

    with pytest.raises(EventRuleError) as refused:
        events.change_capacity(event, 1)
    assert plain_list(refused.value.errors) == [
        "La capacité de l'événement (1) est inférieure au nombre de places déjà prises (2)."]
    with pytest.raises(EventRuleError) as refused:
        events.change_capacity(agro, 0)
    assert plain_list(refused.value.errors) == [
        "La capacité de l'atelier « agro » (0) est inférieure au nombre de places déjà prises (2)."]

    assert (db.session.get(Event, event.id).capacity, db.session.get(Workshop, agro.id).capacity) == (3, 2)
    events.change_capacity(event, 2)  # exactly the seats taken: accepted
    assert db.session.get(Event, event.id).capacity == 2


def test_a_raised_workshop_capacity_is_offered_to_the_person_waiting(app, worker, smtp_server):
    with app.test_request_context():
        event = new_event(workshops=[workshop("agro", capacity=1)])
        person(event, "Anne", workshops=event.workshops)
        bleunwenn = person(event, "Bleunwenn", workshops=event.workshops)
        assert [b.status.value for b in bleunwenn.bookings] == ["waiting"]

        events.change_capacity(event.workshops[0], 2)
        event_id = event.id

    # The rule only enqueued the offer: the real worker makes it and mails it.
    [offer_mail] = smtp_server.wait_for("bleunwenn@example.org", kind="seat_offer")
    assert "Atelier agro" in offer_mail.get_body(("plain",)).get_content()
    with app.app_context():
        assert_counters_match_rows(event_id)


# --- Workshops. ---

def test_every_problem_of_an_update_is_listed_and_nothing_changes(app_ctx):
    event = new_event(capacity=5, workshops=[workshop("agro"), workshop("vide", hours=(6, 7))])
    person(event, "Anne", workshops=[w for w in event.workshops if w.key == "agro"])

    with pytest.raises(EventRuleError) as refused:
        events.update_event(event, title="Nouveau titre", capacity=0, workshops=[workshop("autre")])

    assert plain_list(refused.value.errors) == [
        "La capacité de l'événement (0) est inférieure au nombre de places déjà prises (1).",
        ("L'atelier « agro » a des inscriptions : il n'est retiré que sur une confirmation explicite "
         "(personnes à prévenir par courriel : 1)."),
    ]
    event = db.session.get(Event, event.id)
    assert (event.title, event.capacity, [w.key for w in event.workshops]) == (
        "Rencontre régionale", 5, ["agro", "vide"])

    # The full list of workshops: "vide" (nobody booked it) goes, "autre" comes, "agro" changes.
    events.update_event(event, workshops=[{"key": "agro", "room": "Salle 1"}, workshop("autre", hours=(1, 2))])
    assert [(w.key, w.room) for w in db.session.get(Event, event.id).workshops] == [("autre", ""), ("agro", "Salle 1")]


def test_removing_a_booked_workshop_cancels_its_bookings_and_mails_each_person_on_confirmation(app_ctx):
    event = new_event(capacity=4, workshops=[workshop("agro", capacity=2), workshop("autre", hours=(1, 2))])
    agro = [w for w in event.workshops if w.key == "agro"]
    anne, fanch, bleunwenn, elouan = (person(event, name, workshops=agro)
                                      for name in ("Anne", "Fanch", "Bleunwenn", "Elouan"))
    denez = person(event, "Denez", workshops=agro)  # waits for a seat of the event: agro is requested
    corentin = person(event, "Corentin", workshops=agro, confirm=False)
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)  # Anne's seats: the event's to Denez, agro's to Bleunwenn
    assert (status(denez), status(bleunwenn)) == ("offered", "confirmed")
    [agro_offer] = db.session.scalars(select(SeatOffer).where(SeatOffer.workshop_id.is_not(None))).all()
    assert agro_offer.registration_id == bleunwenn.id
    sequences = {r.id: r.invite_sequence for r in (fanch, bleunwenn, elouan)}
    assert events.workshop_people_count(agro[0]) == 5  # Fanch booked, Bleunwenn offered, Elouan waiting, 2 requested
    before = outbox_size()

    with raises_saying(EventRuleError, "L'atelier « agro » a des inscriptions : il n'est retiré que sur une "
                                       "confirmation explicite (personnes à prévenir par courriel : 5)."):
        events.update_event(event, workshops=[{"key": "autre"}])
    assert [w.key for w in db.session.get(Event, event.id).workshops] == ["autre", "agro"]
    assert outbox_size() == before

    events.update_event(db.session.get(Event, event.id), workshops=[{"key": "autre"}], remove_booked_workshops=True)

    assert [w.key for w in db.session.get(Event, event.id).workshops] == ["autre"]
    removed = {m.registration_id: m for m in mails("workshop_removed")}
    assert sorted(removed) == sorted(r.id for r in (fanch, bleunwenn, elouan, denez, corentin))
    assert outbox_size() == before + 5
    for registration in (fanch, bleunwenn, elouan):  # they hold a seat: an updated invite, a new SEQUENCE
        db.session.refresh(registration)
        payload = removed[registration.id].payload
        assert payload["with_invite"] and payload["sequence"] == sequences[registration.id] + 1
        assert registration.invite_sequence == payload["sequence"]
    assert not removed[denez.id].payload["with_invite"] and not removed[corentin.id].payload["with_invite"]
    # The offer of agro's seat is gone with the workshop; Denez's offer of an event seat stays open.
    assert db.session.scalars(select(SeatOffer.registration_id).where(SeatOffer.status == OfferStatus.open)).all() \
        == [denez.id]
    assert (status(fanch), status(denez), status(corentin)) == ("confirmed", "offered", "pending")
    assert_counters_match_rows(event.id)

    # The mail names the workshop, gone from the database, and carries the invite as it is now.
    with rendering_context("fr"):
        mail = render_mail(removed[fanch.id])
        waiting_mail = render_mail(removed[denez.id])
    assert "Atelier retiré du programme : Atelier agro" in plain_list([mail.subject])
    assert "Atelier agro" in mail.text and "votre inscription à cet atelier prend fin" in plain_list([mail.text])[0]
    invite = Calendar.from_ical(mail.invite)
    assert (mail.invite_method, str(invite["METHOD"])) == ("REQUEST", "REQUEST")
    assert invite.walk("VEVENT")[0]["SEQUENCE"] == sequences[fanch.id] + 1
    assert "Atelier agro" not in invite.walk("VEVENT")[0]["DESCRIPTION"]
    assert waiting_mail.invite is None and "Atelier agro" in waiting_mail.text


def test_a_workshop_removed_with_the_cancellation_of_its_event_mails_nobody_about_it(app_ctx):
    event = new_event(workshops=[workshop("agro")])
    person(event, "Anne", workshops=event.workshops)

    events.update_event(event, status=EventStatus.cancelled, workshops=[], remove_booked_workshops=True)

    assert db.session.get(Event, event.id).workshops == []
    assert [m.kind for m in mails("event_cancelled")] == ["event_cancelled"] and mails("workshop_removed") == []
    assert_counters_match_rows(event.id)


# --- Cancelling. ---

def test_cancelling_mails_everyone_registered_and_withdraws_the_offers(app_ctx):
    event = new_event(capacity=1)
    anne, bleunwenn = person(event, "Anne"), person(event, "Bleunwenn")
    corentin = person(event, "Corentin", confirm=False)
    registrations.cancel_registration(anne)
    seats.offer_free_seats(event.id)
    offer = db.session.scalars(select(SeatOffer).where(SeatOffer.registration_id == bleunwenn.id)).one()
    denez = person(event, "Denez")  # waits behind Bleunwenn
    before = outbox_size()

    events.cancel_event(event)

    assert db.session.get(Event, event.id).status == EventStatus.cancelled
    assert {m.registration_id: m.payload["with_invite"] for m in mails("event_cancelled")} == {
        bleunwenn.id: False, corentin.id: False, denez.id: False}
    db.session.refresh(offer)
    assert offer.status == OfferStatus.withdrawn and status(bleunwenn) == "waiting"
    assert outbox_size() == before + 3
    assert_counters_match_rows(event.id)

    events.cancel_event(event)  # again: nothing more
    assert outbox_size() == before + 3
    with raises_saying(EventRuleError, "est annulé : il ne peut pas changer de statut"):
        events.publish_event(event)


def test_cancelling_sends_the_cancel_invite_to_the_people_holding_a_seat(app_ctx):
    event = new_event()
    anne = person(event, "Anne")
    events.cancel_event(event)
    [mail] = mails("event_cancelled")
    assert (mail.registration_id, mail.payload) == (anne.id, {"sequence": 1, "with_invite": True})
    assert db.session.get(Registration, anne.id).status.value == "confirmed"  # registrations keep their status


def test_moving_a_cancelled_event_sends_no_invite(app_ctx):
    event = new_event()
    person(event, "Anne")
    events.cancel_event(event)
    before = outbox_size()

    events.move_event(event, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=8))

    assert mails("invite_updated") == []  # a REQUEST after the CANCEL would put it back in calendars
    assert outbox_size() == before


def test_two_events_created_at_once_with_one_slug_give_one_event_and_a_clear_refusal(pg_env):
    """Both pass the slug check before either commits: the unique index decides, and the loser
    gets the rule's message, not a database error (PostgreSQL, threads with their own sessions)."""
    pg_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": pg_env["DATABASE_URL"]})
    barrier = threading.Barrier(8)
    outcomes = []

    def create():
        with pg_app.app_context():
            barrier.wait()
            try:
                new_event()
                outcomes.append("created")
            except EventRuleError as refused:
                outcomes.append(plain_list(refused.errors))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1
        db.engine.dispose()
    assert sorted(map(str, outcomes)) == sorted(
        ["created"] + [str(["« slug » : un autre événement utilise déjà « rencontre-regionale »."])] * 7)
