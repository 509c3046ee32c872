"""The `emgav` command line as a person runs it (subprocesses): `db upgrade` on SQLite and
PostgreSQL, `seed-demo`, `events import`; then the rules of the event import service itself."""
import sqlite3
import textwrap
import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import select

from webapp.cli import DEMO_EVENT_FILE
from webapp.config import PROJECT_ROOT
from webapp.extensions import db
from webapp.models import Event, EventStatus, OutboxMail, Workshop
from webapp.services import event_files, events

from . import support
from .support import DEMO_SLUG, person

PARIS = ZoneInfo("Europe/Paris")
TABLES = {"events", "workshops", "registrations", "workshop_bookings", "seat_offers", "outbox", "alembic_version"}


@pytest.fixture
def sqlite_env(base_env, tmp_path):
    """The test environment on a fresh, empty SQLite file (and away from the suite's Redis, whose
    worker works on the suite's database)."""
    return dict(base_env, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite'}",
                REDIS_URL=f"redis://127.0.0.1:{support.free_port()}/0")


def sqlite_rows(env, query):
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as connection:
        return connection.execute(query).fetchall()


def pg_rows(env, query):
    with psycopg.connect(env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")) as connection:
        return connection.execute(query).fetchall()


def assert_clean_failure(result, *messages):
    """Exit code 1, each message on stderr (as `plain` text), no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    for message in messages:
        assert message in support.plain(result.stderr)
    assert "Traceback" not in result.stdout + result.stderr


def event_file(tmp_path, body, name="event.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


MINIMAL_EVENT = """\
    slug = "atelier-ess"
    title = "Atelier ESS"
    status = "published"
    starts_at = 2027-03-11T14:00:00
    ends_at = 2027-03-11T17:00:00
    venue_name = "Maison des associations"
    venue_address = "6 cours des Alliés, 35000 Rennes"
    contact_email = "contact@bretagne-solidaire.bzh"
    capacity = 40
    """


# --- db upgrade ---

def test_db_upgrade_on_a_fresh_sqlite_file(sqlite_env):
    result = support.run_emgav(sqlite_env, "db", "upgrade")

    assert "Running upgrade" in result.stderr
    tables = {name for (name,) in sqlite_rows(sqlite_env, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert TABLES <= tables
    assert sqlite_rows(sqlite_env, "SELECT version_num FROM alembic_version")
    support.run_emgav(sqlite_env, "db", "upgrade")  # a second time: nothing to do, no error


def test_db_upgrade_gives_existing_events_french_texts(sqlite_env):
    """Events created before they had a language (migration 0003_event_content_language) are French."""
    support.run_emgav(sqlite_env, "db", "upgrade", "0001")
    with sqlite3.connect(sqlite_env["DATABASE_URL"].removeprefix("sqlite:///")) as connection:
        connection.execute(
            "INSERT INTO events (slug, title, description, timezone, starts_at, ends_at, venue_name, venue_address, "
            "online_url, contact_email, status, created_at, updated_at) VALUES ('ancienne', 'Ancienne', '', "
            "'Europe/Paris', '2031-01-01 09:00:00', '2031-01-01 10:00:00', '', '', '', 'contact@example.org', "
            "'published', '2030-01-01 00:00:00', '2030-01-01 00:00:00')")
    support.run_emgav(sqlite_env, "db", "upgrade")
    assert sqlite_rows(sqlite_env, "SELECT slug, content_language FROM events") == [("ancienne", "fr")]


def test_db_upgrade_on_postgresql(pg_env):
    # pg_env ran `emgav db upgrade` on a new database; a second run has nothing to do.
    support.run_emgav(pg_env, "db", "upgrade")
    tables = {name for (name,) in pg_rows(pg_env, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert TABLES <= tables


# --- seed-demo ---

DEMO_QUERY = """
    SELECT slug, title, description, timezone, starts_at, ends_at, venue_name, venue_address, capacity,
           registration_opens_at, registration_closes_at, contact_email, status, revision, updated_at
    FROM events
"""
WORKSHOPS_QUERY = "SELECT key, title, description, starts_at, ends_at, room, capacity FROM workshops ORDER BY key"


def test_seed_demo_loads_the_demo_event_once(sqlite_env):
    support.run_emgav(sqlite_env, "db", "upgrade")

    first = support.run_emgav(sqlite_env, "seed-demo")
    before = sqlite_rows(sqlite_env, DEMO_QUERY), sqlite_rows(sqlite_env, WORKSHOPS_QUERY)
    second = support.run_emgav(sqlite_env, "seed-demo")
    after = sqlite_rows(sqlite_env, DEMO_QUERY), sqlite_rows(sqlite_env, WORKSHOPS_QUERY)

    assert "Événement créé" in first.stdout
    assert "Événement à jour" in second.stdout
    assert before == after  # not even updated_at moved
    [event] = after[0]
    assert event[0] == DEMO_SLUG
    assert event[1] == "Journée régionale : ESS et solidarité internationale, unir les forces"
    assert event[6:9] == ("Espace Anne de Bretagne", "15 rue Martenot, 35000 Rennes", 150)
    assert (event[11], event[12]) == ("contact@bretagne-solidaire.bzh", "published")
    for initiative in ("Xylm", "STADD", "Togo", "Ille-et-Vilaine", "Outaouais", "RIAA", "agroécologie"):
        assert initiative in event[2]
    assert [(w[0], w[6]) for w in after[1]] == [
        ("ille-et-vilaine-outaouais", 25), ("riaa-agroecologie", 25), ("xylm-stadd", 25)]


def test_the_demo_event_is_a_future_thursday_open_for_registration(app_ctx):
    event, created = event_files.import_event(event_files.load_event_file(DEMO_EVENT_FILE))

    assert created
    assert event.local_start.weekday() == 3  # a Thursday
    assert event.local_start.strftime("%H:%M") == "09:00"
    assert event.local_end.strftime("%H:%M") == "17:00"
    assert event.local_start.tzinfo.key == "Europe/Paris"
    assert event.registration_state() == "open"
    closes = event.registration_closes_at.astimezone(PARIS)
    assert closes.date() == event.local_start.date() - timedelta(days=1)
    by_key = {w.key: w for w in event.workshops}
    assert by_key["xylm-stadd"].overlaps(by_key["ille-et-vilaine-outaouais"])
    assert not by_key["riaa-agroecologie"].overlaps(by_key["xylm-stadd"])


def test_seed_demo_on_postgresql(pg_env):
    support.run_emgav(pg_env, "seed-demo")
    support.run_emgav(pg_env, "seed-demo")
    assert pg_rows(pg_env, "SELECT content_language FROM events") == [("fr",)]
    assert pg_rows(pg_env, "SELECT slug, capacity FROM events") == [(DEMO_SLUG, 150)]
    assert pg_rows(pg_env, "SELECT count(*) FROM workshops") == [(3,)]


# --- events import ---

def test_events_import_creates_then_updates(sqlite_env, tmp_path):
    support.run_emgav(sqlite_env, "db", "upgrade")
    path = event_file(tmp_path, MINIMAL_EVENT)

    created = support.run_emgav(sqlite_env, "events", "import", str(path))
    assert "Événement créé : Atelier ESS (atelier-ess, 0 atelier(s))" in created.stdout
    assert sqlite_rows(sqlite_env, "SELECT title, capacity, starts_at FROM events") == [
        ("Atelier ESS", 40, "2027-03-11 13:00:00.000000")]  # 14:00 in Paris is 13:00 UTC

    event_file(tmp_path, MINIMAL_EVENT.replace('"Atelier ESS"', '"Atelier ESS et territoires"') + """
    [[workshops]]
    key = "rencontre"
    title = "Rencontre"
    starts_at = 2027-03-11T15:00:00
    ends_at = 2027-03-11T16:00:00
    capacity = 12
    """)
    updated = support.run_emgav(sqlite_env, "events", "import", str(path))

    assert "Événement à jour : Atelier ESS et territoires (atelier-ess, 1 atelier(s))" in updated.stdout
    assert sqlite_rows(sqlite_env, "SELECT slug, title FROM events") == [("atelier-ess", "Atelier ESS et territoires")]
    assert sqlite_rows(sqlite_env, "SELECT key, capacity FROM workshops") == [("rencontre", 12)]


INVALID_FILES = {
    "missing fields": ('slug = "sans-titre"\n', ["Il manque « title »", "Il manque « starts_at »",
                                                 "Il manque « contact_email »"]),
    "end before start": (MINIMAL_EVENT.replace("ends_at = 2027-03-11T17:00:00", "ends_at = 2027-03-11T10:00:00"),
                         ["« ends_at » de l'événement doit être après « starts_at »"]),
    "unknown time zone": (MINIMAL_EVENT + 'timezone = "Europe/Rennes"\n',
                          ["Fuseau horaire inconnu : « Europe/Rennes »"]),
    "bad status": (MINIMAL_EVENT.replace('"published"', '"open"'),
                   ["« status » doit valoir draft, published, cancelled, pas « open »"]),
    "unknown key": (MINIMAL_EVENT + 'venue = "Rennes"\n', ["Clé inconnue « venue »"]),
    "date without time": (MINIMAL_EVENT.replace("2027-03-11T14:00:00", "2027-03-11"),
                          ["« starts_at » de l'événement doit être une date avec une heure"]),
    "overlong title": (MINIMAL_EVENT.replace('"Atelier ESS"', '"' + "A" * 201 + '"'),
                       ["« title » de l'événement dépasse 200 caractères"]),
    "workshop outside the event": (MINIMAL_EVENT + """
        [[workshops]]
        key = "tard"
        title = "Trop tard"
        starts_at = 2027-03-11T18:00:00
        ends_at = 2027-03-11T19:00:00
        """, ["L'atelier « tard » doit avoir lieu pendant l'événement."]),
    "not TOML": ('slug = "oubli-de-guillemet\n', ["TOML invalide"]),
}


@pytest.mark.parametrize("case", INVALID_FILES)
def test_an_invalid_file_is_explained_and_changes_nothing(sqlite_env, tmp_path, case):
    support.run_emgav(sqlite_env, "db", "upgrade")
    body, messages = INVALID_FILES[case]
    path = event_file(tmp_path, body)

    result = support.run_emgav(sqlite_env, "events", "import", str(path), check=False)

    assert_clean_failure(result, f"{path} n'a pas été importé", *messages)
    assert sqlite_rows(sqlite_env, "SELECT count(*) FROM events") == [(0,)]


def test_capacity_cannot_go_below_the_seats_taken(app, base_env, tmp_path):
    path = event_file(tmp_path, MINIMAL_EVENT.replace("capacity = 40", "capacity = 3"))
    support.run_emgav(base_env, "events", "import", str(path))
    with app.test_request_context():
        event = db.session.scalars(select(Event)).one()
        for name in ("Anne", "Bleunwenn"):
            person(event, name)
    event_file(tmp_path, MINIMAL_EVENT.replace("capacity = 40", "capacity = 1"))

    result = support.run_emgav(base_env, "events", "import", str(path), check=False)

    assert_clean_failure(result, "La capacité de l'événement (1) est inférieure au nombre de places déjà prises (2).")
    with app.app_context():
        assert db.session.scalars(select(Event.capacity)).one() == 3


def test_a_booked_workshop_is_dropped_only_with_the_option_and_its_people_are_mailed(app, base_env, tmp_path):
    path = event_file(tmp_path, MINIMAL_EVENT + textwrap.dedent("""\
        [[workshops]]
        key = "agro"
        title = "Agroécologie"
        starts_at = 2027-03-11T15:00:00
        ends_at = 2027-03-11T16:00:00
        """))
    support.run_emgav(base_env, "events", "import", str(path))
    with app.test_request_context():
        event = db.session.scalars(select(Event)).one()
        event_id, anne = event.id, person(event, "Anne", workshops=event.workshops).id
    event_file(tmp_path, MINIMAL_EVENT)

    refused = support.run_emgav(base_env, "events", "import", str(path), check=False)

    assert_clean_failure(refused, "L'atelier « agro » a des inscriptions : il n'est retiré que sur une confirmation "
                                  "explicite (personnes à prévenir par courriel : 1).")
    with app.app_context():
        assert db.session.scalars(select(Workshop.key)).all() == ["agro"]

    support.run_emgav(base_env, "events", "import", "--remove-booked-workshops", str(path))

    with app.app_context():
        assert db.session.scalars(select(Workshop.key)).all() == []
        [mail] = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "workshop_removed")).all()
        assert (mail.registration_id, mail.payload["workshop"]["title"]) == (anne, "Agroécologie")
        support.assert_counters_match_rows(event_id)


# --- The import service, in-process ---

def event_data(**changes):
    data = {
        "slug": "rencontre-regionale", "title": "Rencontre régionale", "status": "published",
        "starts_at": datetime(2027, 4, 15, 9, 0), "ends_at": datetime(2027, 4, 15, 17, 0),
        "venue_name": "Espace Anne de Bretagne", "venue_address": "15 rue Martenot, 35000 Rennes",
        "contact_email": "contact@bretagne-solidaire.bzh", "capacity": 2,
        "workshops": [{"key": "atelier", "title": "Atelier", "starts_at": datetime(2027, 4, 15, 14, 0),
                       "ends_at": datetime(2027, 4, 15, 15, 0), "capacity": 1}],
    }
    data.update(changes)
    return data


def kinds(event):
    return sorted(db.session.scalars(select(OutboxMail.kind).where(OutboxMail.event_id == event.id)))


def test_times_are_local_to_the_event_unless_they_carry_an_offset(app_ctx):
    event, _ = event_files.import_event(event_data(
        timezone="America/Toronto",
        starts_at=datetime(2027, 4, 15, 9, 0),  # local time in Toronto
        ends_at="2027-04-15T17:00:00+02:00",  # ISO 8601 text with an offset
        workshops=[],
    ))
    assert event.timezone == "America/Toronto"
    assert event.starts_at == datetime(2027, 4, 15, 13, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 4, 15, 15, 0, tzinfo=UTC)


def test_the_default_time_zone_is_paris_and_the_default_status_draft(app_ctx):
    data = event_data()
    del data["status"]
    event, _ = event_files.import_event(data)
    assert (event.timezone, event.status) == ("Europe/Paris", EventStatus.draft)
    assert event.local_start.hour == 9


def test_an_identical_import_changes_nothing(app_ctx):
    event, created = event_files.import_event(event_data())
    revision, updated_at = event.revision, event.updated_at

    again, created_again = event_files.import_event(event_data())

    assert (created, created_again) == (True, False)
    assert again.id == event.id
    assert (again.revision, again.updated_at) == (revision, updated_at)
    assert kinds(event) == []


def test_a_new_time_or_place_sends_updated_invites(app_ctx):
    event, _ = event_files.import_event(event_data())
    anne = person(event, "Anne")
    pending = person(event, "Bleunwenn", confirm=False)

    event, _ = event_files.import_event(event_data(venue_name="Le Triangle", ends_at=datetime(2027, 4, 15, 18, 0)))

    assert event.venue_name == "Le Triangle"
    assert event.revision == 1
    updated = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "invite_updated")).all()
    assert [(m.registration_id, m.payload["sequence"]) for m in updated] == [(anne.id, anne.invite_sequence)]
    assert pending.id not in [m.registration_id for m in updated]


def test_a_new_title_sends_no_invite(app_ctx):
    event, _ = event_files.import_event(event_data())
    person(event, "Anne")
    event_files.import_event(event_data(title="Rencontre régionale 2027"))
    assert "invite_updated" not in kinds(event)


def test_cancelling_the_event_cancels_everyone(app_ctx):
    event, _ = event_files.import_event(event_data())
    anne = person(event, "Anne")

    event, _ = event_files.import_event(event_data(status="cancelled"))

    assert event.status == EventStatus.cancelled
    [mail] = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "event_cancelled")).all()
    assert (mail.registration_id, mail.payload["with_invite"]) == (anne.id, True)
    # Importing the same cancelled file again does not cancel twice.
    event_files.import_event(event_data(status="cancelled"))
    assert kinds(event).count("event_cancelled") == 1


def test_a_cancelled_event_cannot_be_published_again(app_ctx):
    event_files.import_event(event_data(status="cancelled"))
    with support.raises_saying(events.EventRuleError, "est annulé : il ne peut pas changer de statut"):
        event_files.import_event(event_data())


def test_a_workshop_with_bookings_cannot_be_dropped(app_ctx):
    event, _ = event_files.import_event(event_data(workshops=event_data()["workshops"] + [
        {"key": "vide", "title": "Sans inscription", "starts_at": datetime(2027, 4, 15, 16, 0),
         "ends_at": datetime(2027, 4, 15, 17, 0)}]))
    person(event, "Anne", workshops=[w for w in event.workshops if w.key == "atelier"])

    with support.raises_saying(events.EventRuleError, "L'atelier « atelier » a des inscriptions"):
        event_files.import_event(event_data(workshops=[]))

    event, _ = event_files.import_event(event_data())  # drops "vide" only, which nobody booked
    assert [w.key for w in event.workshops] == ["atelier"]

    event, _ = event_files.import_event(event_data(workshops=[]), remove_booked_workshops=True)  # told explicitly
    assert event.workshops == [] and kinds(event).count("workshop_removed") == 1


def test_workshop_capacity_cannot_go_below_its_bookings(app_ctx):
    event, _ = event_files.import_event(event_data())
    person(event, "Anne", workshops=event.workshops)
    workshops = [dict(event_data()["workshops"][0], capacity=0)]

    with support.raises_saying(events.EventRuleError, "La capacité de l'atelier « atelier » (0) est inférieure"):
        event_files.import_event(event_data(workshops=workshops))
    assert db.session.scalars(select(Workshop.capacity)).one() == 1


def test_raising_the_capacity_offers_the_new_seat_to_the_first_person_waiting(app, worker, smtp_server):
    with app.test_request_context():
        event, _ = event_files.import_event(event_data(capacity=1, workshops=[]))
        person(event, "Anne")
        waiting = person(event, "Bleunwenn")
        assert waiting.status.value == "waiting"

        event_files.import_event(event_data(capacity=2, workshops=[]))

    # The import only enqueued the offer: the real worker makes it and mails it.
    [offer_mail] = smtp_server.wait_for("bleunwenn@example.org", kind="seat_offer")
    assert "Rencontre régionale" in offer_mail["Subject"]


def test_the_example_in_the_readme_imports(app_ctx):
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Event files (TOML)", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    event, created = event_files.import_event(tomllib.loads(example))
    assert created and [w.key for w in event.workshops] == ["xylm-stadd"]
