"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL:
a column, index or constraint added to a model without its migration (or the other way) fails here."""
import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from webapp import create_app
from webapp.extensions import db


def _differences(url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return differences


# Alembic cannot compare an index on expressions on SQLite: test_migrations_keep_every_index_on_sqlite does.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models_on_sqlite(base_env, tmp_path):
    assert _differences(f"sqlite:///{tmp_path / 'schema.sqlite'}") == []


def test_migrations_match_the_models_on_postgresql(pg_env):
    assert _differences(pg_env["DATABASE_URL"]) == []


def _sqlite_indexes(path, build):
    """{name: SQL} of the indexes SQLite holds once `build()` has made the schema at `path`."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        build()
        db.engine.dispose()
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name, sql FROM sqlite_master "
                                  "WHERE type = 'index' AND tbl_name != 'alembic_version'").fetchall()
    return {name: " ".join((sql or "").split()) for name, sql in rows}


def test_migrations_keep_every_index_on_sqlite(base_env, tmp_path):
    """SQLite cannot reflect an index on expressions: the comparison above does not see it, and a
    batch operation, which rebuilds the table from what it reflects, drops it. Compare what
    SQLite holds after the migrations with what the models create."""
    migrated = _sqlite_indexes(tmp_path / "migrated.sqlite", upgrade)
    created = _sqlite_indexes(tmp_path / "created.sqlite", db.create_all)
    assert migrated == created


def _round_trip(url):
    """Every downgrade down to an empty database, then every upgrade again."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def test_migrations_go_down_and_up_again_on_sqlite(base_env, tmp_path):
    path = tmp_path / "round-trip.sqlite"
    _round_trip(f"sqlite:///{path}")
    assert _sqlite_indexes(path, lambda: None) == _sqlite_indexes(tmp_path / "created.sqlite", db.create_all)


def test_migrations_go_down_and_up_again_on_postgresql(pg_env):
    _round_trip(pg_env["DATABASE_URL"])
    assert _differences(pg_env["DATABASE_URL"]) == []
