"""Issue 2 end to end: register over HTTP, a real Celery worker on Redis sends the "confirm your
address" mail to a real SMTP server, the link in it confirms, and the confirmation mail arrives
with its calendar invite and the QR code of the check-in code (MIME tree, .ics and QR code checked)."""
import html
from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Registration, RegistrationStatus

from . import support
from .support import START, link_in, post_registration

EMAIL = "maelle.kerjean@example.org"


def test_register_confirm_and_receive_the_invite(app, client, worker, smtp_server, make_event):
    make_event(slug="journee-rennes", title="Journée régionale : ESS et solidarité internationale",
               starts_at=START, ends_at=START + timedelta(hours=8), capacity=150)

    # 1. Register on the public form.
    answer = post_registration(client, "journee-rennes", email=EMAIL, first_name="Maëlle", last_name="Kerjean")
    assert answer.status_code == 303
    assert "Vérifiez votre boîte de réception" in client.get(answer.headers["Location"]).get_data(as_text=True)

    # 2. The worker sends "confirm your address"; its link confirms.
    [confirm_mail] = smtp_server.wait_for(EMAIL, kind="confirm_address")
    assert confirm_mail["Auto-Submitted"] == "auto-generated"
    confirm_path = link_in(confirm_mail, "confirm")
    confirmed = client.get(confirm_path)
    assert confirmed.status_code == 200
    assert "/manage/" in confirmed.get_data(as_text=True)
    with app.app_context():
        registration = db.session.scalars(select(Registration)).one()
        assert registration.status == RegistrationStatus.confirmed
        uid, sequence, checkin_code = registration.uid, registration.invite_sequence, registration.checkin_code

    # 3. The confirmation arrives with the invite, and the QR code of the check-in code beside the HTML.
    [mail] = smtp_server.wait_for(EMAIL, kind="registration_confirmed")
    assert mail["Message-ID"] and mail["Date"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/mixed"
    alternative, attachment = mail.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text_part, related, calendar_part = alternative.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, qr_image = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert qr_image.get_content_type() == "image/png"
    assert f'src="cid:{qr_image["Content-ID"].strip("<>")}"' in html_part.get_content()
    assert support.decode_qr(qr_image.get_content()) == checkin_code
    assert checkin_code in text_part.get_content()
    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "REQUEST"
    assert attachment.get_filename().endswith(".ics")
    assert attachment.get_content_type() in ("text/calendar", "application/ics")
    ics = calendar_part.get_payload(decode=True)
    assert attachment.get_payload(decode=True) == ics
    assert "/manage/" in text_part.get_content()
    assert "/manage/" in html.unescape(html_part.get_content())

    # 4. The invite, parsed back.
    calendar = Calendar.from_ical(ics)
    assert calendar["METHOD"] == "REQUEST"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    [vevent] = calendar.walk("VEVENT")
    assert uid in str(vevent["UID"])
    assert int(vevent["SEQUENCE"]) == sequence
    assert vevent.decoded("DTSTAMP").tzinfo is not None
    assert str(vevent["ORGANIZER"]).lower() == "mailto:contact@bretagne-solidaire.bzh"
    attendee = vevent["ATTENDEE"]
    assert str(attendee).lower() == f"mailto:{EMAIL}"
    assert attendee.params["RSVP"] == "FALSE"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert "15 rue Martenot, 35000 Rennes" in str(vevent["LOCATION"])
    assert str(vevent["URL"]).endswith("/events/journee-rennes")
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    start = vevent.decoded("DTSTART")
    assert start == START and start.utcoffset() == timedelta(hours=2)
    assert start.astimezone(ZoneInfo("Europe/Paris")).hour == 9

    # 5. The confirmation link again: a friendly "already confirmed" page; a forged one: friendly too.
    again = client.get(confirm_path)
    assert again.status_code == 409
    assert "déjà été confirmée" in support.page_text(again)
    forged = client.get(support.forge(confirm_path))
    assert forged.status_code == 404
    assert "Lien non valable" in forged.get_data(as_text=True)
    assert len(smtp_server.to(EMAIL)) == 2
