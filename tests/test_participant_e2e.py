"""The participant pages reached from real mails: a real Celery worker sends them to the test
SMTP server, and the test follows their links, as a person would."""
from webapp.extensions import db
from webapp.models import Event, Registration, RegistrationStatus

from . import support
from .support import invite_of, link_in, submit


def test_lost_link_then_cancel_then_the_next_person_accepts_the_offer(app, client, make_event, worker, smtp_server):
    event_id = make_event(capacity=1)
    anne = support.person_id(app, event_id, "Anne")
    bleuenn = support.person_id(app, event_id, "Bleuenn")

    # Anne lost her link: she asks for it, and gets her manage link by mail.
    assert submit(client, "/lost-link", email="anne@example.org").status_code == 200
    [links_mail] = smtp_server.wait_for("anne@example.org", kind="lost_links")
    manage = link_in(links_mail, "manage")

    # She cancels from it: her calendar gets the cancellation.
    assert submit(client, manage + "/cancel").status_code == 200
    [cancelled_mail] = smtp_server.wait_for("anne@example.org", kind="registration_cancelled")
    method, _ = invite_of(cancelled_mail)
    assert method == "CANCEL"

    # The freed seat is offered to Bleuenn, who accepts it from the mail's link.
    [offer_mail] = smtp_server.wait_for("bleuenn@example.org", kind="seat_offer")
    assert submit(client, link_in(offer_mail, "offers"), answer="accept").status_code == 200
    [invite_mail] = smtp_server.wait_for("bleuenn@example.org", kind="registration_confirmed")
    method, _ = invite_of(invite_mail)
    assert method == "REQUEST"

    with app.app_context():
        assert db.session.get(Registration, anne).status == RegistrationStatus.cancelled
        assert db.session.get(Registration, bleuenn).status == RegistrationStatus.confirmed
        event = db.session.get(Event, event_id)
        assert (event.seats_taken, event.waiting_count) == (1, 0)

    # Every mail of the story went out; nothing is left for the worker to do after this test.
    support.wait_until_all_mail_sent(app)
