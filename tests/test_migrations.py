"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL:
a column, index or constraint added to a model without its migration (or the other way) fails here."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from webapp import create_app
from webapp.extensions import db


def _differences(url):
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return differences


def test_migrations_match_the_models_on_sqlite(base_env, tmp_path):
    assert _differences(f"sqlite:///{tmp_path / 'schema.sqlite'}") == []


def test_migrations_match_the_models_on_postgresql(pg_env):
    assert _differences(pg_env["DATABASE_URL"]) == []
