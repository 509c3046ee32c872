"""The check-in code shown to the people who hold a seat: in the mails that give or restate a seat
(a QR code made by segno, sent within the message as multipart/related, and the code in text), and
on the manage page (inline SVG and text). Mails and pages are parsed back and the QR codes read by
zxing-cpp; the code opens nothing (not the manage page)."""
import base64
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.mail.kinds import KINDS
from webapp.models import Event, OutboxMail, Registration, RegistrationStatus, SeatOffer
from webapp.models.base import utcnow
from webapp.services import events, registrations, seats, tokens
from webapp.typography import french

from .support import (
    SEAT_MAIL_TREE,
    csrf_token,
    decode_qr,
    mime_tree,
    page_text,
    person,
    person_id,
    plain,
    rows_of_every_kind,
    sent_and_parsed,
)
from .support import personal_link as link

SEAT_KINDS = {"registration_confirmed", "invite_updated", "workshop_removed"}


def parsed(row):
    return sent_and_parsed(row)[1]


def images(message):
    return [part for part in message.walk() if part.get_content_maintype() == "image"]


def outbox_row(registration, kind):
    return db.session.scalars(
        select(OutboxMail).where(OutboxMail.registration_id == registration.id, OutboxMail.kind == kind)
    ).one()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_confirmation_mail_embeds_the_qr_code_of_the_checkin_code(app_ctx, make_event, language):
    registration = person(make_event(), language=language)
    assert registration.status == RegistrationStatus.confirmed
    code = registration.checkin_code
    mail = parsed(outbox_row(registration, "registration_confirmed"))

    assert mime_tree(mail) == SEAT_MAIL_TREE
    alternative, attachment = mail.iter_parts()
    text_part, related, calendar_part = alternative.iter_parts()
    html_part, image = related.iter_parts()
    # The invite parts as before: the REQUEST in the alternative, the same bytes attached.
    assert calendar_part.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content() == calendar_part.get_payload(decode=True)
    assert code.encode() not in attachment.get_content()  # a calendar is shared: the code is not in it

    # The image: inside the message, shown in place by its Content-ID; it reads back as the code.
    assert image["Content-Disposition"].startswith("inline")
    cid = re.fullmatch(r"<([^<>\s]+@emgav\.test)>", image["Content-ID"]).group(1)
    html = html_part.get_content()
    [img] = re.findall(r"<img [^>]*>", html)
    assert f'src="cid:{cid}"' in img
    alt = {"fr": f"QR code de votre code d’accueil {code}", "en": f"QR code of your check-in code {code}"}[language]
    assert f'alt="{alt}"' in img
    assert decode_qr(image.get_content()) == code

    # The code in text too: beside the image, and in the plain-text part.
    label = {"fr": "Code :", "en": "Code:"}[language]
    assert re.search(rf"{label} <strong[^>]*>{code}</strong>", plain(html.replace("&nbsp;", " ")))
    text = plain(text_part.get_content())
    assert {"fr": f"Votre code d'accueil : {code}", "en": f"Your check-in code: {code}"}[language] in text
    assert mail.get_body(("html",)) is not None and mail.get_body(("html",)).get_content() == html


def test_mails_that_give_a_seat_later_carry_the_code(app_ctx, make_event):
    """Offered a freed seat and accepted it: the confirmation carries the code; the event moved
    to another place: the updated invite carries it too."""
    event_id = make_event(capacity=1)
    holder = person(event_id, "Yann")
    waiting = person(event_id, "Bleuenn")
    assert waiting.status == RegistrationStatus.waiting
    registrations.cancel_registration(holder)
    seats.offer_free_seats(event_id)
    seats.accept_offer(db.session.scalars(select(SeatOffer).filter_by(registration_id=waiting.id)).one())
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.confirmed
    mail = parsed(outbox_row(waiting, "registration_confirmed"))
    assert mime_tree(mail) == SEAT_MAIL_TREE
    [image] = images(mail)
    assert decode_qr(image.get_content()) == waiting.checkin_code

    events.update_event(db.session.get(Event, event_id), venue_name="Maison de quartier de Villejean")
    updated = parsed(outbox_row(waiting, "invite_updated"))
    assert mime_tree(updated) == SEAT_MAIL_TREE
    [image] = images(updated)
    assert decode_qr(image.get_content()) == waiting.checkin_code
    assert waiting.checkin_code in updated.get_body(("plain",)).get_content()


def test_only_the_seat_mails_of_a_person_holding_a_seat_show_the_code(app_ctx, make_event):
    """Every kind, for a confirmed person: the code (image and text) only in the kinds that declare
    it; for a pending, then a waiting person: in none, the confirmation's tree as without a code."""
    start = utcnow() + timedelta(days=30)
    event_id = make_event(capacity=1, workshops=[dict(key="riaa", title="RIAA", starts_at=start,
                                                      ends_at=start + timedelta(hours=1))])
    assert {name for name, kind in KINDS.items() if kind.checkin_code} == SEAT_KINDS
    confirmed = person(event_id, "Anne")
    pending = person(event_id, "Bleuenn", confirm=False)
    waiting = person(event_id, "Yann")
    assert (pending.status, waiting.status) == (RegistrationStatus.pending, RegistrationStatus.waiting)
    for registration in (confirmed, pending, waiting):
        shows = registration is confirmed
        for row in rows_of_every_kind(registration, f"checkin-{registration.id}"):
            mail = parsed(row)
            expected = shows and row.kind in SEAT_KINDS
            assert len(images(mail)) == (1 if expected else 0), (registration.status, row.kind)
            bodies = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()
            assert (registration.checkin_code in bodies) == expected, (registration.status, row.kind)
            if row.kind in SEAT_KINDS and not expected:
                assert "multipart/related" not in str(mime_tree(mail))


def test_a_mail_sent_after_the_event_is_cancelled_shows_no_code(app_ctx, make_event):
    registration = person(make_event())
    row = outbox_row(registration, "registration_confirmed")
    events.cancel_event(registration.event)
    assert images(parsed(row)) == []


def test_the_development_mailbox_shows_the_qr_code_in_place(app_ctx, make_event, tmp_path):
    """The mail catcher's frame cannot reach the message's parts: it shows the image as a data: URL."""
    from webapp.dev.mailcatcher import MailStore, create_mailbox_app

    registration = person(make_event())
    store = MailStore(tmp_path)
    message_id = store.save(sent_and_parsed(outbox_row(registration, "registration_confirmed"))[0])
    html = create_mailbox_app(store).test_client().get(f"/messages/{message_id}/html").get_data(as_text=True)
    assert "cid:" not in html
    [png] = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert decode_qr(base64.b64decode(png)) == registration.checkin_code


# --- The manage page ------------------------------------------------------------------------------

def test_manage_page_shows_the_code_of_a_confirmed_registration(app, client, make_event):
    reg_id = person_id(app, make_event())
    with app.app_context():
        code = db.session.get(Registration, reg_id).checkin_code
    page = client.get(link(app, "manage", reg_id))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    content = page_text(page)
    assert "Votre code d'accueil" in content
    assert "Montrez ce code à l'accueil le jour de l'événement" in content
    assert re.search(rf'<strong class="checkin-code-text">{code}</strong>', html)
    [svg] = re.findall(r"<svg [^>]*>.*?</svg>", html, flags=re.S)
    assert 'role="img"' in svg
    assert f"<title>QR code de votre code d’accueil {code}</title>" in svg
    assert "<image" not in svg and "href" not in svg  # drawn in place, nothing loaded


@pytest.mark.parametrize("status", ["pending", "waiting"])
def test_manage_page_of_a_person_without_a_seat_shows_no_code(app, client, make_event, status):
    event_id = make_event(capacity=1)
    person_id(app, event_id, "Yann")
    reg_id = person_id(app, event_id, "Anne", confirm=status == "waiting")
    with app.app_context():
        registration = db.session.get(Registration, reg_id)
        assert registration.status == status
        code = registration.checkin_code
    page = client.get(link(app, "manage", reg_id))
    assert page.status_code == 200
    assert code not in page.get_data(as_text=True)
    assert "<svg" not in page.get_data(as_text=True)


@pytest.mark.parametrize("suffix", ["", "/cancel"])
def test_the_checkin_code_opens_no_manage_page(app, client, make_event, suffix):
    """Showing the code at the door lets nobody see, change or cancel the registration."""
    reg_id = person_id(app, make_event())
    with app.app_context():
        registration = db.session.get(Registration, reg_id)
        code = registration.checkin_code
        assert code not in tokens.manage_token(registration)
    for path in (f"/manage/{code}", f"/manage/{code.lower()}"):
        page = client.get(path + suffix)
        assert page.status_code == 404
        assert "Lien non valable" in page_text(page)
    # A form sent with a valid CSRF token (from the real cancel page) but the code as the link.
    token = csrf_token(client, link(app, "manage", reg_id) + "/cancel")
    cancelled = client.post(f"/manage/{code}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 404
    with app.app_context():
        assert db.session.get(Registration, reg_id).status == RegistrationStatus.confirmed


def test_the_qr_code_of_the_manage_page_reads_back_on_a_phone(app, page, live_server, make_event):
    """On a phone-sized screen, the QR code drawn by the page (inline SVG) is read back as the code."""
    reg_id = person_id(app, make_event())
    with app.app_context():
        code = db.session.get(Registration, reg_id).checkin_code
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + link(app, "manage", reg_id))
    qr = page.get_by_role("img", name=french(f"QR code de votre code d'accueil {code}"))
    expect(qr).to_be_visible()
    assert decode_qr(qr.screenshot()) == code
    expect(page.get_by_text(code, exact=True)).to_be_visible()
