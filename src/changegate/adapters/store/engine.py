"""Opening the database: one SQLAlchemy engine per URL, configured for SQLite or PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout. pysqlite's own transaction
handling is switched off so that SQLAlchemy's BEGIN is real: reads see one snapshot, and writers
take the write lock up front (`BEGIN IMMEDIATE`, see `write_connection`) so two writers never
read the same ledger head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from changegate.errors import StoreError
from changegate.settings import normalise_database_url, redact_text, redact_url

BUSY_TIMEOUT_MS = 30_000
_WRITE = "changegate_write"


def create_store_engine(url: str) -> Engine:
    """An engine for `url` (normalised: `postgres://` etc. use psycopg 3)."""
    url = normalise_database_url(url, setting=None)
    try:
        if url.startswith("sqlite:"):
            return _sqlite_engine(url)
        connect_args = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 10}
        # A pool as large as the server's concurrent accepts: SQLAlchemy's default (5) made
        # PostgreSQL open ~450 new connections per 3,000 deliveries (bench/RESULTS.md).
        return create_engine(url, pool_pre_ping=True, pool_size=16, max_overflow=24, connect_args=connect_args)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise StoreError(f"cannot use the database URL {redact_url(url)}: {error}") from error


def _sqlite_engine(url: str) -> Engine:
    if url == "sqlite://":  # in memory: one shared connection, or every checkout is a new db
        engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN: SQLAlchemy emits its own
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on success (SQLite: BEGIN IMMEDIATE)."""
    with engine.connect() as connection:
        connection = connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection


def connection_error(url: str, error: Exception) -> StoreError:
    """A StoreError for a database failure naming the redacted URL, what failed and what to check."""
    reason = str(error.orig if isinstance(error, DBAPIError) else error).strip()
    reason = redact_text(reason.splitlines()[0] if reason else type(error).__name__, url)
    where = redact_url(url)
    if isinstance(error, IntegrityError):
        return StoreError(f"the database at {where} refused the write: {reason}")
    if not isinstance(error, OperationalError | InterfaceError):
        return StoreError(f"the database at {where} failed: {reason}")
    if url.startswith("sqlite:"):
        hint = "check that the directory exists and is writable, and that no other process holds a lock for long"
    else:
        hint = "check that the server is running, and the host, port, user and password"
    return StoreError(f"cannot use the database at {where}: {reason}; {hint}")
