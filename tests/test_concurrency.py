"""Seats under concurrent requests, on SQLite and on PostgreSQL.

The headline test fires 200 simultaneous confirmation clicks at a gunicorn server with four
worker processes, for an event of 50 seats. The others run services from many threads at once,
each thread with its own app context, session and database connection (so the database sees
truly concurrent transactions): accepting offers, cancelling, double clicks. After each, the
seat counters must equal what the rows say. Last, organisers deciding on the same requests at
once (events that need approval): one decision per request.
"""
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    Answer,
    Event,
    EventStatus,
    JournalEntry,
    OfferStatus,
    OutboxMail,
    Question,
    QuestionChoice,
    Registration,
    SeatOffer,
    User,
    UserRole,
    Workshop,
    WorkshopBooking,
)
from webapp.models.base import utcnow
from webapp.models.questions import answer_choices
from webapp.services import events, questions, registrations, seats, tokens
from webapp.services.registrations import RegistrationError

from . import support
from .support import assert_counters_match_rows


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request, app, base_env):
    """(env, app) of the database under test: the suite's SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield base_env, app
        return
    from webapp import create_app

    env = request.getfixturevalue("pg_env")
    pg_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
    yield env, pg_app
    with pg_app.app_context():
        db.engine.dispose()


def create_event(capacity):
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = Event(slug=f"journee-{uuid.uuid4().hex[:8]}", title="Journée régionale", starts_at=start,
                  ends_at=start + timedelta(hours=8), contact_email="contact@bretagne-solidaire.bzh",
                  status=EventStatus.published, capacity=capacity)
    db.session.add(event)
    db.session.commit()
    return event


def register_people(event, count, prefix="personne"):
    """`count` pending registrations; returns their ids."""
    return [
        registrations.register(event, first_name="Personne", last_name=str(i), email=f"{prefix}{i}@example.org",
                               organisation="", actor_type="particulier", language="fr").id
        for i in range(count)
    ]


def confirm(registration_ids):
    for registration_id in registration_ids:
        registrations.confirm_address(tokens.confirm_token(db.session.get(Registration, registration_id)))


def statuses(event_id):
    db.session.expire_all()
    return Counter(dict(db.session.execute(
        select(Registration.status, func.count()).where(Registration.event_id == event_id).group_by(Registration.status)
    ).all()))


def mail_count(kind):
    return db.session.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == kind))


def run_together(app, calls):
    """Run each call in its own thread and app context (own session, own connection), all
    released at the same moment. Returns what each returned, or the exception it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        with app.test_request_context():
            barrier.wait()
            try:
                return call()
            except Exception as exc:  # an expected refusal (RegistrationError) or a real failure
                return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def outcomes(results):
    """'ok' for a success, the code of a RegistrationError; anything else fails the test."""
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, RegistrationError)]
    assert not unexpected, unexpected
    return Counter(r.code if isinstance(r, RegistrationError) else "ok" for r in results)


# --- The headline test: 200 confirmations for 50 seats, over HTTP, four processes. ---

def fire_together(urls, threads=32):
    """GET every URL from `threads` threads that start at the same moment; returns the status codes."""
    barrier = threading.Barrier(threads)

    def fire(share):
        with requests.Session() as http:
            barrier.wait()
            return [http.get(url, timeout=120).status_code for url in share]

    with ThreadPoolExecutor(threads) as pool:
        return [code for codes in pool.map(fire, [urls[i::threads] for i in range(threads)]) for code in codes]


def test_200_simultaneous_confirmations_for_50_seats(target):
    env, app = target
    with app.test_request_context():
        event = create_event(capacity=50)
        event_id = event.id
        links = [f"/confirm/{tokens.confirm_token(db.session.get(Registration, i))}"
                 for i in register_people(event, 200)]
        db.session.commit()
    server, base_url = support.start_gunicorn(env, workers=4)
    try:
        codes = fire_together([base_url + link for link in links])
    finally:
        server.stop()
    assert Counter(codes) == {200: 200}, server.log()[-3000:]
    with app.app_context():
        assert statuses(event_id) == {"confirmed": 50, "waiting": 150}
        event = db.session.get(Event, event_id)
        assert (event.seats_taken, event.waiting_count) == (50, 150)
        assert_counters_match_rows(event_id)
        assert (mail_count("registration_confirmed"), mail_count("waiting_list")) == (50, 150)
        waiting = db.session.scalars(select(Registration).where(Registration.status == "waiting")).all()
        assert sorted(registrations.waiting_position(r) for r in waiting) == list(range(1, 151))


def test_double_clicks_on_confirmation_links_take_one_seat_each(target):
    """Twelve people each click their confirmation link twice at once, for an event of 8 seats.
    While seats are free a confirmation takes one in the statement that locks the event; then the
    event is locked first and people join the waiting list. Of each pair of clicks, one confirms
    and the other is told the address is confirmed already: no seat taken twice."""
    _, app = target
    with app.test_request_context():
        event = create_event(capacity=8)
        event_id = event.id
        links = [tokens.confirm_token(db.session.get(Registration, i)) for i in register_people(event, 12)]
        db.session.commit()

    calls = [lambda link=link: registrations.confirm_address(link) for link in links for _ in range(2)]
    assert outcomes(run_together(app, calls)) == {"ok": 12, "already_confirmed": 12}
    with app.app_context():
        assert statuses(event_id) == {"confirmed": 8, "waiting": 4}
        assert_counters_match_rows(event_id)
        assert (mail_count("registration_confirmed"), mail_count("waiting_list")) == (8, 4)


# --- Offers, cancellations and double clicks from many threads at once. ---

def test_concurrent_acceptances_and_double_clicks_on_offers(target):
    _, app = target
    with app.test_request_context():
        event = create_event(capacity=20)
        event_id = event.id
        people = register_people(event, 40)
        confirm(people)  # 20 confirmed, 20 waiting
        for registration_id in people[:12]:
            registrations.cancel_registration(db.session.get(Registration, registration_id))
        seats.offer_free_seats(event_id)
        offers = db.session.scalars(select(SeatOffer).where(SeatOffer.status == OfferStatus.open)).all()
        assert len(offers) == 12
        links = [tokens.offer_token(offer) for offer in offers]
        db.session.commit()

    def accept(token):
        return lambda: seats.accept_offer(seats.offer_from_token(token))

    def decline(token):
        return lambda: seats.decline_offer(seats.offer_from_token(token))

    # Offers 0-7: two accept clicks each. Offers 8-11: an accept and a decline click at once.
    calls = ([accept(t) for t in links[:8] for _ in range(2)]
             + [click(t) for t in links[8:] for click in (accept, decline)])
    results = outcomes(run_together(app, calls))
    # One click per offer won; a losing click is told how the offer was answered.
    assert results["ok"] == 12 and results["accepted"] + results["declined"] == 12
    assert results["accepted"] >= 8
    with app.app_context():
        answered = Counter(status.value for status in db.session.scalars(select(SeatOffer.status)))
        declined = results["declined"]  # accept clicks that lost to a decline
        # Each declined seat went straight to the next person waiting: a new open offer.
        # Counters, so that a status with no row equals a count of 0 (when no decline click won).
        assert answered == Counter(accepted=results["accepted"], declined=declined, open=declined)
        assert statuses(event_id) == Counter(confirmed=8 + results["accepted"], offered=declined,
                                             cancelled=12 + declined, waiting=8 - declined)
        assert mail_count("registration_confirmed") == 20 + results["accepted"]
        assert_counters_match_rows(event_id)


def test_concurrent_cancellations_while_people_wait(target):
    _, app = target
    with app.test_request_context():
        event = create_event(capacity=20)
        event_id = event.id
        people = register_people(event, 40)
        confirm(people)  # people[:20] confirmed, people[20:] waiting, in this order
        newcomers = register_people(event, 5, prefix="nouveau")
        db.session.commit()

    def cancel(registration_id):
        return lambda: registrations.cancel_registration(db.session.get(Registration, registration_id))

    def leave(registration_id):
        return lambda: registrations.leave_waiting_list(db.session.get(Registration, registration_id))

    def confirm_newcomer(registration_id):
        return lambda: confirm([registration_id])

    calls = (
        [cancel(i) for i in people[:10] for _ in range(2)]  # ten people cancel, each clicking twice
        + [leave(i) for i in people[20:23]]  # the first three waiting leave the list
        + [confirm_newcomer(i) for i in newcomers]  # a seat may be free: still, they must wait
        + [lambda: seats.offer_free_seats(event_id) for _ in range(4)]  # workers offering freed seats
    )
    results = outcomes(run_together(app, calls))
    assert results == {"ok": 10 + 3 + 5 + 4, "already_cancelled": 10}
    with app.app_context():
        seats.offer_free_seats(event_id)
        assert statuses(event_id) == {"confirmed": 10, "offered": 10, "cancelled": 13, "waiting": 12}
        offered = db.session.scalars(
            select(Registration.id).where(Registration.status == "offered").order_by(Registration.id)
        ).all()
        assert offered == people[23:33]  # the next ten in line, newcomers behind them
        assert mail_count("registration_cancelled") == 13
        # A worker may have offered a seat to someone leaving at that moment: that offer was withdrawn.
        offers = Counter(status.value for status in db.session.scalars(select(SeatOffer.status)))
        assert offers["open"] == 10 and set(offers) <= {"open", "withdrawn"}
        assert mail_count("seat_offer") == offers.total()
        assert_counters_match_rows(event_id)


# --- The organisers' decisions on requests (events that need approval). ---

def test_concurrent_decisions_on_requests_one_decision_per_request(target):
    _, app = target
    with app.test_request_context():
        event = create_event(capacity=5)
        event.approval_required = True
        db.session.commit()
        event_id = event.id
        people = register_people(event, 16)
        confirm(people)  # 16 requests await a decision
        organisers = [support.make_user(f"orga{i}@example.org", UserRole.admin) for i in range(2)]
        db.session.commit()

    def decide(decision, registration_id, organiser_id):
        def call():
            registration = db.session.get(Registration, registration_id)
            return decision(registration, by=db.session.get(User, organiser_id))
        return call

    accept, decline = registrations.accept_registration, registrations.decline_registration
    # Requests 0-5: two organisers accept at once. 6-11: one accepts while the other declines.
    # 12-15: both decline.
    calls = ([decide(accept, i, o) for i in people[:6] for o in organisers]
             + [decide(d, i, o) for i in people[6:12] for d, o in zip((accept, decline), organisers, strict=True)]
             + [decide(decline, i, o) for i in people[12:] for o in organisers])
    results = outcomes(run_together(app, calls))
    # One decision per request won; the other click is told the request awaits no decision any more.
    assert results == {"ok": 16, "not_awaiting": 16}
    with app.app_context():
        accepted = statuses(event_id)["confirmed"] + statuses(event_id)["waiting"]
        assert 6 <= accepted <= 12
        assert statuses(event_id) == Counter(confirmed=5, waiting=accepted - 5, declined=16 - accepted)
        assert (mail_count("registration_confirmed"), mail_count("waiting_list")) == (5, accepted - 5)
        assert mail_count("registration_declined") == 16 - accepted
        actions = Counter(db.session.scalars(select(JournalEntry.action).where(JournalEntry.event_id == event_id)))
        assert actions == Counter(registration_accepted=accepted, registration_declined=16 - accepted)
        assert_counters_match_rows(event_id)


def test_removing_a_booked_workshop_while_people_book_it_cancel_and_get_offers(target):
    _, app = target
    with app.test_request_context():
        start = utcnow().replace(microsecond=0) + timedelta(days=30)
        event = create_event(capacity=None)
        event.workshops = [Workshop(key=key, title=f"Atelier {key}", starts_at=start,
                                    ends_at=start + timedelta(hours=1), capacity=3) for key in ("agro", "autre")]
        db.session.commit()
        event_id, agro = event.id, event.workshops[0]
        people = [registrations.register(event, first_name="Personne", last_name=str(i), email=f"p{i}@example.org",
                                         organisation="", actor_type="particulier", language="fr",
                                         workshops=[agro]).id for i in range(10)]
        confirm(people[:5])  # three booked, two waiting for agro; the other five confirm below

    def remove():
        return events.update_event(db.session.get(Event, event_id), workshops=[{"key": "autre"}],
                                   remove_booked_workshops=True)

    calls = (
        [remove for _ in range(2)]  # a double click on the confirmation
        + [lambda i=i: confirm([i]) for i in people[5:]]  # they book agro, or find it gone
        + [lambda i=i: registrations.cancel_registration(db.session.get(Registration, i)) for i in people[:2]]
        + [lambda: seats.offer_free_seats(event_id) for _ in range(3)]
    )
    results = outcomes(run_together(app, calls))

    assert results == {"ok": 2 + 5 + 2 + 3}
    with app.app_context():
        assert [w.key for w in db.session.get(Event, event_id).workshops] == ["autre"]
        assert db.session.scalar(select(func.count()).select_from(WorkshopBooking)) == 0
        assert_counters_match_rows(event_id)
        mailed = db.session.scalars(
            select(OutboxMail.registration_id).where(OutboxMail.kind == "workshop_removed")).all()
        # Each person who still had agro when it went is told once; those who cancelled before are not.
        assert len(mailed) == len(set(mailed)) and 8 <= len(mailed) <= 10
        assert statuses(event_id) == {"confirmed": 8, "cancelled": 2}


def test_removing_a_choice_while_people_choose_it(target):
    """An organiser removes a choice while people register choosing it: the database decides.
    Either the choice was deleted before anyone's answer was written (their registration is then
    refused as a whole, asking to choose again), or it is kept, hidden, with every answer given.
    Never an answer pointing at a deleted choice, never a registration without its answers."""
    _, app = target
    with app.test_request_context():
        event = create_event(capacity=None)
        event_id = event.id
        question = questions.add_question(event, None, kind="multiple_choice", label="Repas",
                                          choices=["Midi", "Soir"])
        question_id, (noon, evening) = question.id, [choice.id for choice in question.choices]

    def register(number):
        def call():
            event = db.session.get(Event, event_id)
            return registrations.register(
                event, first_name="Personne", last_name=str(number), email=f"personne{number}@example.org",
                organisation="", actor_type="asi", language="fr", answers={question_id: [str(noon), str(evening)]}).id
        return call

    def remove():
        question = db.session.get(Question, question_id)
        return questions.update_question(question, None, kind="multiple_choice", label="Repas",
                                         choices=questions.ChoiceChanges(removed={noon}))

    results = run_together(app, [register(n) for n in range(12)] + [remove])

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, questions.AnswersError)]
    assert not unexpected, unexpected
    registered = [r for r in results[:-1] if not isinstance(r, Exception)]
    with app.app_context():
        choice = db.session.get(QuestionChoice, noon)
        chose_noon = db.session.scalar(select(func.count()).select_from(answer_choices).where(
            answer_choices.c.choice_id == noon))
        if choice is None:  # deleted first: nobody's answer was written with it
            assert results[-1] == [] and chose_noon == 0
        else:  # kept, hidden, for the answers written before
            assert results[-1] == ["Midi"] and choice.hidden and chose_noon > 0
        rows = db.session.execute(select(Registration.id, func.count(Answer.id)).outerjoin(Answer).where(
            Registration.event_id == event_id).group_by(Registration.id)).all()
        assert sorted(registered) == sorted(row[0] for row in rows)
        assert {row[1] for row in rows} <= {1}  # each with its answer
        assert chose_noon == len(registered)  # everyone registered chose it, and kept it


def test_one_address_registering_twenty_times_at_once_gets_one_registration(target):
    """The unique index decides, within the INSERT (ON CONFLICT DO NOTHING): every request gets the
    same registration, none fails, and each is answered with a confirmation mail."""
    env, app = target
    with app.app_context():
        event_id = create_event(capacity=10).id

    def register():
        event = db.session.get(Event, event_id)
        return registrations.register(event, first_name="Anne", last_name="Le Gall", email="anne@example.org",
                                      organisation="", actor_type="particulier", language="fr").id

    results = run_together(app, [register] * 20)

    assert outcomes(results) == {"ok": 20}
    assert len(set(results)) == 1
    with app.app_context():
        assert statuses(event_id) == {"pending": 1}
        assert mail_count("confirm_address") >= 1
