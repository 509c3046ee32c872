from webapp.extensions import db
from webapp.models import Event, OutboxMail, Registration, RegistrationStatus
from webapp.services import registrations, tokens


def test_register_and_confirm_takes_a_seat(app_ctx, make_event):
    event = db.session.get(Event, make_event(capacity=1))
    reg = registrations.register(event, first_name="Anne", last_name="Le Goff", email="Anne@Example.org",
                                 organisation="", actor_type="asi", language="fr")
    assert reg.email == "anne@example.org"
    again = registrations.register(event, first_name="Anne", last_name="Le Goff", email="anne@example.org",
                                   organisation="", actor_type="asi", language="fr")
    assert again.id == reg.id
    assert db.session.query(Registration).count() == 1
    registrations.confirm_address(tokens.confirm_token(reg))
    assert reg.status == RegistrationStatus.confirmed
    assert event.seats_taken == 1
    kinds = sorted(m.kind for m in db.session.query(OutboxMail))
    assert kinds == ["confirm_address", "confirm_address", "registration_confirmed"]
