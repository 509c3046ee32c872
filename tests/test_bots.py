"""Robots and inbox flooding, without a third-party captcha: the honeypot, the minimum time to
fill in the registration form, the limits per IP address and per submitted address (counted in
Redis), and the cap on « confirm your address » mails per address and hour (counted in the
database, under concurrency too). Time travels (time_machine); nothing sleeps."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from webapp import create_app
from webapp.extensions import db
from webapp.models import Event, OutboxMail, Registration
from webapp.models.base import utcnow
from webapp.services import registrations
from webapp.services.errors import RegistrationError, RegistrationErrorCode

from . import support

VICTIM = "victime@example.org"
PERSON = dict(first_name="Anne", last_name="Le Goff", email=VICTIM, organisation="", actor_type="asi", language="fr")
TOO_FAST = "Le formulaire a été envoyé très vite après son affichage"
TOO_MANY = "Cette adresse a reçu trop de messages de confirmation depuis une heure."


def rows(app):
    """(registrations, outbox rows)."""
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in (Registration, OutboxMail))


def mails_to(app, address):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.recipient == address))


def shown_at_of(page):
    """The signed stamp of when the registration form was shown, in the page's HTML."""
    return re.search(r'name="shown_at" type="hidden" value="([^"]+)"', page).group(1)


def post(client, slug, ip="192.0.2.1", **changes):
    """The registration form of event `slug` as a browser sends it (its CSRF token and the
    stamp of when it was shown included), from `ip`."""
    path = f"/events/{slug}/register"
    page = client.get(path).get_data(as_text=True)
    data = dict(support.registration_form(**changes), csrf_token=support.csrf_token_in(page),
                shown_at=shown_at_of(page))
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": ip})


def events(make_event, count):
    """`count` published events; returns their slugs."""
    slugs = [f"journee-{n}" for n in range(count)]
    for slug in slugs:
        make_event(slug=slug)
    return slugs


# --- The minimum time to fill in the form --------------------------------------------------

@pytest.fixture
def patient_app(app):
    """The app as in production: a form sent back within 3 seconds of being shown is refused."""
    return create_app({"TESTING": True, "REGISTRATION_MIN_FILL_SECONDS": 3})


def test_a_form_sent_back_too_fast_is_refused_with_nothing_stored(patient_app, event_slug):
    client = patient_app.test_client()
    path = f"/events/{event_slug}/register"
    with time_machine.travel(utcnow(), tick=False) as traveller:
        page = client.get(path).get_data(as_text=True)
        data = dict(support.registration_form(), csrf_token=support.csrf_token_in(page), shown_at=shown_at_of(page))
        traveller.shift(2)
        refused = client.post(path, data=data)
        assert refused.status_code == 422
        assert TOO_FAST in support.page_text(refused)
        assert rows(patient_app) == (0, 0)
        # The page shown again keeps the time the form was first shown: a person is not held back twice.
        assert shown_at_of(refused.get_data(as_text=True)) == data["shown_at"]
        traveller.shift(1)
        assert client.post(path, data=data).status_code == 303
    assert rows(patient_app) == (1, 1)


@pytest.mark.parametrize("shown_at", [None, "", "WzBd.forged.stamp", "shown"])
def test_a_form_without_a_genuine_stamp_is_refused(patient_app, event_slug, shown_at):
    client = patient_app.test_client()
    path = f"/events/{event_slug}/register"
    with time_machine.travel(utcnow(), tick=False) as traveller:
        page = client.get(path).get_data(as_text=True)
        traveller.shift(60)
        data = dict(support.registration_form(), csrf_token=support.csrf_token_in(page))
        if shown_at is not None:
            data["shown_at"] = shown_at
        response = client.post(path, data=data)
    assert response.status_code == 422
    assert TOO_FAST in support.page_text(response)
    assert rows(patient_app) == (0, 0)


# --- The honeypot ----------------------------------------------------------------------------

def test_a_filled_honeypot_looks_like_success_and_stores_nothing(app, client, event_slug):
    response = support.post_registration(client, event_slug, website="https://spam.example")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/events/{event_slug}/register/sent")
    assert rows(app) == (0, 0)


# --- Limits per IP address and per submitted address (Redis) ----------------------------------

@pytest.fixture
def redis_limited_app(limited_app, redis_server):
    def build(**limits):
        return limited_app(RATELIMIT_STORAGE_URI=redis_server.url, **limits)

    return build


def test_the_registrations_of_one_ip_address_are_limited(redis_limited_app, event_slug):
    app = redis_limited_app(RATELIMIT_PUBLIC_POST="2 per minute")
    client = app.test_client()
    for name in ("anne", "bleuenn"):
        assert post(client, event_slug, email=f"{name}@example.org").status_code == 303
    assert post(client, event_slug, email="corentin@example.org").status_code == 429
    assert post(client, event_slug, ip="192.0.2.2", email="corentin@example.org").status_code == 303
    assert rows(app)[0] == 3


def test_the_registrations_of_one_address_are_limited_whatever_the_ip(redis_limited_app, make_event):
    app = redis_limited_app(RATELIMIT_PUBLIC_POST="100 per minute", RATELIMIT_REGISTER_ADDRESS="3 per hour",
                            CONFIRM_MAILS_PER_ADDRESS_PER_HOUR=100)
    client = app.test_client()
    slugs = events(make_event, 5)
    for n in range(3):
        assert post(client, slugs[n], ip=f"192.0.2.{n}", email=VICTIM.upper()).status_code == 303
    assert post(client, slugs[3], ip="198.51.100.7", email=VICTIM).status_code == 429
    assert post(client, slugs[3], ip="198.51.100.7", email="anne@example.org").status_code == 303
    assert mails_to(app, VICTIM) == 3


# --- The cap on « confirm your address » mails per address and hour ---------------------------

def test_fifty_registrations_of_one_address_in_an_hour_send_it_at_most_the_cap(app, client, make_event, worker,
                                                                                smtp_server):
    """A robot registers the same victim 50 times in an hour, to 5 events, under other names and
    from other IP addresses (the limits per IP and per address off): the victim's mailbox gets
    CONFIRM_MAILS_PER_ADDRESS_PER_HOUR (3) mails, the form says why it refuses the others."""
    cap = app.config["CONFIRM_MAILS_PER_ADDRESS_PER_HOUR"]
    assert cap == 3
    slugs = events(make_event, 5)
    start = utcnow() - timedelta(hours=1)  # in the past: the worker sends what is queued at once
    answers = []
    with time_machine.travel(start, tick=False) as traveller:
        for n in range(50):
            response = post(client, slugs[n % 5], ip=f"203.0.113.{n}", first_name=f"Nom{n}", email=VICTIM)
            answers.append(response.status_code)
            if response.status_code == 422:
                assert TOO_MANY in support.page_text(response)
            traveller.shift(70)  # 50 × 70 s: within the hour
    assert answers == [303] * cap + [422] * (50 - cap)
    support.wait_until_all_mail_sent(app)
    delivered = smtp_server.to(VICTIM)
    assert len(delivered) == cap
    assert {message["X-Emgav-Kind"] for message in delivered} == {"confirm_address"}
    assert rows(app) == (cap, cap)


def test_the_cap_counts_over_the_last_hour_and_covers_the_lost_links(app, make_event):
    slugs = events(make_event, 4)
    start = utcnow()
    with app.test_request_context():
        rows_of_events = [db.session.scalars(select(Event).filter_by(slug=slug)).one() for slug in slugs]
        with time_machine.travel(start, tick=False) as traveller:
            for event in rows_of_events[:3]:
                registrations.register(event, **PERSON)
                traveller.shift(600)
            with pytest.raises(RegistrationError) as refused:
                registrations.register(rows_of_events[3], **PERSON)
            assert refused.value.code == RegistrationErrorCode.too_many_address_checks
            assert registrations.send_lost_links(VICTIM) is None
            traveller.move_to(start + timedelta(hours=1, seconds=1))  # the first mail is over an hour old
            assert registrations.send_lost_links(VICTIM) is not None
            with pytest.raises(RegistrationError):
                registrations.register(rows_of_events[3], **PERSON)
    assert mails_to(app, VICTIM) == 4


@support.ON_POSTGRESQL
def test_concurrent_registrations_of_one_address_never_exceed_the_cap(db_app):
    """12 registrations of the victim to 12 events at the same moment: each counts the mails
    checking the address under a lock, so only the cap of them get one; the others are refused
    whole. Without the lock, they all count 0 mails at once and all mail the victim."""
    app = db_app
    threads = 12
    cap = app.config["CONFIRM_MAILS_PER_ADDRESS_PER_HOUR"]
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    with app.app_context():
        events = [Event(slug=f"course-{n}", title="Journée", starts_at=start, ends_at=start + timedelta(hours=8),
                        contact_email="contact@bretagne-solidaire.bzh", status="published") for n in range(threads)]
        db.session.add_all(events)
        db.session.commit()
        event_ids = [event.id for event in events]
    barrier = threading.Barrier(threads)

    def register(event_id):
        with app.app_context():
            event = db.session.get(Event, event_id)
            barrier.wait()
            try:
                registrations.register(event, **PERSON)
                return "registered"
            except RegistrationError as error:
                return error.code

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(register, event_ids))
    assert outcomes.count("registered") == cap
    assert outcomes.count(RegistrationErrorCode.too_many_address_checks) == threads - cap
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Registration)) == cap
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.kind == "confirm_address")) == cap
