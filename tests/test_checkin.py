"""Check-in at the door: the service (find by code or name, check in, undo, walk-ins, attendance
sheets), the page as a browser without script uses it (forms, then redirects) and as the page's
script uses it (JSON), and what the check-in code and the manage link must not open."""
import re
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import CheckIn, Event, JournalEntry, OutboxMail, Registration, RegistrationStatus, User, UserRole
from webapp.services import checkin, registrations
from webapp.services.checkin import CheckInWarning, Outcome
from webapp.services.errors import RegistrationError

from . import support
from .support import logged_in_as, make_user, page_text, person
from .test_concurrency import run_together, target  # noqa: F401 (the fixture: SQLite and PostgreSQL)

AGRO = dict(key="agro", title="Agroécologie", starts_at=support.START + timedelta(hours=5),
            ends_at=support.START + timedelta(hours=6))
CLIMAT = dict(key="climat", title="Fresque du climat", starts_at=support.START + timedelta(hours=1),
              ends_at=support.START + timedelta(hours=2), capacity=1)


@pytest.fixture
def day(app, make_event):
    """An event of 3 seats (Anne, Yann seated; Bleuenn waiting; Gwen to confirm; Loeiz cancelled), its
    organiser; returns ids by name, and `event`, `organiser`."""
    event_id = make_event(capacity=3, starts_at=support.START, ends_at=support.START + timedelta(hours=8),
                          workshops=[AGRO, CLIMAT])
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        workshops = {w.key: w for w in event.workshops}
        ids = {
            "event": event_id,
            "Anne": person(event, "Anne", organisation="Réseau Bretagne Solidaire",
                           workshops=[workshops["agro"], workshops["climat"]]).id,
            "Yann": person(event, "Yann", last_name="Kerjean").id,
            "Loeiz": person(event, "Loeiz").id,
        }
        registrations.cancel_registration(db.session.get(Registration, ids["Loeiz"]))
        ids["Maela"] = person(event, "Maela").id  # takes Loeiz's seat: 3 seats taken
        ids["Bleuenn"] = person(event, "Bleuenn").id
        ids["Gwen"] = person(event, "Gwen", confirm=False).id
        ids["organiser"] = make_user("accueil@example.org", UserRole.organiser, events=[event_id])
    return ids


def reg(registration_id):
    return db.session.get(Registration, registration_id)


def organiser(ids):
    return db.session.get(User, ids["organiser"])


def code_of(app, registration_id):
    with app.app_context():
        return reg(registration_id).checkin_code


# --- The service -------------------------------------------------------------------------------

def test_codes_are_found_as_typed_or_scanned_and_only_for_their_event(day, make_event, app_ctx):
    other = db.session.get(Event, make_event())
    event = db.session.get(Event, day["event"])
    anne = reg(day["Anne"])
    code = anne.checkin_code
    spaced = f" {code[:4].lower()} {code[4:8]}-{code[8:]} "
    for text in (code, spaced, f"https://emgav.test/checkin/{code}"):
        assert checkin.find_by_code(event, text) == anne
    assert checkin.find_by_code(event, "") is None
    assert checkin.find_by_code(event, code[:-1]) is None
    assert checkin.find_by_code(other, code) is None


def test_search_by_name_or_organisation(day, app_ctx):
    event = db.session.get(Event, day["event"])

    found, total = checkin.search(event, "kerj")
    assert [r.id for r in found] == [day["Yann"]] and total == 1
    found, _ = checkin.search(event, "bretagne solidaire")
    assert [r.id for r in found] == [day["Anne"]]
    found, total = checkin.search(event, "le goff")
    assert total == 5 and [r.first_name for r in found] == ["Anne", "Bleuenn", "Gwen", "Loeiz", "Maela"]


def test_check_in_once_then_it_says_by_whom_and_undo(day, app_ctx):
    by = organiser(day)
    anne = reg(day["Anne"])

    first = checkin.check_in(anne, by, request_id="r1")
    again = checkin.check_in(reg(day["Anne"]), by, request_id="r2")
    retry = checkin.check_in(reg(day["Anne"]), by, request_id="r1")

    assert first.outcome == Outcome.checked_in and first.warnings == []
    assert again.outcome == Outcome.already_checked_in and again.warnings == [CheckInWarning.already_checked_in]
    assert again.checkin.checked_in_by.email == "accueil@example.org"
    assert retry.outcome == Outcome.checked_in  # the same request sent again: a success, not a warning
    assert db.session.scalar(select(func.count()).select_from(CheckIn)) == 1
    assert checkin.present_count(db.session.get(Event, day["event"])) == 1

    assert checkin.undo_check_in(reg(day["Anne"]), by) is True
    assert checkin.undo_check_in(reg(day["Anne"]), by) is False
    assert reg(day["Anne"]).checkin is None
    actions = db.session.scalars(select(JournalEntry.action).order_by(JournalEntry.id)).all()
    assert actions == ["checked_in", "checkin_undone"]


@pytest.mark.parametrize("name, warning", [("Bleuenn", CheckInWarning.waiting), ("Gwen", CheckInWarning.pending),
                                           ("Loeiz", CheckInWarning.cancelled)])
def test_only_a_confirmed_registration_is_checked_in(day, app_ctx, name, warning):
    result = checkin.check_in(reg(day[name]), organiser(day))

    assert result.outcome == Outcome.refused and result.warnings == [warning]
    assert db.session.scalar(select(func.count()).select_from(CheckIn)) == 0


def test_an_offered_seat_is_a_warning(day, app_ctx):
    registrations.cancel_registration(reg(day["Yann"]))
    from webapp.services import seats
    seats.offer_free_seats(day["event"])
    assert reg(day["Bleuenn"]).status == RegistrationStatus.offered

    assert checkin.warnings(reg(day["Bleuenn"])) == [CheckInWarning.offered]


def test_a_walk_in_without_an_address_takes_a_seat_and_is_checked_in(app_ctx, make_event):
    event_id = make_event(capacity=2)
    user_id = make_user("accueil@example.org", UserRole.organiser, events=[event_id])
    by = db.session.get(User, user_id)
    event = db.session.get(Event, event_id)

    first = checkin.add_walk_in(event, by, first_name="Nolwenn", last_name="Riou", email=None, organisation="",
                                actor_type="paysanne", language="fr")
    second = checkin.add_walk_in(db.session.get(Event, event_id), by, first_name="Tangi", last_name="Riou",
                                 email=None, organisation="Terres", actor_type="ess", language="fr")
    with pytest.raises(RegistrationError) as refused:
        checkin.add_walk_in(db.session.get(Event, event_id), by, first_name="Soizic", last_name="Riou", email=None,
                            organisation="", actor_type="ess", language="fr")

    assert refused.value.code == "full"
    assert [(r.status, r.walk_in, r.email, r.checkin is not None) for r in (reg(first.id), reg(second.id))] == [
        (RegistrationStatus.confirmed, True, None, True)] * 2
    assert db.session.get(Event, event_id).seats_taken == 2
    support.assert_counters_match_rows(event_id)
    assert db.session.scalars(select(OutboxMail)).all() == []  # no address: no mail at all
    assert Counter(db.session.scalars(select(JournalEntry.action))) == {"walk_in_added": 2, "checked_in": 2}


def test_a_walk_in_with_an_address_gets_the_usual_confirmation(day, app_ctx):
    event = db.session.get(Event, day["event"])
    event.capacity = 10
    db.session.commit()
    by = organiser(day)
    # People are waiting: a newcomer may not take a seat before them, at the door neither.
    with pytest.raises(RegistrationError) as refused:
        checkin.add_walk_in(event, by, first_name="Nolwenn", last_name="Riou", email="nolwenn@example.org",
                            organisation="", actor_type="ess", language="en")
    assert refused.value.code == "full"
    registrations.cancel_registration(reg(day["Bleuenn"]))

    walk_in = checkin.add_walk_in(db.session.get(Event, day["event"]), by, first_name="Nolwenn", last_name="Riou",
                                  email="Nolwenn@Example.org", organisation="", actor_type="ess", language="en")
    with pytest.raises(RegistrationError) as twice:
        checkin.add_walk_in(db.session.get(Event, day["event"]), by, first_name="Nolwenn", last_name="Riou",
                            email="nolwenn@example.org", organisation="", actor_type="ess", language="en")

    assert twice.value.code == "already_registered"
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.registration_id == walk_in.id)).one()
    assert (mail.kind, mail.recipient, mail.language) == ("registration_confirmed", "nolwenn@example.org", "en")
    support.assert_counters_match_rows(day["event"])


def test_attendance_sheets_list_the_seated_people_by_last_name(day, app_ctx):
    event = db.session.get(Event, day["event"])
    agro = next(w for w in event.workshops if w.key == "agro")

    assert [r.first_name for r in checkin.attendance(event)] == ["Yann", "Anne", "Maela"]  # Kerjean, Le Goff…
    assert [r.first_name for r in checkin.attendance(event, agro)] == ["Anne"]


# --- Concurrency ---------------------------------------------------------------------------------

def published_event():
    """A published event of its own in the app's database (inside a request context)."""
    start = support.START
    event = Event(slug=f"jour-{uuid.uuid4().hex[:8]}", title="Journée", starts_at=start,
                  ends_at=start + timedelta(hours=8), contact_email="contact@example.org", status="published")
    db.session.add(event)
    db.session.commit()
    return event


def test_twenty_simultaneous_check_ins_of_one_person_give_one(target):  # noqa: F811
    _, app = target
    with app.test_request_context():
        event = published_event()
        registration_id = person(event, "Anne").id
        user_ids = [make_user(f"accueil{i}-{uuid.uuid4().hex[:6]}@example.org", events=[event.id]) for i in range(2)]

    def check_in(n):
        def call():
            return checkin.check_in(reg(registration_id), db.session.get(User, user_ids[n % 2]),
                                    request_id=f"request-{n}").outcome
        return call

    results = run_together(app, [check_in(n) for n in range(20)])

    assert Counter(results) == {Outcome.checked_in: 1, Outcome.already_checked_in: 19}, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckIn)
                                 .where(CheckIn.registration_id == registration_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)
                                 .where(JournalEntry.action == "checked_in")) == 1


ROUNDS = 25


def test_a_check_in_and_a_cancellation_at_once_never_store_an_arrival_after_the_cancellation(target):  # noqa: F811
    """Each round: the person cancels while two organisers check them in, all at the same moment.
    Either the cancellation is stored first (both check-ins refused, « cancelled »), or a check-in
    is (then the cancellation goes on: the arrival stays). The journal, in the order things were
    stored, never shows an arrival after the cancellation."""
    _, app = target
    with app.test_request_context():
        event = published_event()
        event_id = event.id
        people = [person(event, f"Personne{n}").id for n in range(ROUNDS)]
        user_ids = [make_user(f"accueil{i}-{uuid.uuid4().hex[:6]}@example.org", events=[event_id]) for i in range(2)]

    def cancel(registration_id):
        def call():
            return registrations.cancel_registration(reg(registration_id), by=db.session.get(User, user_ids[0])).status
        return call

    def check_in(registration_id, n):
        def call():
            result = checkin.check_in(reg(registration_id), db.session.get(User, user_ids[n]),
                                      request_id=f"request-{registration_id}-{n}")
            return result.outcome, result.warnings
        return call

    for registration_id in people:
        cancelled, *check_ins = run_together(app, [cancel(registration_id), check_in(registration_id, 0),
                                                   check_in(registration_id, 1)])

        assert cancelled == RegistrationStatus.cancelled, cancelled
        with app.app_context():
            actions = [entry.action for entry in db.session.scalars(
                select(JournalEntry).where(JournalEntry.event_id == event_id).order_by(JournalEntry.id))
                if entry.details.get("registration_id") == registration_id]
            stored = db.session.scalar(select(func.count()).select_from(CheckIn)
                                       .where(CheckIn.registration_id == registration_id))
        if stored:  # a check-in came first; the other one found it, or found the cancellation after it
            assert actions == ["checked_in", "registration_cancelled"], actions
            outcomes = sorted(outcome for outcome, _ in check_ins)
            assert outcomes in ([Outcome.already_checked_in, Outcome.checked_in],
                                [Outcome.checked_in, Outcome.refused]), check_ins
        else:  # the cancellation came first: both check-ins refused, saying why
            assert actions == ["registration_cancelled"], actions
            assert check_ins == [(Outcome.refused, [CheckInWarning.cancelled])] * 2, check_ins


@support.ON_POSTGRESQL
def test_a_person_shown_before_they_cancelled_is_not_checked_in_after(db_app):
    """The card was read (the person had a seat), the person cancels at that moment, then the
    organiser taps « check in »: refused, the cancellation is seen. On SQLite this cannot happen
    (a transaction holds the write lock from its first read), so the test runs on PostgreSQL."""
    app = db_app
    with app.test_request_context():
        event = published_event()
        registration_id = person(event, "Anne").id
        user_id = make_user(f"accueil-{uuid.uuid4().hex[:6]}@example.org", events=[event.id])

    with app.test_request_context():
        shown = reg(registration_id)
        assert shown.status == RegistrationStatus.confirmed
        [cancelled] = run_together(app, [lambda: registrations.cancel_registration(reg(registration_id)).status])
        assert cancelled == RegistrationStatus.cancelled

        result = checkin.check_in(shown, db.session.get(User, user_id))

        assert (result.outcome, result.warnings) == (Outcome.refused, [CheckInWarning.cancelled])
        assert db.session.scalar(select(func.count()).select_from(CheckIn)
                                 .where(CheckIn.registration_id == registration_id)) == 0


# --- The page ----------------------------------------------------------------------------------

@pytest.fixture
def desk(app, day):
    """The test client, logged in as the event's organiser."""
    with app.app_context():
        return logged_in_as(app.test_client(), day["organiser"])


def page_url(ids, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/organiser/events/{ids['event']}/checkin" + (f"?{query}" if query else "")


def post_check_in(client, ids, code, json=False, **data):
    token = support.csrf_token_in(client.get(page_url(ids)).get_data(as_text=True))
    headers = {"Accept": "application/json"} if json else {}
    return client.post(page_url(ids), data=dict(data, code=code, csrf_token=token), headers=headers)


def test_the_page_finds_a_person_by_code_and_checks_them_in(app, day, desk):
    code = code_of(app, day["Anne"])

    card = desk.get(page_url(day, code=code.lower()))
    assert card.status_code == 200
    assert card.headers["Permissions-Policy"].startswith("camera=(self)")
    text = page_text(card)
    assert "Anne Le Goff" in text and "Réseau Bretagne Solidaire" in text
    assert "Agroécologie" in text and "Fresque du climat" in text
    assert "Attention" not in text

    done = post_check_in(desk, day, code, request_id="abc")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"registration={day['Anne']}")
    text = page_text(desk.get(done.headers["Location"]))
    assert "Arrivée enregistrée : Anne Le Goff." in text
    assert "Annuler l'arrivée" in text and "1 arrivée enregistrée" in text

    # Sent again (the back button, a second tap): one arrival, and the page says who did it, and when.
    again = post_check_in(desk, day, code, request_id="def")
    text = page_text(desk.get(again.headers["Location"]))
    assert re.search(r"Anne Le Goff : Arrivée déjà enregistrée le \d\d/\d\d/\d{4} \d\d:\d\d par accueil@example.org",
                     text), text


def test_an_unknown_code_is_a_form_error(app, day, desk):
    response = desk.get(page_url(day, code="AAAABBBBCCCC"))

    assert response.status_code == 422
    assert "Aucune inscription à cet événement n'a ce code." in page_text(response)


def test_search_then_tap_a_name(app, day, desk):
    results = desk.get(page_url(day, q="kerjean"))
    assert "1 personne trouvée" in page_text(results)
    link = f"/organiser/events/{day['event']}/checkin?registration={day['Yann']}"
    assert link in results.get_data(as_text=True)

    card = page_text(desk.get(link))
    assert "Yann Kerjean" in card and "Enregistrer l'arrivée" in card


@pytest.mark.parametrize("name, warning", [
    ("Bleuenn", "Sur la liste d'attente (position 1) : cette personne n'a pas de place."),
    ("Gwen", "Adresse jamais confirmée : cette personne n'a pas de place."),
    ("Loeiz", "Inscription annulée le"),
])
def test_a_person_without_a_seat_is_shown_with_a_warning_and_not_checked_in(app, day, desk, name, warning):
    card = page_text(desk.get(page_url(day, registration=day[name])))
    assert warning in card and "Enregistrer l'arrivée" not in card

    refused = post_check_in(desk, day, code_of(app, day[name]))
    assert warning in page_text(desk.get(refused.headers["Location"]))
    with app.app_context():
        assert db.session.scalars(select(CheckIn)).all() == []


def test_undo_from_the_page(app, day, desk):
    post_check_in(desk, day, code_of(app, day["Yann"]))
    token = support.csrf_token_in(desk.get(page_url(day)).get_data(as_text=True))

    undone = desk.post(f"/organiser/events/{day['event']}/checkin/{day['Yann']}/undo", data={"csrf_token": token})

    assert "Arrivée annulée : Yann Kerjean." in page_text(desk.get(undone.headers["Location"]))
    with app.app_context():
        assert db.session.scalars(select(CheckIn)).all() == []


def test_the_script_gets_json_and_a_retry_is_a_success(app, day, desk):
    code = code_of(app, day["Anne"])

    first = post_check_in(desk, day, code, json=True, request_id="page-1")
    retry = post_check_in(desk, day, code, json=True, request_id="page-1")
    other = post_check_in(desk, day, code, json=True, request_id="page-2")
    waiting = post_check_in(desk, day, code_of(app, day["Bleuenn"]), json=True, request_id="page-3")
    unknown = post_check_in(desk, day, "AAAABBBBCCCC", json=True)

    assert first.json["outcome"] == retry.json["outcome"] == "checked_in"
    assert first.json["person"]["name"] == "Anne Le Goff"
    assert first.json["person"]["workshops"][0].startswith("Fresque du climat")
    assert other.json["outcome"] == "already_checked_in"
    assert "par accueil@example.org" in other.json["message"]
    assert waiting.json["outcome"] == "refused" and "liste d'attente" in support.plain(waiting.json["message"])
    assert unknown.status_code == 404 and unknown.json["outcome"] == "not_found"


def test_walk_in_from_the_page(app, day, desk):
    with app.app_context():
        db.session.get(Event, day["event"]).capacity = 10
        registrations.cancel_registration(reg(day["Bleuenn"]))  # nobody waiting any more
    path = f"/organiser/events/{day['event']}/checkin/walk-in"

    missing = support.submit(desk, path, first_name="Nolwenn")
    assert missing.status_code == 422
    added = support.submit(desk, path, first_name="Nolwenn", last_name="Riou", organisation="Terres de Bretagne",
                           actor_type="paysanne", privacy_consent="y")

    assert added.status_code == 302
    text = page_text(desk.get(added.headers["Location"]))
    assert "Nolwenn Riou : inscription ajoutée à l'accueil, arrivée enregistrée." in text
    assert "venue sans inscription" in text
    with app.app_context():
        walk_in = db.session.scalars(select(Registration).where(Registration.walk_in)).one()
        assert (walk_in.email, walk_in.status, walk_in.checkin is not None) == (None, "confirmed", True)
    sheet = page_text(desk.get(f"/organiser/events/{day['event']}/attendance"))
    assert "RIOU Nolwenn" in sheet and "Terres de Bretagne" in sheet
    # The lists of the back office show that there is no address.
    assert "aucune (venue sans inscription)" in page_text(desk.get(f"/organiser/events/{day['event']}/registrations"))


def test_a_full_event_refuses_a_walk_in(app, day, desk):
    response = support.submit(desk, f"/organiser/events/{day['event']}/checkin/walk-in", first_name="Nolwenn",
                              last_name="Riou", actor_type="ess", privacy_consent="y")

    assert response.status_code == 422
    assert "Plus aucune place libre" in page_text(response)


def test_attendance_sheets(app, day, desk):
    with app.app_context():
        agro = next(w.id for w in db.session.get(Event, day["event"]).workshops if w.key == "agro")

    sheet = page_text(desk.get(f"/organiser/events/{day['event']}/attendance"))
    workshop_sheet = page_text(desk.get(f"/organiser/events/{day['event']}/attendance?workshop={agro}"))

    assert sheet.index("KERJEAN Yann") < sheet.index("LE GOFF Anne") < sheet.index("LE GOFF Maela")
    assert "Bleuenn" not in sheet and "Loeiz" not in sheet and "Signature" in sheet
    assert "LE GOFF Anne" in workshop_sheet and "Yann" not in workshop_sheet


# --- What the code and the manage link must not open -------------------------------------------

def test_the_check_in_code_opens_no_participant_page(app, day, client):
    code = code_of(app, day["Anne"])

    for path in (f"/manage/{code}", f"/manage/{code}/cancel", f"/confirm/{code}", f"/offers/{code}"):
        assert client.get(path).status_code in (404, 410), path
    assert client.get(f"/organiser/events/{day['event']}/checkin?code={code}").status_code == 302  # to log in


def test_the_manage_link_checks_nobody_in(app, day, desk):
    manage = support.personal_link(app, "manage", day["Anne"])
    token = manage.rsplit("/", 1)[1]

    # Its token is no check-in code, neither in the page nor as a check-in…
    assert desk.get(page_url(day, code=token)).status_code == 422
    assert post_check_in(desk, day, token, json=True).status_code == 404
    # …and a participant with the link has no way into the check-in.
    participant = app.test_client()
    assert participant.get(manage).status_code == 200
    answer = participant.post(page_url(day), data={"code": code_of(app, day["Anne"])})
    assert answer.status_code in (302, 400)
    with app.app_context():
        assert db.session.scalars(select(CheckIn)).all() == []


@pytest.mark.parametrize("status", [s for s in RegistrationStatus if s != RegistrationStatus.confirmed])
def test_every_status_without_a_seat_has_its_warning(app, day, desk, status):
    with app.app_context():
        registration = reg(day["Yann"])
        registration.status = status
        registration.cancelled_at = registration.waiting_since = registration.updated_at
        db.session.commit()
        assert checkin.warnings(reg(day["Yann"])) == [CheckInWarning(status.value)]

    card = desk.get(page_url(day, registration=day["Yann"]))

    assert card.status_code == 200
    text = page_text(card)
    assert "Attention :" in text and "n'a pas de place" in text or "Inscription annulée" in text
    assert "Enregistrer l'arrivée" not in text
