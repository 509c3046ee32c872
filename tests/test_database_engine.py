"""The database engine's tuning (webapp/database.py), on PostgreSQL."""
import psycopg
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError

from webapp.extensions import db
from webapp.models import Event

from . import support


@pytest.fixture
def built_columns(monkeypatch):
    """How many psycopg Column objects (the items of `cursor.description`) were built."""
    built = []
    build = psycopg.Column.__init__

    def counting(self, cursor, index):
        built.append(index)
        build(self, cursor, index)

    monkeypatch.setattr(psycopg.Column, "__init__", counting)
    return built


@support.ON_POSTGRESQL
def test_a_statement_run_again_builds_no_column_description(db_app, built_columns):
    query = select(Event).where(Event.slug == bindparam("slug"))
    with db_app.app_context():
        db.session.scalars(query, {"slug": "journee"}).all()  # SQLAlchemy reads the result's columns once
        assert len(built_columns) >= len(Event.__table__.columns)
        built_columns.clear()
        for _ in range(3):
            assert db.session.scalars(query, {"slug": "journee"}).all() == []
        assert built_columns == []


@support.ON_POSTGRESQL
def test_the_cursor_description_reads_as_psycopg_builds_it(db_app):
    with db_app.app_context():
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.execute("SELECT 1 AS one, 'deux'::text AS two")
        description = cursor.description
        assert len(description) == 2
        assert [(column.name, column.type_code) for column in description] == [("one", 23), ("two", 25)]
        assert description[-1:][0].name == "two"
        assert cursor.fetchall() == [(1, "deux")]
        assert cursor.execute("SET LOCAL statement_timeout = 0").description is None
        assert list(cursor.execute("SELECT").description) == []  # rows of no columns: a description, empty
        description = cursor.execute("SELECT 1 AS one").description
        cursor.execute("SELECT 2 AS two")
        with pytest.raises(psycopg.InterfaceError, match="another statement"):
            description[0]  # a description read late does not describe the wrong statement


def _prepared_statements():
    """The statements PostgreSQL holds prepared for the session of the app's pooled connection."""
    return db.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()


@support.ON_POSTGRESQL
def test_page_views_keep_the_prepared_statements_of_their_connection(db_app, make_event):
    """psycopg prepares a statement at its sixth run on a connection, and forgets them all at a
    ROLLBACK: a request that only read ends its transaction with COMMIT, so the page's query,
    run once per request, gets prepared."""
    make_event(slug="journee")
    client = db_app.test_client()
    for _ in range(7):
        assert client.get("/events/journee").status_code == 200
    with db_app.app_context():
        assert db.engine.pool.checkedin() == 1  # one connection served every request
        assert any("FROM events" in statement for statement in _prepared_statements())


@support.ON_POSTGRESQL
def test_a_transaction_that_wrote_is_still_rolled_back(db_app, make_event):
    event_id = make_event(slug="journee")
    with db_app.app_context():
        db.session.get(Event, event_id).title = "Changé"
        db.session.flush()
        assert db.session.scalars(select(Event.title)).one() == "Changé"
        db.session.rollback()
        assert db.session.scalars(select(Event.title)).one() != "Changé"
        db.session.rollback()
        with pytest.raises(DBAPIError, match="division by zero"):
            db.session.execute(text("SELECT 1 / 0"))
        db.session.rollback()  # a failed transaction: the driver's rollback
        assert db.session.scalars(select(Event.title)).one() != "Changé"
