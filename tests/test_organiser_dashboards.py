"""The dashboards: an event's figures on a small known story (registrations day by day in the event's
time zone, seats, the waiting list, the families of actors among the people registered, confirmed
and present, attendance once the day has passed), the network's view (people who came back, by
address whatever its case, and newcomers), the pages in French and English with their tables, the
SVG pictures, the CSV exports read back, a bounded number of SQL statements, and a benchmark on
20 events × 2,000 registrations (`make bench`)."""
import csv
import io
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, insert, select, text

from webapp.extensions import db
from webapp.models import (
    CheckIn,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    SeatOffer,
    UserRole,
    Workshop,
    WorkshopBooking,
)
from webapp.services import dashboards, registrations, seats
from webapp.services.person_keys import person_key

from . import support
from .support import StatementCounter, logged_in_as, make_user, page_text, person

PARIS = ZoneInfo("Europe/Paris")
START = support.START  # 12 June 2030, 09:30 in Paris


def at(day, hour, minute=0):
    """A moment of June 2030 in Paris."""
    return datetime(2030, 6, day, hour, minute, tzinfo=PARIS)


def new_event(app, workshops=(), **fields):
    """A published event (`fields` override the defaults) with its workshops; returns its id."""
    values = dict(slug=f"journee-{uuid.uuid4().hex[:8]}", title="Journée régionale : ESS et solidarité internationale",
                  starts_at=START, ends_at=START + timedelta(hours=8), contact_email="contact@bretagne-solidaire.bzh",
                  status=EventStatus.published, capacity=None)
    values.update(fields)
    with app.app_context():
        event = Event(**values, workshops=[Workshop(**workshop) for workshop in workshops])
        db.session.add(event)
        db.session.commit()
        return event.id


@pytest.fixture
def story(db_app):
    """An event of 2 seats with a workshop of 1 seat, and four people registering over a week
    (Paris time): Anne (ess, workshop) on the 1st at 10:00, Bleuenn (asi) on the 1st at 23:30,
    Corentin (research, workshop) on the 2nd at 00:30 (still the 1st in UTC), who waits; Deniz (ess)
    on the 4th, address not confirmed. Bleuenn cancels on the 5th: the seat is offered to Corentin,
    who accepts it on the 6th."""
    app = db_app
    event_id = new_event(app, slug="journee", capacity=2,
                         workshops=[dict(key="agro", title="Agroécologie", starts_at=START + timedelta(hours=2),
                                         ends_at=START + timedelta(hours=3), capacity=1)])
    people = {}

    def register(moment, name, **fields):
        with time_machine.travel(moment, tick=False), app.test_request_context():
            event = db.session.get(Event, event_id)
            chosen = [w for w in event.workshops if w.key in fields.pop("workshops", ())]
            people[name] = person(event, name, workshops=chosen, **fields).id

    register(at(1, 10), "Anne", actor_type="ess", workshops=["agro"])
    register(at(1, 23, 30), "Bleuenn", actor_type="asi")
    register(at(2, 0, 30), "Corentin", actor_type="recherche", workshops=["agro"])
    register(at(4, 12), "Deniz", actor_type="ess", confirm=False)
    with time_machine.travel(at(5, 9), tick=False), app.test_request_context():
        registrations.cancel_registration(db.session.get(Registration, people["Bleuenn"]))
        seats.offer_free_seats(event_id)
    with time_machine.travel(at(6, 18), tick=False), app.test_request_context():
        seats.accept_offer(db.session.scalars(select(SeatOffer).filter_by(registration_id=people["Corentin"])).one())
    with app.app_context():
        workshop = db.session.get(Event, event_id).workshops[0].id
        organiser = make_user("anne.organisation@example.org", events=[event_id])
    return {"event": event_id, "workshop": workshop, "organiser": organiser, **people}


def check_in(app, story, name):
    with app.app_context():
        db.session.add(CheckIn(registration_id=story[name], event_id=story["event"]))
        db.session.commit()


def figures_of(app, event_id, now=None):
    with app.test_request_context():
        return dashboards.event_figures(db.session.get(Event, event_id), now=now)


def mix_of(pool):
    """{actor type: (registered, confirmed, present)} of the families with someone registered."""
    return {row.actor_type: (row.registered, row.confirmed, row.present) for row in pool.mix if row.registered}


@support.ON_BOTH_DATABASES
def test_registrations_seats_and_waiting_list_day_by_day_in_the_events_time_zone(db_app, story):
    figures = figures_of(db_app, story["event"])

    assert [(day.day, day.registrations, day.seats, day.waiting) for day in figures.days] == [
        (date(2030, 6, 1), 2, 2, 0),
        (date(2030, 6, 2), 3, 2, 1),  # Corentin, 00:30 in Paris: the 2nd (the 1st in UTC)
        (date(2030, 6, 3), 3, 2, 1),
        (date(2030, 6, 4), 4, 2, 1),
        (date(2030, 6, 5), 4, 2, 0),  # the seat is offered to Corentin: off the list
        (date(2030, 6, 6), 4, 3, 0),  # he accepts it
    ]
    assert (figures.pool.capacity, figures.pool.taken, figures.pool.waiting) == (2, 2, 0)
    workshop = figures.workshops[0]
    assert (workshop.title, workshop.capacity, workshop.taken, workshop.waiting) == ("Agroécologie", 1, 1, 1)


@support.ON_BOTH_DATABASES
def test_the_mix_of_actors_among_registered_confirmed_and_present_follows_check_ins(db_app, story):
    app = db_app
    before = figures_of(app, story["event"])
    assert mix_of(before.pool) == {"ess": (2, 1, 0), "recherche": (1, 1, 0)}
    assert [row.actor_type for row in before.pool.mix][:3] == ["asi", "ess", "collectivite"]  # every family, in order
    assert mix_of(before.workshops[0]) == {"ess": (1, 1, 0), "recherche": (1, 0, 0)}  # Corentin waits for it
    assert before.pool.attendance_rate == 0 and not before.ended

    check_in(app, story, "Anne")
    after = figures_of(app, story["event"], now=START + timedelta(days=1))

    assert mix_of(after.pool) == {"ess": (2, 1, 1), "recherche": (1, 1, 0)}
    assert mix_of(after.workshops[0]) == {"ess": (1, 1, 1), "recherche": (1, 0, 0)}
    assert (after.pool.confirmed, after.pool.present, after.pool.attendance_rate, after.ended) == (2, 1, 50, True)

    with app.app_context():  # a request the organisers declined is no registration any more
        db.session.get(Registration, story["Deniz"]).status = RegistrationStatus.declined
        db.session.commit()
    assert mix_of(figures_of(app, story["event"]).pool) == {"ess": (1, 1, 1), "recherche": (1, 1, 0)}


@pytest.fixture
def network(db_app):
    """Two events of 2030 and one of 2029: Anne comes to all three (her address written with capitals
    once), Bleuenn to the two of 2030, Corentin only to the second, Deniz cancelled at the first."""
    app = db_app
    spring = datetime(2030, 3, 10, 9, tzinfo=PARIS)
    old = new_event(app, slug="2029", title="Journée 2029", starts_at=spring.replace(year=2029),
                    ends_at=spring.replace(year=2029) + timedelta(hours=8))
    first = new_event(app, slug="printemps", title="Printemps", starts_at=spring, ends_at=spring + timedelta(hours=8))
    second = new_event(app, slug="ete", title="Été")
    registered = {}
    for event_id, moment, people in [
        (old, datetime(2029, 2, 1, tzinfo=PARIS), [("Anne", "ess")]),
        (first, datetime(2030, 2, 1, tzinfo=PARIS), [("Anne", "ess"), ("Bleuenn", "asi"), ("Deniz", "autre")]),
        (second, datetime(2030, 5, 1, tzinfo=PARIS), [("Anne", "ess"), ("Bleuenn", "asi"), ("Corentin", "ess")]),
    ]:
        with time_machine.travel(moment, tick=False), app.test_request_context():
            for name, actor_type in people:
                email = "Anne@Example.org" if (name, event_id) == ("Anne", second) else f"{name.lower()}@example.org"
                registered[(name, event_id)] = person(event_id, name, actor_type=actor_type, email=email)
            if event_id == first:
                registrations.cancel_registration(registered[("Deniz", first)])
    with app.app_context():
        admin = make_user("admin@example.org", UserRole.admin)
    return {"old": old, "first": first, "second": second, "admin": admin}


@support.ON_BOTH_DATABASES
def test_the_network_view_counts_people_who_came_back_and_newcomers(db_app, network):
    with db_app.test_request_context():
        figures = dashboards.network_figures(date(2030, 1, 1), date(2030, 12, 31), "Europe/Paris",
                                             now=datetime(2030, 4, 1, tzinfo=PARIS))
        rows = [(item.event.title, item.pool.registered, item.returning, item.newcomers, item.ended, mix_of(item.pool))
                for item in figures.events]

    assert rows == [
        ("Printemps", 2, 1, 1, True, {"ess": (1, 1, 0), "asi": (1, 1, 0)}),  # Anne came in 2029
        ("Été", 3, 2, 1, False, {"ess": (2, 2, 0), "asi": (1, 1, 0)}),  # Anne (capitals) and Bleuenn came back
    ]
    assert (figures.people, figures.several) == (3, 2)  # Anne, Bleuenn, Corentin; Deniz cancelled


def test_the_network_view_keeps_to_its_period(app, network):
    with app.test_request_context():
        figures = dashboards.network_figures(date(2030, 3, 11), date(2030, 12, 31), "Europe/Paris")
    assert [item.event.title for item in figures.events] == ["Été"]
    assert (figures.people, figures.several) == (3, 0)


# --- The pages ---

@pytest.fixture
def organiser(app, story):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, story["organiser"])
    return client


@pytest.mark.parametrize("lang, texts", [
    ("fr", ["Tableau de bord", "Inscriptions au fil du temps", "Places prises et capacité",
            "Liste d'attente au fil du temps", "Familles d'acteurs", "structure de l'ESS",
            "Le taux de présence s'affichera", "1 juin 2030",
            "Leurs inscriptions et leur liste d'attente au fil du temps ne sont pas montrées"]),
    ("en", ["Dashboard", "Registrations over time", "Seats taken and capacity", "Waiting list over time",
            "Families of actors", "(SSE) organisation", "The attendance rate will show", "Jun 1, 2030",
            "Their registrations and waiting list over time are not shown"]),
])
def test_the_event_dashboard_shows_each_chart_with_its_table(app, story, organiser, lang, texts):
    response = organiser.get(f"/organiser/events/{story['event']}/dashboard?lang={lang}")

    assert response.status_code == 200
    text = page_text(response)
    for expected in texts:
        assert expected in text
    body = response.get_data(as_text=True)
    assert body.count('<img class="chart-picture"') == 5  # registrations, seats, waiting, mix, workshop's mix
    assert body.count("<table class=\"data-table chart-table\">") == 5  # none wide
    assert f'src="/organiser/events/{story["event"]}/dashboard/registrations.svg?lang={lang}"' in body


def test_an_event_without_registrations_has_its_dashboard_too(app, make_event):
    event_id = make_event(capacity=30, status=EventStatus.draft)
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, make_user("anne.organisation@example.org", events=[event_id]))

    response = client.get(f"/organiser/events/{event_id}/dashboard")

    assert response.status_code == 200
    assert "Aucune inscription pour l'instant." in page_text(response)
    assert "Ateliers :" not in page_text(response)  # it has none
    assert response.get_data(as_text=True).count('<img class="chart-picture"') == 1  # the seats: 0 of 30
    assert client.get(f"/organiser/events/{event_id}/dashboard/mix.svg").status_code == 404


def test_the_menus_lead_to_the_dashboards(app, story, organiser):
    page = organiser.get(f"/organiser/events/{story['event']}/dashboard").get_data(as_text=True)
    assert f'<a href="/organiser/events/{story["event"]}/dashboard" aria-current="page">Tableau de bord</a>' in page
    assert "/organiser/network" not in page  # admins only
    admin = app.test_client()
    with app.app_context():
        logged_in_as(admin, make_user("admin@example.org", UserRole.admin))
    assert '<a href="/organiser/network">Vue du réseau</a>' in admin.get("/organiser/").get_data(as_text=True)


def test_attendance_shows_once_the_day_has_passed(app, story):
    check_in(app, story, "Anne")
    with time_machine.travel(START + timedelta(days=1)), app.app_context():
        organiser = logged_in_as(app.test_client(), story["organiser"])
        response = organiser.get(f"/organiser/events/{story['event']}/dashboard")
        picture = organiser.get(f"/organiser/events/{story['event']}/dashboard/attendance.svg")

    text = page_text(response)
    assert "Taux de présence" in text and "Le taux de présence s'affichera" not in text
    assert "Personnes enregistrées à l'accueil par rapport aux places réservées : 1 sur 2" in text
    assert picture.status_code == 200


def test_a_chart_is_an_svg_image_without_script_or_remote_part(app, story, organiser):
    response = organiser.get(f"/organiser/events/{story['event']}/dashboard/mix.svg?lang=en")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "<script" not in svg and "cdn" not in svg.lower() and "href=\"http" not in svg
    assert "(SSE) organisation" in svg and "Present" in svg
    # No picture for what does not exist, nor for the attendance before the day.
    assert organiser.get(f"/organiser/events/{story['event']}/dashboard/attendance.svg").status_code == 404
    assert organiser.get(f"/organiser/events/{story['event']}/dashboard/nope.svg").status_code == 404


def read_csv(response):
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return [support.plain_list(row) for row in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")]


def test_the_event_figures_export_as_csv(app, story, organiser):
    rows = read_csv(organiser.get(f"/organiser/events/{story['event']}/dashboard/figures.csv"))

    assert rows[0] == ["Inscriptions au fil du temps"]
    assert rows[1] == ["Jour", "Inscriptions (cumul)", "Places réservées (cumul)"]
    assert rows[2] == ["2030-06-01", "2", "2"]
    assert rows[7] == ["2030-06-06", "4", "3"]
    assert ["structure de l'ESS", "2", "1", "0"] in rows
    assert ["Journée régionale : ESS et solidarité internationale", "2", "2", "100 %", "0"] in rows


def test_the_network_view_page_chart_and_export(app, network):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, network["admin"])
    period = "start=2030-01-01&end=2030-12-31"

    for lang, expected in [("fr", "Personnes revenues et nouvelles"), ("en", "People who came back and newcomers")]:
        response = client.get(f"/organiser/network?{period}&lang={lang}")
        assert response.status_code == 200
        assert expected in page_text(response)
    assert "2 événements" in page_text(client.get(f"/organiser/network?{period}&lang=fr"))
    svg = client.get(f"/organiser/network/returning.svg?{period}")
    assert svg.status_code == 200 and b"<script" not in svg.get_data()

    rows = read_csv(client.get(f"/organiser/network/figures.csv?{period}"))
    assert ["Printemps (10/03/2030)", "1", "1"] in rows
    assert ["Été (12/06/2030)", "2", "1"] in rows


def test_a_wrong_period_says_so_and_shows_the_last_twelve_months(app, network):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, network["admin"])
    response = client.get("/organiser/network?start=2030-12-31&end=2030-01-01")

    assert response.status_code == 422
    assert "La fin de la période ne peut pas précéder son début." in page_text(response)
    assert client.get("/organiser/network?start=pas-une-date").status_code == 422


# --- Statements and benchmark ---

def bulk_people(event_ids, count, workshop_ids=None):
    """`count` registrations per event inserted in bulk (no mail): 3 in 4 confirmed, the others
    waiting; actor types in turn; one address in 4 shared by every event; one in 3 checked in; one
    in 2 booked in the event's workshop (of `workshop_ids`)."""
    now = support.START - timedelta(days=20)
    types = ["asi", "ess", "collectivite", "recherche", "paysanne", "entreprise", "particulier", "autre"]
    for index, event_id in enumerate(event_ids):
        addresses = [f"personne{number}@example.org" if number % 4 == 0 else f"p{index}-{number}@example.org"
                     for number in range(count)]
        rows = [dict(uid=f"00000000-0000-4000-{event_id:04d}-{number:012d}", event_id=event_id,
                     first_name=f"Prénom{number}", last_name=f"Nom{number:05d}",
                     email=addresses[number], person_key=person_key(addresses[number]),
                     organisation="Réseau", actor_type=types[number % len(types)], language="fr",
                     status=RegistrationStatus.confirmed if number % 4 else RegistrationStatus.waiting,
                     waiting_since=None if number % 4 else now + timedelta(minutes=number),
                     privacy_consent_at=now, created_at=now + timedelta(minutes=number),
                     confirmed_at=now + timedelta(minutes=number), updated_at=now)
                for number in range(count)]
        db.session.execute(insert(Registration), rows)
        ids = db.session.scalars(select(Registration.id).where(Registration.event_id == event_id)
                                 .order_by(Registration.id)).all()
        db.session.execute(insert(CheckIn), [dict(registration_id=rid, event_id=event_id, checked_in_at=now)
                                             for rid in ids[::3]])
        if workshop_ids:
            db.session.execute(insert(WorkshopBooking), [
                dict(registration_id=rid, workshop_id=workshop_ids[index], status="booked", created_at=now,
                     updated_at=now) for rid in ids[::2]])
    db.session.commit()


def two_workshops(day=0):
    return [dict(key=f"w{n}", title=f"Atelier {n}", starts_at=START + timedelta(days=day, hours=n),
                 ends_at=START + timedelta(days=day, hours=n + 1), capacity=500) for n in (1, 2)]


@support.ON_BOTH_DATABASES
def test_the_figures_take_the_same_number_of_statements_whatever_the_size(db_app):
    small, large = new_event(db_app, workshops=two_workshops()), new_event(db_app, workshops=two_workshops())
    with db_app.app_context():
        bulk_people([small], 10)
        bulk_people([large], 400)
        counted = []
        for event_id in (small, large):
            db.session.expire_all()
            event = db.session.get(Event, event_id)
            with StatementCounter(db.engine) as statements:
                dashboards.event_figures(event)
            counted.append(statements.count)
        with StatementCounter(db.engine) as network:
            dashboards.network_figures(date(2000, 1, 1), date(2100, 1, 1), "Europe/Paris")

    assert counted[0] == counted[1] <= 4, counted  # workshops, registrations' mix, workshops' mix, days
    assert network.count <= 4, network.count  # events, mix, returning people, people


@pytest.mark.bench
@support.ON_BOTH_DATABASES
def test_dashboards_of_20_events_with_2000_registrations_each(db_app, capsys):
    """The benchmark of `make bench`: the time of the figures of one event and of the network's
    view of 20 events × 2,000 registrations, and as a ratio of the time of counting the same rows
    (a plain `SELECT count(*)` of the registrations joined to their check-ins)."""
    event_ids = [new_event(db_app, starts_at=START + timedelta(days=n), ends_at=START + timedelta(days=n, hours=8),
                           workshops=two_workshops(n)) for n in range(20)]
    database = db_app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    with db_app.app_context():
        workshops = [db.session.get(Event, event_id).workshops[0].id for event_id in event_ids]
        bulk_people(event_ids, 2000, workshops)
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 40_000
        db.session.execute(text("ANALYZE"))  # the planner's statistics, as a database in use has them
        db.session.commit()

        def timed(work):
            db.session.expire_all()
            with StatementCounter(db.engine) as statements:
                started = time.perf_counter()
                result = work()
                elapsed = time.perf_counter() - started
            return result, elapsed, statements.count

        def baseline():
            return db.session.scalar(select(func.count()).select_from(Registration)
                                     .outerjoin(CheckIn, CheckIn.registration_id == Registration.id))

        def one_event():
            return dashboards.event_figures(db.session.get(Event, event_ids[0]))

        def all_events():
            return dashboards.network_figures(date(2030, 1, 1), date(2030, 12, 31), "Europe/Paris")

        for work in (baseline, one_event, all_events):  # statements compiled, caches warm
            timed(work)
        _, base, _ = timed(baseline)
        figures, one, one_statements = timed(one_event)
        network, every, network_statements = timed(all_events)

    assert figures.pool.registered == 2000 and len(network.events) == 20
    assert network.several == 500  # one address in 4 comes to every event
    with capsys.disabled():
        print(f"\n[benchmark] {database}: baseline, SELECT count(*) of 40,000 registrations and their check-ins: "
              f"{base * 1000:.1f} ms")
        print(f"[benchmark] {database}: dashboard of one event of 2,000 registrations: {one * 1000:.1f} ms, "
              f"{one_statements} SQL statements, {one / base:.1f} × the baseline")
        print(f"[benchmark] {database}: network view of 20 events × 2,000 registrations: {every * 1000:.1f} ms, "
              f"{network_statements} SQL statements, {every / base:.1f} × the baseline")
