"""Database engine tuning.

On SQLite every transaction starts with BEGIN IMMEDIATE: a transaction that reads and then
writes would otherwise fail at once with "database is locked" when another process wrote in
between, whatever the busy timeout. WAL lets readers go on while one process writes.
PostgreSQL needs nothing here: seat updates are conditional UPDATEs that lock the row.
"""
from sqlalchemy import event


def configure_engine_events(engine):
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
