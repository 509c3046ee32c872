"""Bulk mail and its lists: the unsubscribe headers and link, the one-click POST (RFC 8058) and
the page, the undeliverable mark on a permanent refusal, and bulk rows withdrawn for a listed
address. No kind is bulk yet in this file's view of the registry: `as_bulk` makes one so."""
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.mail import delivery, outbox
from webapp.mail.kinds import KINDS, MailFamily
from webapp.mail.message import build_message
from webapp.models import OutboxMail, OutboxStatus, Suppression, SuppressionReason
from webapp.services import suppressions, tokens

from . import support
from .support import person, text_and_html


@pytest.fixture
def ahead(app_ctx):
    """Two days ahead of the real clock: the session's worker (if any) leaves these rows alone."""
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2), tick=True):
        yield


@pytest.fixture
def as_bulk(monkeypatch):
    """The `manage_link` kind, sent as bulk mail for the test."""
    monkeypatch.setitem(KINDS, "manage_link", dataclasses.replace(KINDS["manage_link"], family=MailFamily.bulk))
    return "manage_link"


def bulk_row(registration, key):
    row_id = outbox.queue_mail("manage_link", registration.email, key, registration=registration)
    db.session.commit()
    return db.session.get(OutboxMail, row_id)


def unsubscribe_path(address):
    return f"/unsubscribe/{tokens.unsubscribe_token(address)}"


def listed(address):
    return suppressions.reasons_for(address)


def test_bulk_mail_carries_the_one_click_headers_and_a_visible_link(app, ahead, as_bulk, make_event):
    row = bulk_row(person(make_event()), "bulk:headers")
    message = build_message(row)
    link = re.fullmatch(r"<(https?://[^>]+)>, <mailto:noreply@emgav\.test\?subject=unsubscribe>",
                        message["List-Unsubscribe"]).group(1)
    assert link.startswith(app.config["BASE_URL"] + "/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"
    text, html = text_and_html(message)
    assert link in text and f'href="{link}"' in html
    assert "anne@example.org" not in link  # the link carries a keyed hash, not the address


def test_transactional_mail_has_no_unsubscribe_header(ahead, make_event):
    registration = person(make_event())
    row = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "registration_confirmed",
                                                      OutboxMail.registration_id == registration.id)).one()
    message = build_message(row)
    assert message["List-Unsubscribe"] is None and message["Precedence"] is None
    assert "/unsubscribe/" not in text_and_html(message)[0]


def test_one_click_post_without_cookie_or_token_unsubscribes_once(app, app_ctx):
    path = unsubscribe_path("Anne@Example.org ")
    for _ in range(2):  # idempotent
        response = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    assert listed("anne@example.org") == {SuppressionReason.unsubscribed}
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 1


def test_the_page_asks_then_unsubscribes_with_its_form(client, app_ctx):
    path = unsubscribe_path("bob@example.org")
    page = client.get(path)
    assert page.status_code == 200 and "Me désabonner" in page.get_data(as_text=True)
    assert listed("bob@example.org") == set()  # GET changes nothing (link checkers, previews)
    for _ in range(2):
        assert support.submit(client, path).status_code == 200
    assert listed("bob@example.org") == {SuppressionReason.unsubscribed}


def test_a_post_that_is_neither_one_click_nor_the_page_form_is_refused(client, app_ctx):
    response = client.post(unsubscribe_path("carl@example.org"), data={})
    assert response.status_code == 400
    assert listed("carl@example.org") == set()


@pytest.mark.parametrize("damage", [support.forge, lambda token: token[:-6], lambda token: "not-a-token"])
def test_forged_or_truncated_links_are_refused(client, app_ctx, damage):
    token = tokens.unsubscribe_token("dana@example.org")
    for response in (client.get(f"/unsubscribe/{damage(token)}"),
                     client.post(f"/unsubscribe/{damage(token)}", data={"List-Unsubscribe": "One-Click"})):
        assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_a_link_signed_for_another_purpose_is_refused(client, app_ctx, make_event):
    registration = person(make_event())
    assert client.post(f"/unsubscribe/{tokens.manage_token(registration)}",
                       data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_bulk_mail_to_an_unsubscribed_address_is_withdrawn_not_sent(ahead, as_bulk, smtp_server, make_event):
    registration = person(make_event())
    suppressions.unsubscribe(suppressions.address_hash(registration.email))
    row = bulk_row(registration, "bulk:unsubscribed")
    delivery.deliver(row.id)
    db.session.refresh(row)
    assert row.status == OutboxStatus.cancelled and "unsubscribed" in row.last_error
    assert smtp_server.to(registration.email) == [m for m in smtp_server.to(registration.email)
                                                   if m["X-Emgav-Kind"] != "manage_link"]


def test_transactional_mail_still_reaches_an_unsubscribed_address(ahead, smtp_server, make_event):
    suppressions.unsubscribe(suppressions.address_hash("anne@example.org"))
    registration = person(make_event())
    row = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "registration_confirmed",
                                                      OutboxMail.registration_id == registration.id)).one()
    delivery.deliver(row.id)
    db.session.refresh(row)
    assert row.status == OutboxStatus.sent


def test_a_permanent_refusal_of_the_recipient_marks_the_address_undeliverable(ahead, as_bulk, smtp_server,
                                                                            make_event):
    registration = person(make_event())
    smtp_server.refuse(registration.email, "550 5.1.1 <anne@example.org>: mailbox unknown")
    row = bulk_row(registration, "bulk:refused")
    delivery.deliver(row.id)
    db.session.refresh(row)
    assert row.status == OutboxStatus.failed and row.last_error.startswith("550")
    assert listed(registration.email) == {SuppressionReason.undeliverable}
    entry = db.session.scalars(select(Suppression)).one()
    assert "anne@example.org" not in entry.detail and entry.detail.startswith("550")  # kept as a hash only

    later = bulk_row(registration, "bulk:later")
    delivery.deliver(later.id)
    db.session.refresh(later)
    assert later.status == OutboxStatus.cancelled  # the next bulk mail is not even tried


def test_a_temporary_refusal_marks_nothing(ahead, as_bulk, smtp_server, make_event):
    registration = person(make_event())
    smtp_server.refuse(registration.email, "451 4.3.0 Try again later")
    row = bulk_row(registration, "bulk:busy")
    delivery.deliver(row.id)
    db.session.refresh(row)
    assert row.status == OutboxStatus.retrying
    assert listed(registration.email) == set()


def test_lifting_a_mark_lets_bulk_mail_go_again(ahead, as_bulk, smtp_server, make_event):
    registration = person(make_event())
    digest = suppressions.suppress(registration.email, SuppressionReason.undeliverable, "550 gone")
    db.session.commit()
    assert suppressions.lift(digest, SuppressionReason.undeliverable)
    db.session.commit()
    row = bulk_row(registration, "bulk:lifted")
    delivery.deliver(row.id)
    db.session.refresh(row)
    assert row.status == OutboxStatus.sent


def test_suppressed_among_picks_the_listed_addresses(app_ctx):
    suppressions.suppress("x@example.org", SuppressionReason.unsubscribed)
    suppressions.suppress("y@example.org", SuppressionReason.undeliverable)
    db.session.commit()
    assert suppressions.suppressed_among(["X@example.org", "y@example.org", "z@example.org"]) == {
        "X@example.org", "y@example.org"}
