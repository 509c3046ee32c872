"""Database engine tuning, the conditional UPDATEs that decide races, and the INSERTs that let
the database decide a conflict.

On SQLite every transaction starts with BEGIN IMMEDIATE: a transaction that reads and then
writes would otherwise fail at once with "database is locked" when another process wrote in
between, whatever the busy timeout. WAL lets readers go on while one process writes.
PostgreSQL needs no such thing: seat updates are conditional UPDATEs that lock the row. Its
driver, psycopg, gets a cursor whose `description` costs nothing until it is read, and keeps the
statements it prepared across the transactions that only read (they end with COMMIT).
"""
from collections.abc import Sequence
from functools import lru_cache

import psycopg
from sqlalchemy import bindparam, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from .extensions import db


def configure_engine_events(engine):
    if engine.dialect.driver == "psycopg":
        @event.listens_for(engine, "connect")
        def _on_psycopg_connect(dbapi_connection, _record):
            dbapi_connection.cursor_factory = LazyDescriptionCursor

        _end_reads_with_commit(engine)
    elif engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _end_reads_with_commit(engine):
    """End with COMMIT, not ROLLBACK, a transaction that ran nothing but SELECTs: for it the two do
    the same, but psycopg forgets its prepared statements at every ROLLBACK (and sends DEALLOCATE
    ALL when it had some). Every request that writes nothing (a page view) ends its transaction
    that way; with ROLLBACK, PostgreSQL would parse and plan again the statements of the requests
    that follow on its connection (0.9 ms of its CPU in a confirmation) until they ran five times
    more. A transaction that ran anything else, or failed, still ends with ROLLBACK."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.info[_ONLY_READ] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection, _cursor, statement, _parameters, _context, _executemany):
        if not statement.startswith("SELECT "):
            connection.info[_ONLY_READ] = False

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection):
        # Runs before the driver's rollback, which then finds no transaction to end.
        if connection.invalidated or connection.closed or not connection.info.get(_ONLY_READ):
            return
        psycopg_connection = connection.connection.dbapi_connection
        if psycopg_connection is not None and psycopg_connection.info.transaction_status == _IN_TRANSACTION:
            try:
                psycopg_connection.commit()
            except psycopg.OperationalError:
                pass  # the connection failed: the driver's rollback meets that as it would have


_ONLY_READ = "emgav_only_read"
_IN_TRANSACTION = psycopg.pq.TransactionStatus.INTRANS


def _configure_sqlite(engine):
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


def update_where(model, *conditions, **values):
    """One conditional UPDATE of `model` rows matching `conditions`; True if exactly one row changed.

    The "did I win?" step of every race in the service (a seat, a status change, claiming an
    outbox row): the database decides, so of two concurrent callers only one sees True.
    """
    result = db.session.execute(
        update(model).where(*conditions).values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


class LoadedUpdate:
    """A conditional UPDATE of the row of an object the session loaded, built once (per model, at
    import): `run(obj)` is True if the row changed. What it wrote (`values`: SQL expressions such
    as a counter plus one, or for each name in `bound`, the value given to `run`; and the columns
    set on every update) comes back with it (RETURNING) and is set on `obj`, which then holds the
    row as it is now without reading it again. When the row did not match, those attributes are
    read again when next used.

    The statement is on the table (SQLAlchemy Core) and kept, with its cache key, so a run neither
    builds it again nor walks it to find its compiled form; `conditions` and `values` are written on
    the table's columns (`model.__table__.c`).
    """

    def __init__(self, model, *conditions, bound=(), **values):
        table = model.__table__
        values |= {key: bindparam(key, type_=table.c[key].type) for key in bound}
        self.keys = [*values, *(column.key for column in table.columns
                                if column.onupdate is not None and column.key not in values)]
        self.statement = (update(table).where(table.c.id == bindparam("loaded_id"), *conditions).values(**values)
                          .returning(*(table.c[key] for key in self.keys)))

    def run(self, obj, **bound_values):
        session = db.session()
        session.flush()  # as an ORM statement would: the UPDATE follows the changes made before it
        row = session.connection().execute(self.statement, {"loaded_id": obj.id, **bound_values}).one_or_none()
        if row is None:
            session.expire(obj, self.keys)
            return False
        for key, value in zip(self.keys, row, strict=True):
            set_committed_value(obj, key, value)
        return True


def commit_keeping_loaded():
    """Commit without expiring what the session loaded, for a page that shows right away what the
    transaction did: its objects were read under its locks and kept in step with its writes (by
    the ORM, or `LoadedUpdate`), so reading them again would return the same."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def lock_until_commit(key):
    """Serialise the transactions that name the same `key` (a string) until they end: on
    PostgreSQL a transaction-level advisory lock; on SQLite every writing transaction already
    holds the database's write lock from its start (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection().execute(_ADVISORY_LOCK, {"key": key})


_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)))


def insert_ignoring_conflicts(target, conflict_columns, conflict_where=None):
    """INSERT … ON CONFLICT (`conflict_columns`, restricted to `conflict_where` for a partial
    unique index) DO NOTHING into `target` (a model or a table), on PostgreSQL and SQLite."""
    return _insert_ignoring_conflicts(db.session.get_bind().dialect.name, target, conflict_columns, conflict_where)


def _insert_ignoring_conflicts(dialect_name, target, conflict_columns, conflict_where):
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(target).on_conflict_do_nothing(index_elements=conflict_columns, index_where=conflict_where)


def insert_unless_exists(model, conflict_columns, values, conflict_where=None):
    """One INSERT … ON CONFLICT DO NOTHING RETURNING of a `model` row: the new row (an ORM object
    in the session), or None when a row with the same `conflict_columns` exists, maybe written at
    the same moment. No savepoint and no second query: the database decides in one statement.
    `conflict_where`: the SQL condition of a partial unique index."""
    statement = _insert_returning(db.session.get_bind().dialect.name, model, tuple(conflict_columns), conflict_where)
    return db.session.scalars(statement, values).one_or_none()


@lru_cache(maxsize=32)
def _insert_returning(dialect_name, model, conflict_columns, conflict_where):
    """The statement of `insert_unless_exists`, built once: the values travel as parameters, so
    that a call neither builds it again nor walks its values to find its compiled form. Written
    on the table (SQLAlchemy Core), which skips the ORM's bulk INSERT; the ORM only makes the
    object from the row returned."""
    table = model.__table__
    where = text(conflict_where) if conflict_where is not None else None
    insert = _insert_ignoring_conflicts(dialect_name, table, conflict_columns, where).returning(*table.c)
    return select(model).from_statement(insert)


def insert_returning_id(table, conflict_columns, values):
    """`insert_unless_exists` of a `table` row, on the session's connection: the new row's id, or
    None when a row with the same `conflict_columns` exists. No ORM object is made for the row, and
    the session is not flushed first: the row's foreign keys are ids, so what they point at is
    written already."""
    statement = _insert_returning_id(db.session.get_bind().dialect.name, table, tuple(conflict_columns))
    return db.session.connection().execute(statement, values).scalar_one_or_none()


@lru_cache(maxsize=8)
def _insert_returning_id(dialect_name, table, conflict_columns):
    return _insert_ignoring_conflicts(dialect_name, table, conflict_columns, None).returning(table.c.id)


class LazyDescriptionCursor(psycopg.Cursor):
    """A psycopg cursor whose `description` builds its columns only when they are read.

    psycopg makes a Column object per column on every read of `description`, and SQLAlchemy reads
    it after every statement, though it only looks into it the first time it runs a statement (it
    keeps the result's columns with the compiled statement). Building them was ~6 % of the
    instructions of a registration POST.
    """

    @property
    def description(self):
        result = self.pgresult
        if result is None or not (result.nfields or result.status in _TUPLES):
            return None  # as psycopg's: the statement returned no rows
        return _Description(self, result)


_TUPLES = (psycopg.pq.ExecStatus.TUPLES_OK, psycopg.pq.ExecStatus.SINGLE_TUPLE, psycopg.pq.ExecStatus.TUPLES_CHUNK)


class _Description(Sequence):
    """`cursor.description`, built from the cursor's result when first read."""

    __slots__ = ("_cursor", "_result", "_columns")

    def __init__(self, cursor, result):
        self._cursor, self._result, self._columns = cursor, result, None

    def _built(self):
        if self._columns is None:
            if self._cursor.pgresult is not self._result:
                raise psycopg.InterfaceError("cursor.description read after the cursor ran another statement")
            self._columns = psycopg.Cursor.description.fget(self._cursor)
        return self._columns

    def __len__(self):
        return len(self._built())

    def __getitem__(self, index):
        return self._built()[index]
