"""Delivery at speed: fan-outs sent in batches by real Celery workers (`-Q bulk`, `-Q celery`) to a
real SMTP server (aiosmtpd), with Redis. A dropped connection is opened again; 4xx is retried
and 5xx fails one row only; two workers never send a row twice; a worker killed in the middle
loses no mail and repeats at most its batches in flight; a confirmation is never stuck behind a
mailing; DKIM signatures verify with dkimpy."""
import base64
import json
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta

import dkim
import pytest
import redis
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, update

from webapp import create_app
from webapp.extensions import db
from webapp.mail import delivery, outbox, sweeper, transport
from webapp.models import (
    Event,
    EventStatus,
    OutboxMail,
    OutboxStatus,
    Registration,
    RegistrationStatus,
    SuppressionReason,
    User,
)
from webapp.models.base import utcnow
from webapp.services import mailings, suppressions
from webapp.services.dispatch import DELIVER_MAIL, DELIVER_MAIL_BATCH, send_task

from . import support

MAILING_KIND = "organiser_mailing"
TRANSACTIONAL_KIND = "lost_links"
BODY = "Bonjour {prénom} {nom},\n\nRendez-vous à **{lieu}** pour « {événement} », {date}.\n\n[Gérer]({lien})"


@pytest.fixture
def workers():
    """Start workers with `start(env, queues, concurrency)`; all stopped after the test."""
    started = []

    def start(env, queues=None, concurrency=2):
        worker = support.start_worker(env, concurrency=concurrency, queues=queues)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def address(number):
    return f"personne{number}@example.org"


def mailing_to(count):
    """A draft mailing to `count` confirmed people, inserted in bulk."""
    now = utcnow()
    start = now.replace(microsecond=0) + timedelta(days=30)
    event = Event(slug=f"journee-{count}", title="Journée régionale", starts_at=start,
                  ends_at=start + timedelta(hours=8), venue_name="Espace Anne de Bretagne",
                  contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published)
    db.session.add(event)
    db.session.flush()
    db.session.execute(insert(Registration), [
        dict(uid=f"00000000-0000-4000-8000-{number:012d}", event_id=event.id, first_name=f"Prénom{number}",
             last_name=f"Nom{number}", email=address(number), organisation="", actor_type="ess", language="fr",
             status=RegistrationStatus.confirmed, privacy_consent_at=now, confirmed_at=now, created_at=now,
             updated_at=now)
        for number in range(count)])
    db.session.commit()
    organiser = db.session.get(User, support.make_user(f"orga{count}@bretagne-solidaire.bzh", events=[event.id]))
    return mailings.create_draft(event, organiser, "Infos pratiques : {événement}", BODY, mailings.Audience())


def fan_out(count):
    """A mailing to `count` people sent now: its rows queued (here, as the worker's fan-out task
    would) and handed to the workers in batches on the bulk queue; returns the rows' ids."""
    mailing = mailing_to(count)
    mailings.send_now(mailing, mailing.created_by)
    assert mailings.fan_out(mailing.id) == count
    row_ids = db.session.scalars(select(OutboxMail.id).where(OutboxMail.mailing_id == mailing.id)
                                 .order_by(OutboxMail.id)).all()
    db.session.rollback()  # never keep SQLite's write lock the workers need
    return row_ids


def received(smtp_server, kind=MAILING_KIND):
    """(Message-ID, recipient) of each mail of `kind` (by default, of the fan-out) the SMTP server took."""
    with smtp_server.lock:
        return [(m["Message-ID"], m["To"].addresses[0].addr_spec) for m in smtp_server.messages
                if m["X-Emgav-Kind"] == kind]


def statuses():
    db.session.rollback()  # a fresh read; never keep SQLite's write lock the workers need
    counts = dict(db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
    db.session.rollback()
    return counts


def wait_until_sent(count, timeout=120):
    try:
        support.wait_until(lambda: statuses().get(OutboxStatus.sent) == count, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {count} rows recorded sent: {statuses()}") from None


def test_a_dropped_connection_is_opened_again_and_every_mail_goes_once(app_ctx, app, base_env, workers,
                                                                         smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 10)
    smtp_server.drop_every = 3  # the server closes each connection after its third message
    workers(base_env, "bulk", concurrency=1)

    fan_out(20)

    wait_until_sent(20)
    assert sorted(recipient for _, recipient in received(smtp_server)) == sorted(address(n) for n in range(20))
    assert smtp_server.dropped == 6  # 3 per batch of 10
    assert db.session.scalar(select(func.max(OutboxMail.attempts))) == 1  # nothing needed a second attempt


def test_single_mails_share_one_connection_opened_again_when_the_server_dropped_it(app_ctx, app, smtp_server):
    rows = fan_out(5)
    transport.kept_session().close()  # whatever earlier tests left open in this process
    smtp_server.drop_every = 2  # the server closes each connection when a third message follows

    for row_id in rows:  # as the transactional queue sends them: one task, one mail
        delivery.deliver(row_id)

    assert sorted(recipient for _, recipient in received(smtp_server)) == sorted(address(n) for n in range(5))
    assert smtp_server.dropped == 2  # one connection for mails 1–2, then 3–4, then 5: kept between mails
    assert statuses() == {OutboxStatus.sent: 5}


def test_451_is_retried_550_fails_its_row_only_and_marks_the_address(app_ctx, app, base_env, workers, smtp_server):
    workers(base_env)  # both queues: the batch, then the retry the sweeper hands back
    smtp_server.fail_with("451 4.3.0 Try again later")  # the first mail of the batch
    smtp_server.refuse(address(3), "550 5.1.1 Mailbox does not exist")
    first, *_ = row_ids = fan_out(6)

    support.wait_until(lambda: statuses() == {OutboxStatus.sent: 4, OutboxStatus.retrying: 1,
                                              OutboxStatus.failed: 1}, message="the batch sent")
    rows = {row.recipient: row for row in db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(row_ids)))}
    assert sorted(recipient for _, recipient in received(smtp_server)) == [address(n) for n in (1, 2, 4, 5)]
    retried = rows[address(0)]
    assert (retried.attempts, retried.last_error) == (1, "451 4.3.0 Try again later")
    assert retried.next_attempt_at - utcnow() > timedelta(seconds=50)  # backoff: a minute
    refused = rows[address(3)]
    assert refused.last_error == "550 5.1.1 Mailbox does not exist"
    assert suppressions.reasons_for(address(3)) == {SuppressionReason.undeliverable}
    assert suppressions.reasons_for(address(0)) == set()
    message_id = retried.message_id

    # The backoff is over (the workers follow the real clock: the row's next attempt is moved
    # instead), the sweeper hands the row back, and the server takes it.
    db.session.execute(update(OutboxMail).where(OutboxMail.id == first).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert sweeper.sweep_outbox() == [first]
    smtp_server.wait_for(address(0))
    wait_until_sent(5)
    db.session.rollback()
    assert db.session.get(OutboxMail, first).attempts == 2
    assert smtp_server.to(address(0))[0]["Message-ID"] == message_id  # the same mail, tried again
    assert statuses()[OutboxStatus.failed] == 1


@support.ON_BOTH_DATABASES
def test_two_workers_given_the_same_batches_send_each_mail_once(db_app, base_env, workers, smtp_server):
    """Every batch is enqueued twice (as when the sweeper re-enqueues rows whose task is still
    waiting), the second time in reverse order: the two workers meet on the rows."""
    env = dict(base_env, DATABASE_URL=db_app.config["SQLALCHEMY_DATABASE_URI"])
    with db_app.test_request_context():
        row_ids = fan_out(1000)
        size = db_app.config["MAIL_BATCH_SIZE"]
        batches = [row_ids[start:start + size] for start in range(0, len(row_ids), size)]
        for batch in batches[::-1]:
            assert send_task(DELIVER_MAIL_BATCH, batch)
        workers(env, "bulk")
        workers(env, "bulk")

        wait_until_sent(1000)
        mails = support.wait_until(lambda: len(received(smtp_server)) >= 1000 and received(smtp_server))
    assert len(mails) == 1000 and len(set(mails)) == 1000  # no duplicate by Message-ID and recipient
    assert {recipient for _, recipient in mails} == {address(n) for n in range(1000)}


def queue_transactional(count):
    """`count` transactional mails queued without their tasks (as when the workers are behind);
    returns the rows' ids, oldest first."""
    row_ids = [outbox.queue_mail(TRANSACTIONAL_KIND, address(n), f"lost:{n}", payload={"registration_ids": []},
                                 enqueue=False) for n in range(count)]
    db.session.commit()
    return row_ids


@support.ON_BOTH_DATABASES
def test_a_transactional_task_takes_the_mails_queued_behind_it(db_app, smtp_server):
    """Its own mail and at most `with_waiting` others, however the database plans the claim
    (PostgreSQL could run the claim's subquery again for each row it updated, claiming them all)."""
    with db_app.app_context():
        row_ids = queue_transactional(30)
        later = db.session.get(OutboxMail, outbox.queue_mail(
            TRANSACTIONAL_KIND, "later@example.org", "lost:later", payload={"registration_ids": []}, enqueue=False))
        later.next_attempt_at = utcnow() + timedelta(minutes=5)  # a retry not due yet: left alone
        db.session.commit()

        settled = delivery.deliver(row_ids[12], with_waiting=9)
        assert settled == sorted([row_ids[12], *row_ids[:9]])  # its own row, then the oldest waiting
        # A task whose mail went with an earlier one still takes the oldest mails waiting.
        assert delivery.deliver(row_ids[3], with_waiting=9) == row_ids[9:12] + row_ids[13:20]
        assert delivery.deliver(row_ids[25], with_waiting=100) == row_ids[20:]
        assert delivery.deliver(row_ids[0], with_waiting=9) == []  # nothing due is left

        mails = received(smtp_server, TRANSACTIONAL_KIND)
        assert sorted(recipient for _, recipient in mails) == sorted(address(n) for n in range(30))
        assert statuses() == {OutboxStatus.sent: 30, OutboxStatus.queued: 1}



def test_a_batch_of_mails_loads_the_bookings_and_consents_once(app, make_event, smtp_server):
    """The mails of a batch show each person's workshops, and the news withdrawal link to those who
    agreed to news, from what the batch loaded: one query for the bookings of all its
    registrations and one for their consents, not one per mail."""
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event_id = make_event(workshops=[dict(key="agro", title="Agroécologie", starts_at=start + timedelta(hours=2),
                                          ends_at=start + timedelta(hours=3))])
    names = ("Anne", "Bleuenn", "Corentin", "Dewi", "Enora", "Gwen")
    with_news = {"Anne", "Dewi", "Gwen"}
    for name in names:
        support.person_id(app, event_id, name, workshops=["agro"], news_consent=name in with_news)
    read = {"workshop_bookings": [], "consents": []}

    def executed(connection, cursor, statement, *args):
        for table, statements in read.items():
            if f"FROM {table}" in statement:
                statements.append(statement)

    with app.app_context():
        row_ids = db.session.scalars(select(OutboxMail.id).where(OutboxMail.kind == "registration_confirmed")
                                     .order_by(OutboxMail.id)).all()
        db.session.commit()
        assert len(row_ids) == len(names)
        sa_event.listen(db.engine, "before_cursor_execute", executed)
        try:
            delivery.deliver_batch(row_ids)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", executed)
        assert statuses()[OutboxStatus.sent] == len(names)
    for name in names:
        [mail] = smtp_server.wait_for(f"{name.lower()}@example.org", kind="registration_confirmed")
        text = support.mail_text(mail)
        assert "Agroécologie" in text
        assert ("/news-consent/" in text) == (name in with_news), name
    assert len(read["workshop_bookings"]) == 1, read["workshop_bookings"]
    assert len(read["consents"]) == 1, read["consents"]


@support.ON_BOTH_DATABASES
def test_two_workers_taking_the_transactional_mails_queued_behind_their_own_send_each_once(
        db_app, base_env, workers, smtp_server):
    """A rush: 400 transactional mails, each task enqueued twice (the second time in reverse
    order), two workers on the transactional queue each taking the mails waiting behind theirs."""
    env = dict(base_env, DATABASE_URL=db_app.config["SQLALCHEMY_DATABASE_URI"])
    with db_app.test_request_context():
        row_ids = queue_transactional(400)
        for outbox_id in row_ids + row_ids[::-1]:
            assert send_task(DELIVER_MAIL, outbox_id)
        workers(env, "celery")
        workers(env, "celery")

        wait_until_sent(400)
        groups = db.session.scalar(select(func.count(func.distinct(OutboxMail.sent_at))))
        db.session.rollback()
    mails = received(smtp_server, TRANSACTIONAL_KIND)
    assert len(mails) == 400 and len(set(mails)) == 400  # no duplicate by Message-ID and recipient
    assert {recipient for _, recipient in mails} == {address(n) for n in range(400)}
    assert groups <= 400 // delivery.RECORD_SENT_EVERY * 2  # recorded by groups: the tasks took several mails


def test_a_worker_killed_in_the_middle_of_a_mailing_loses_no_mail(app_ctx, app, base_env, workers, smtp_server,
                                                                  monkeypatch, capsys):
    concurrency, size = 2, app.config["MAIL_BATCH_SIZE"]
    doomed = workers(base_env, "bulk", concurrency=concurrency)
    fan_out(2000)
    support.wait_until(lambda: len(received(smtp_server)) >= 150, timeout=300, message="the mailing under way")

    os.killpg(doomed.proc.pid, signal.SIGKILL)  # the worker and its child processes, mid-batch
    doomed.proc.wait(10)
    time.sleep(0.2)  # what was on the wire has landed
    at_kill = len(received(smtp_server))
    recorded_at_kill = statuses().get(OutboxStatus.sent, 0)

    # Later, the sweeper finds the rows the dead worker held (their claim is older than
    # OUTBOX_STALE_AFTER by now) and the batches it had taken, and a new worker sends them.
    monkeypatch.setitem(app.config, "OUTBOX_STALE_AFTER", timedelta(0))
    assert sweeper.sweep_outbox()
    workers(base_env, "bulk", concurrency=concurrency)
    wait_until_sent(2000, timeout=600)

    mails = received(smtp_server)
    counts = Counter(recipient for _, recipient in mails)
    duplicates = len(mails) - len(counts)
    assert set(counts) == {address(n) for n in range(2000)}
    assert duplicates <= concurrency * size  # at most the batches the killed worker had in flight
    assert duplicates <= concurrency * delivery.RECORD_SENT_EVERY  # ...and in fact one group of each
    with capsys.disabled():
        print(f"\ncrash: {at_kill} mails received when the worker was killed, {recorded_at_kill} recorded sent; "
              f"after the restart {len(mails)} mails for 2000 recipients, {duplicates} duplicate(s) "
              f"(bound: {concurrency} batches in flight × {size} = {concurrency * size})")


def test_a_confirmation_is_not_stuck_behind_a_mailing_to_10000(app_ctx, app, client, base_env, workers, smtp_server,
                                                               event_slug, capsys):
    workers(base_env, "celery", concurrency=1)  # as `make run` and docker-compose run them
    workers(base_env, "bulk", concurrency=2)
    fan_out(10_000)
    support.wait_until(lambda: len(received(smtp_server)) >= 200, timeout=120, message="the mailing under way")

    posted = time.monotonic()
    answer = support.post_registration(client, event_slug, email="latecomer@example.org")
    assert answer.status_code == 303
    smtp_server.wait_for("latecomer@example.org", kind="confirm_address", timeout=30)
    latency = time.monotonic() - posted
    sent_meanwhile = len(received(smtp_server))

    with capsys.disabled():
        print(f"\ntransactional latency during a 10,000-recipient mailing: {latency:.2f} s "
              f"({sent_meanwhile} mailing mails received by then)")
    assert sent_meanwhile < 10_000  # the mailing was still being sent
    assert latency < 5


def test_the_sweeper_hands_bulk_rows_back_in_batches_on_the_bulk_queue(app_ctx, app, monkeypatch, redis_server):
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 4)
    bulk_ids = fan_out(10)
    transactional_id = outbox.queue_mail("lost_links", "anne@example.org", "lost:1", payload={"registration_ids": []})
    db.session.commit()
    broker = redis.Redis.from_url(redis_server.url)
    broker.flushdb()  # the broker lost the tasks
    db.session.execute(update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(hours=1)))
    db.session.commit()

    assert sorted(sweeper.sweep_outbox()) == sorted([*bulk_ids, transactional_id])

    def tasks(queue):
        messages = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
        return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0][0]) for m in messages]

    assert sorted(tasks("bulk"), key=lambda task: task[1]) == [
        (DELIVER_MAIL_BATCH, bulk_ids[0:4]), (DELIVER_MAIL_BATCH, bulk_ids[4:8]), (DELIVER_MAIL_BATCH, bulk_ids[8:])]
    assert tasks("celery") == [(DELIVER_MAIL, transactional_id)]
    # Enqueued again just now: the next sweep leaves them to the workers.
    assert sweeper.sweep_outbox() == []


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers(app, smtp_server, tmp_path):
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
                   check=True, capture_output=True)
    public = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                            capture_output=True).stdout
    published = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    queried = []

    def dns(name, timeout=5):
        queried.append(name)
        return published

    signing_app = create_app({"TESTING": True, "DKIM_SELECTOR": "emgav", "DKIM_DOMAIN": "emgav.test",
                              "DKIM_PRIVATE_KEY_PATH": str(key)})
    with signing_app.test_request_context():
        [row_id] = fan_out(1)
        delivery.deliver(row_id)
    [raw] = smtp_server.raw_messages
    [message] = smtp_server.messages

    assert dkim.verify(raw, dnsfunc=dns)
    assert queried == [b"emgav._domainkey.emgav.test."]
    tags = dict(tag.strip().split("=", 1) for tag in str(message["DKIM-Signature"]).replace("\r\n", "").split(";"))
    assert tags["d"] == "emgav.test" and tags["s"] == "emgav"
    signed = {name.strip().lower() for name in tags["h"].split(":")}
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    # A changed List-Unsubscribe-Post breaks the signature.
    assert not dkim.verify(raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Clicks"), dnsfunc=dns)
