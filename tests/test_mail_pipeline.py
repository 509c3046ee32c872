"""The mail pipeline: outbox rows rendered and sent to a real SMTP server (aiosmtpd), by the
real Celery worker or by calling `deliver` directly."""
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import func, select

from webapp import create_app
from webapp.extensions import db
from webapp.mail import delivery, outbox, sweeper
from webapp.mail.kinds import KINDS
from webapp.models import OutboxMail, OutboxStatus, RegistrationStatus
from webapp.models.base import utcnow
from webapp.services import registrations, tokens

from . import support
from .support import mime_tree, person, text_and_html

INVITE_TREE = ["multipart/mixed", [["multipart/alternative", ["text/plain", "text/html", "text/calendar"]],
                                   "application/ics"]]
PLAIN_TREE = ["multipart/alternative", ["text/plain", "text/html"]]
# Mail kinds about a back-office account (no registration, no event).
ACCOUNT_KINDS = {"password_reset", "account_invitation"}
ABOUT_NO_REGISTRATION = ACCOUNT_KINDS | {"lost_links"}


@pytest.fixture
def ahead(app_ctx):
    """Run the test two days ahead of the real clock.

    The session's Celery worker (when one runs) follows the real clock, so the rows queued
    here are not yet due for it nor for its sweeper: the test drives `deliver` itself, and
    moves time (`ahead.shift(...)`) instead of sleeping.
    """
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2), tick=True) as traveller:
        yield traveller


def outbox_row(registration, kind):
    return db.session.scalars(
        select(OutboxMail).where(OutboxMail.registration_id == registration.id, OutboxMail.kind == kind)
    ).one()


def links(message):
    """URLs in the plain-text part and in the HTML part's href attributes."""
    text, html = text_and_html(message)
    return set(re.findall(r"https?://[^\s<>\"']+", text)), set(re.findall(r'href="([^"]+)"', html))


def assert_well_formed(message, kind, recipient):
    assert message["X-Emgav-Kind"] == kind
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"].addresses[0].addr_spec == "noreply@emgav.test"
    assert [a.addr_spec for a in message["To"].addresses] == [recipient]
    assert message["Date"].datetime.tzinfo is not None
    assert re.fullmatch(r"<[^<>@]+@emgav\.test>", message["Message-ID"])
    assert message["Subject"]
    text_links, html_links = links(message)
    assert text_links == html_links  # both parts say the same thing
    text, html = text_and_html(message)
    assert "<style" not in html and 'style="' in html  # CSS inlined
    assert not re.search(r"""<img[^>]+src=["']?https?:""", html)  # no remote images, no tracking pixel
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    return text, html


def deliver(row):
    delivery.deliver(row.id)
    db.session.refresh(row)
    return row


def test_worker_sends_both_mails_of_a_registration_with_the_invite(worker, smtp_server, app_ctx, make_event):
    registration = person(make_event(), confirm=False)
    [confirm_mail] = smtp_server.wait_for("anne@example.org", kind="confirm_address")
    text, html = assert_well_formed(confirm_mail, "confirm_address", "anne@example.org")
    assert mime_tree(confirm_mail) == PLAIN_TREE
    confirm_url = re.search(r"http://emgav\.test/confirm/\S+", text).group()
    assert confirm_url in links(confirm_mail)[1]
    assert confirm_mail["To"].addresses[0].display_name == "Anne Le Goff"
    assert confirm_mail["Reply-To"].addresses[0].addr_spec == "contact@bretagne-solidaire.bzh"

    registrations.confirm_address(confirm_url.rsplit("/", 1)[1])
    [mail] = smtp_server.wait_for("anne@example.org", kind="registration_confirmed")
    text, html = assert_well_formed(mail, "registration_confirmed", "anne@example.org")
    assert mime_tree(mail) == support.SEAT_MAIL_TREE
    alternative, attachment = mail.iter_parts()
    calendar_part = list(alternative.iter_parts())[2]
    image = list(list(alternative.iter_parts())[1].iter_parts())[1]
    assert support.decode_qr(image.get_content()) == registration.checkin_code
    assert calendar_part.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content() == calendar_part.get_payload(decode=True)  # the same bytes
    assert b"METHOD:REQUEST" in attachment.get_content()
    [manage_url] = {url for url in links(mail)[0] if "/manage/" in url}
    assert tokens.read_token("manage", manage_url.rsplit("/", 1)[1])[0] == registration.id
    [vevent] = Calendar.from_ical(attachment.get_content()).events
    assert vevent["UID"] == f"{registration.uid}@emgav.test"
    # Calendars are shared: the invite points at the public event page, never at the manage link.
    assert "/manage/" not in vevent["DESCRIPTION"] and "/manage/" not in str(vevent.get("URL"))
    assert f"http://emgav.test/events/{registration.event.slug}" in vevent["DESCRIPTION"]

    def sent_row():
        row = outbox_row(registration, "registration_confirmed")
        status, message_id, attempts = row.status, row.message_id, row.attempts
        db.session.rollback()  # never keep the SQLite write lock the worker needs
        return (message_id, attempts) if status == OutboxStatus.sent else None

    message_id, attempts = support.wait_until(sent_row, message="the row marked sent")
    assert message_id == mail["Message-ID"] and attempts == 1


def test_the_same_dedup_key_queues_one_mail(ahead, make_event):
    registration = person(make_event(), confirm=False)
    first = outbox.queue_mail("manage_link", registration.email, "manage-link:test", registration=registration)
    second = outbox.queue_mail("manage_link", registration.email, "manage-link:test", registration=registration)
    db.session.commit()
    assert first == second
    assert db.session.scalar(select(func.count()).where(OutboxMail.dedup_key == "manage-link:test")) == 1


def test_temporary_failure_retries_later_with_the_same_message_id(ahead, smtp_server, make_event):
    row = outbox_row(person(make_event(), confirm=False), "confirm_address")
    smtp_server.fail_with("451 4.3.0 Try again later")

    deliver(row)
    assert (row.status, row.attempts) == (OutboxStatus.retrying, 1)
    assert "451" in row.last_error and "Try again later" in row.last_error
    assert row.next_attempt_at - utcnow() > timedelta(seconds=50)  # backoff: 60 s after the first attempt
    message_id = row.message_id
    assert message_id and smtp_server.messages == []

    deliver(row)  # not due yet: nothing happens
    assert (row.status, row.attempts) == (OutboxStatus.retrying, 1)

    ahead.shift(timedelta(seconds=61))
    deliver(row)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.sent, 2, None)
    [mail] = smtp_server.to("anne@example.org")
    assert mail["Message-ID"] == message_id

    deliver(row)  # a sent row is never sent again
    assert row.attempts == 2 and len(smtp_server.messages) == 1


def test_backoff_grows_and_the_row_fails_after_the_last_attempt(ahead, app, smtp_server, make_event, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    row = outbox_row(person(make_event(), confirm=False), "confirm_address")
    smtp_server.fail_with("421 4.7.0 Too busy", times=3)
    delays = []
    for _ in range(3):
        deliver(row)
        if row.status == OutboxStatus.retrying:
            delays.append(row.next_attempt_at - utcnow())
            ahead.shift(delays[-1] + timedelta(seconds=1))
    assert (row.status, row.attempts) == (OutboxStatus.failed, 3)
    assert row.last_error.startswith("421")
    assert delays[1] > delays[0] * 1.5
    assert smtp_server.messages == []


def test_permanent_failure_fails_the_row_with_the_error(ahead, smtp_server, make_event):
    row = outbox_row(person(make_event(), confirm=False), "confirm_address")
    smtp_server.fail_with("550 5.1.1 Mailbox does not exist")
    deliver(row)
    assert (row.status, row.attempts) == (OutboxStatus.failed, 1)
    assert row.last_error == "550 5.1.1 Mailbox does not exist"
    deliver(row)
    assert row.attempts == 1 and smtp_server.messages == []


def test_unreachable_smtp_server_is_a_temporary_failure(ahead, app, smtp_server, make_event, monkeypatch):
    row = outbox_row(person(make_event(), confirm=False), "confirm_address")
    monkeypatch.setitem(app.config, "SMTP_PORT", support.free_port())
    deliver(row)
    assert row.status == OutboxStatus.retrying
    assert row.last_error.startswith("SMTP connection")

    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    ahead.shift(timedelta(minutes=2))
    assert deliver(row).status == OutboxStatus.sent


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_concurrent_deliveries_send_one_mail(database, request, app, ahead, smtp_server):
    target = app if database == "sqlite" else create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": request.getfixturevalue("pg_env")["DATABASE_URL"]}
    )
    with target.app_context():
        row_id = outbox.queue_mail("lost_links", "anne@example.org", "lost-links:race",
                                   payload={"registration_ids": []})
        db.session.commit()

    start = threading.Barrier(4)

    def deliver_in_thread():
        with target.app_context():
            start.wait()
            delivery.deliver(row_id)

    threads = [threading.Thread(target=deliver_in_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(smtp_server.to("anne@example.org")) == 1
    with target.app_context():
        row = db.session.get(OutboxMail, row_id)
        assert (row.status, row.attempts) == (OutboxStatus.sent, 1)


def test_names_cannot_inject_headers_and_are_escaped_in_html(ahead, smtp_server, make_event):
    registration = person(make_event(), first_name="<script>alert(1)</script>\r\nBcc: evil@example.com",
                          last_name="Le Goff\nX-Injected: yes", confirm=False)
    deliver(outbox_row(registration, "confirm_address"))
    [mail] = smtp_server.to("anne@example.org")
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    [address] = mail["To"].addresses
    assert address.addr_spec == "anne@example.org"
    assert address.display_name == "<script>alert(1)</script> Bcc: evil@example.com Le Goff X-Injected: yes"
    assert smtp_server.envelopes[-1][1] == ["anne@example.org"]
    text, html = text_and_html(mail)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_mail_is_rendered_in_the_registration_language(ahead, smtp_server, make_event):
    # Until the English catalogue exists the sentences stay French: check what does not need it,
    # the language of the HTML document and the dates formatted by Babel.
    start = datetime(2031, 7, 3, 7, 0, tzinfo=UTC)
    event_id = make_event(starts_at=start, ends_at=start + timedelta(hours=8))
    deliver(outbox_row(person(event_id, email="anne@example.org", language="en", confirm=False), "confirm_address"))
    deliver(outbox_row(person(event_id, email="yann@example.org", language="fr", confirm=False), "confirm_address"))

    text, html = text_and_html(smtp_server.to("anne@example.org")[0])
    assert '<html lang="en">' in html
    assert "Thursday, July 3, 2031" in text and "Thursday, July 3, 2031" in html
    text, html = text_and_html(smtp_server.to("yann@example.org")[0])
    assert '<html lang="fr">' in html
    assert "jeudi 3 juillet 2031" in text and "jeudi 3 juillet 2031" in html


def test_rows_that_can_never_be_sent_fail_cleanly(ahead, smtp_server, make_event):
    registration = person(make_event(), confirm=False)
    row = outbox_row(registration, "confirm_address")
    unknown = db.session.get(OutboxMail, outbox.queue_mail("no_such_kind", registration.email, "unknown:1",
                                                           registration=registration))
    db.session.delete(registration)
    db.session.commit()

    assert deliver(row).status == OutboxStatus.failed
    assert row.registration_id is None and row.last_error == "the registration no longer exists"
    assert deliver(unknown).status == OutboxStatus.failed
    assert unknown.last_error == "unknown mail kind 'no_such_kind'"
    assert smtp_server.messages == []


def test_every_kind_renders_text_html_and_its_invite(ahead, smtp_server, make_event):
    start = utcnow() + timedelta(days=30)
    workshop = dict(key="riaa", title="Réseau RIAA", starts_at=start, ends_at=start + timedelta(hours=1))
    registration = person(make_event(title="Journée <régionale> & « solidaire »", workshops=[workshop]), confirm=False)
    registration.status = RegistrationStatus.waiting
    registration.waiting_since = utcnow()
    extra = support.mail_payloads(registration)
    payloads = {kind: extra.get(kind, {}) for kind in KINDS}
    payloads["event_cancelled"]["with_invite"] = False  # a CANCEL kind without its invite too

    for kind, payload in payloads.items():
        if kind == "event_reminder":  # a reminder goes to a person holding a seat
            registration.status = RegistrationStatus.confirmed
        row = db.session.get(OutboxMail, outbox.queue_mail(
            kind, registration.email, f"every-kind:{kind}", payload=payload,
            registration=None if kind in ABOUT_NO_REGISTRATION else registration))
        db.session.commit()
        assert deliver(row).status == OutboxStatus.sent, (kind, row.last_error)
        [mail] = smtp_server.wait_for("anne@example.org", kind=kind)
        text, html = assert_well_formed(mail, kind, "anne@example.org")
        method = KINDS[kind].invite
        with_invite = method is not None and payload.get("with_invite", True)
        assert mime_tree(mail) == (INVITE_TREE if with_invite else PLAIN_TREE), kind
        if with_invite:
            assert f"METHOD:{method.value}".encode() in list(mail.iter_parts())[1].get_content()
        if kind in ACCOUNT_KINDS:  # a back-office account's link to choose its password, no event
            assert "http://emgav.test/organiser/password/reset/" in text, kind
            assert "Message automatique d'Emgav, le service d'inscription" in text, kind
            continue
        if kind in ("survey_invitation", "survey_reminder"):  # the survey's link, not the manage link
            assert "http://emgav.test/surveys/" in text, kind
        elif kind not in ("confirm_address", "registration_cancelled", "event_cancelled", "seat_offer",
                          "registration_declined"):
            assert "http://emgav.test/manage/" in text, kind
        assert "Journée &lt;régionale&gt; &amp; « solidaire »" in html, kind
        assert "Journée <régionale> & « solidaire »" in text, kind

    [waiting] = smtp_server.wait_for("anne@example.org", kind="waiting_list")
    assert "en position 1" in text_and_html(waiting)[0]
    [offer] = smtp_server.wait_for("anne@example.org", kind="seat_offer")
    assert "http://emgav.test/offers/" in text_and_html(offer)[0]
    [expired] = smtp_server.wait_for("anne@example.org", kind="offer_expired")
    assert "l'atelier « Réseau RIAA »" in expired["Subject"] + text_and_html(expired)[0]


def test_sweeper_re_enqueues_what_nobody_works_on(ahead, app, smtp_server, make_event):
    event_id = make_event()
    stale_after = app.config["OUTBOX_STALE_AFTER"]
    rows = {}
    for name in ("fresh", "lost", "abandoned", "busy", "retry_due", "retry_later", "sent"):
        rows[name] = outbox_row(person(event_id, email=f"{name.replace('_', '-')}@example.org", confirm=False),
                                "confirm_address")
    old = utcnow() - stale_after - timedelta(seconds=1)
    rows["lost"].next_attempt_at = old
    rows["abandoned"].status, rows["abandoned"].claimed_at = OutboxStatus.sending, old
    rows["abandoned"].next_attempt_at = old  # a row is claimed once due
    rows["busy"].status, rows["busy"].claimed_at = OutboxStatus.sending, utcnow()
    rows["retry_due"].status, rows["retry_due"].next_attempt_at = OutboxStatus.retrying, utcnow()
    rows["retry_later"].status = OutboxStatus.retrying
    rows["retry_later"].next_attempt_at = utcnow() + timedelta(minutes=5)
    rows["sent"].status, rows["sent"].next_attempt_at = OutboxStatus.sent, old
    db.session.commit()

    swept = sweeper.sweep_outbox()
    expected = {rows[name].id for name in ("lost", "abandoned", "retry_due")}
    assert set(swept) == expected
    assert db.session.get(OutboxMail, rows["abandoned"].id).status == OutboxStatus.queued
    assert db.session.get(OutboxMail, rows["busy"].id).status == OutboxStatus.sending

    # The same rows sent as one batch, over one SMTP connection.
    delivery.deliver_batch(swept)
    assert {m["To"].addresses[0].addr_spec for m in smtp_server.messages} == {
        "lost@example.org", "abandoned@example.org", "retry-due@example.org"}
    db.session.rollback()
    assert {db.session.get(OutboxMail, row_id).status for row_id in expected} == {OutboxStatus.sent}


def test_sweeper_fails_a_row_whose_worker_died_on_the_last_attempt(ahead, app, make_event):
    row = outbox_row(person(make_event(), confirm=False), "confirm_address")
    row.status, row.attempts = OutboxStatus.sending, app.config["OUTBOX_MAX_ATTEMPTS"]
    row.claimed_at = utcnow() - app.config["OUTBOX_STALE_AFTER"] - timedelta(seconds=1)
    db.session.commit()
    assert sweeper.sweep_outbox() == []
    db.session.refresh(row)
    assert row.status == OutboxStatus.failed and row.last_error == "the worker stopped while sending"


def test_a_fan_out_enqueued_in_batches_reaches_every_recipient_once(worker, app, smtp_server, app_ctx,
                                                                      make_event, monkeypatch):
    """Rows queued without their own task, then handed to the worker in batches on the bulk queue."""
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 4)
    people = [person(make_event(), f"P{number}", email=f"p{number}@example.org", confirm=False)
              for number in range(10)]
    addresses = [registration.email for registration in people]
    row_ids = [outbox.queue_mail("manage_link", registration.email, f"fan-out:{registration.id}",
                                 registration=registration, enqueue=False) for registration in people]
    outbox.enqueue_batches(row_ids)
    db.session.commit()
    for address in addresses:
        smtp_server.wait_for(address, kind="manage_link")
    support.wait_until_all_mail_sent(app)
    received = [m["To"].addresses[0].addr_spec for m in smtp_server.messages if m["X-Emgav-Kind"] == "manage_link"]
    assert sorted(received) == sorted(addresses)
