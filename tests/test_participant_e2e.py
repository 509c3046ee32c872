"""The participant pages reached from real mails: a real Celery worker sends them to the test
SMTP server, and the test follows their links, as a person would."""
import re

from webapp.extensions import db
from webapp.models import Event, OutboxMail, OutboxStatus, Registration, RegistrationStatus
from webapp.services import registrations, tokens

from . import support


def confirmed(app, event_id, email, first_name):
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        registration = registrations.register(event, first_name=first_name, last_name="Le Goff", email=email,
                                              organisation="", actor_type="asi", language="fr")
        registrations.confirm_address(tokens.confirm_token(registration))
        return registration.id


def link_in(message, kind):
    """The path of the first `kind` link (manage, offers…) in the mail's plain text."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"http://emgav\.test(/{kind}/\S+)", body)
    assert match, f"no /{kind}/ link in:\n{body}"
    return match.group(1)


def calendar_method(message):
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert parts, "no calendar part"
    return parts[0].get_param("method")


def test_lost_link_then_cancel_then_the_next_person_accepts_the_offer(app, client, make_event, worker, smtp_server):
    event_id = make_event(capacity=1)
    anne = confirmed(app, event_id, "anne@example.org", "Anne")
    bleuenn = confirmed(app, event_id, "bleuenn@example.org", "Bleuenn")

    # Anne lost her link: she asks for it, and gets her manage link by mail.
    answer = client.post("/lost-link", data={"email": "anne@example.org", "csrf_token": support.csrf_token(client, "/lost-link")})
    assert answer.status_code == 200
    [links_mail] = smtp_server.wait_for("anne@example.org", kind="lost_links")
    manage = link_in(links_mail, "manage")

    # She cancels from it: her calendar gets the cancellation.
    cancel = manage + "/cancel"
    assert client.post(cancel, data={"csrf_token": support.csrf_token(client, cancel)}).status_code == 200
    [cancelled_mail] = smtp_server.wait_for("anne@example.org", kind="registration_cancelled")
    assert calendar_method(cancelled_mail) == "CANCEL"

    # The freed seat is offered to Bleuenn, who accepts it from the mail's link.
    [offer_mail] = smtp_server.wait_for("bleuenn@example.org", kind="seat_offer")
    offer = link_in(offer_mail, "offers")
    accepted = client.post(offer, data={"answer": "accept", "csrf_token": support.csrf_token(client, offer)})
    assert accepted.status_code == 200
    [invite_mail] = smtp_server.wait_for("bleuenn@example.org", kind="registration_confirmed")
    assert calendar_method(invite_mail) == "REQUEST"

    with app.app_context():
        assert db.session.get(Registration, anne).status == RegistrationStatus.cancelled
        assert db.session.get(Registration, bleuenn).status == RegistrationStatus.confirmed
        event = db.session.get(Event, event_id)
        assert (event.seats_taken, event.waiting_count) == (1, 0)

    # Every mail of the story went out; nothing is left for the worker to do after this test.
    def all_sent():
        with app.app_context():
            return all(row.status == OutboxStatus.sent for row in db.session.query(OutboxMail))

    support.wait_until(all_sent, message="every mail to be sent")
