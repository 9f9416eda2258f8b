"""SqlInbox: the durable webhook inbox on the `deliveries` table (SQLite or PostgreSQL).

States: `pending` (waiting; `locked_until`, when set, is the earliest retry time), `processing`
(claimed; `locked_until` is the lease's end), `done`, `failed` (kept, with `error`, for
inspection). `attempts` counts claims and doubles as a fencing token: `complete` and `fail` given
`attempt=` change the row only if nobody reclaimed it since.

Claiming is one short write transaction: on PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED` on
the oldest claimable row, so concurrent workers skip each other's rows instead of waiting; on
SQLite `BEGIN IMMEDIATE` takes the database write lock first, which serialises claims. Either
way no two workers hold the same delivery at the same time. See services/inbox.py for the
delivery guarantee this gives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import (
    connection_error,
    create_store_engine,
    write_connection,
)
from changegate.adapters.store.tables import deliveries
from changegate.errors import StoreError
from changegate.services.inbox import DONE, FAILED, PENDING, PROCESSING, STATES, Delivery
from changegate.settings import normalise_database_url

MAX_ERROR_CHARS = 4000
_CLAIMED = (deliveries.c.id, deliveries.c.delivery_id, deliveries.c.event, deliveries.c.action,
            deliveries.c.body, deliveries.c.attempts, deliveries.c.received_at)


class SqlInbox:
    """The inbox over an engine. `SqlInbox.open(url)` makes (and owns) the engine; SQLite
    databases are migrated on open, PostgreSQL ones must be at head (`changegate db upgrade`)."""

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        # SQLite has one writer at a time, and its busy handler polls with growing sleeps, so
        # under a burst of accepts the worker's claims starve. Queue this process's writers on
        # a lock instead (other processes still wait through the busy timeout).
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def open(cls, url: str, *, auto_upgrade: bool | None = None) -> SqlInbox:
        url = normalise_database_url(url, setting=None)
        engine = create_store_engine(url)
        if auto_upgrade is None:
            auto_upgrade = engine.dialect.name == "sqlite"
        inbox = cls(engine, owns_engine=True)
        try:
            with inbox._errors():
                migrations.ensure_migrated(engine, auto_upgrade=auto_upgrade)
        except BaseException:
            engine.dispose()
            raise
        return inbox

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as error:
            url = self.engine.url.render_as_string(hide_password=False)
            raise connection_error(url, error) from error

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._write_lock or nullcontext(), write_connection(self.engine) as connection:
            yield connection

    def accept(
        self, delivery_id: str, event: str, action: str | None, body: str, received_at: datetime
    ) -> bool:
        """Store a delivery as `pending`, committed on return. False: that delivery id is
        already stored (a redelivery), and nothing was written."""
        if not delivery_id or len(delivery_id) > 100 or len(event) > 100:
            raise StoreError(f"delivery id {delivery_id[:120]!r} or event {event[:120]!r} is empty or longer than 100 characters")
        values = {"delivery_id": delivery_id, "event": event, "action": action[:100] if action else None,
                  "received_at": received_at, "body": body, "state": PENDING, "attempts": 0}
        dialect = self.engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(deliveries).values(**values)
            .on_conflict_do_nothing(index_elements=[deliveries.c.delivery_id])
            .returning(deliveries.c.id)
        )
        with self._errors(), self._writing() as connection:
            return connection.execute(statement).first() is not None

    def claim(self, worker_id: str, now: datetime, lease: timedelta) -> Delivery | None:  # noqa: ARG002 - worker_id: for the log; the row has no owner column
        """Claim the oldest pending (due) or lease-expired delivery: state `processing`, lease
        until `now + lease`, attempts + 1. None when nothing is claimable."""
        due = or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until <= now)
        claimable = or_(
            and_(deliveries.c.state == PENDING, due),
            and_(deliveries.c.state == PROCESSING, deliveries.c.locked_until <= now),
        )
        query = (
            select(*_CLAIMED).where(claimable).order_by(deliveries.c.id).limit(1)
            .with_for_update(skip_locked=True)
        )
        with self._errors(), self._writing() as connection:
            row = connection.execute(query).first()
            if row is None:
                return None
            attempts = int(row.attempts) + 1
            connection.execute(
                deliveries.update().where(deliveries.c.id == row.id).values(
                    state=PROCESSING, locked_until=now + lease, attempts=attempts
                )
            )
        return Delivery(id=int(row.id), delivery_id=row.delivery_id, event=row.event,
                        action=row.action, body=row.body, attempts=attempts,
                        received_at=row.received_at)

    def complete(self, id: int, now: datetime, *, attempt: int | None = None) -> bool:
        """Mark a claimed delivery done. False if it is not (any longer) ours to complete."""
        return self._finish(id, attempt, state=DONE, processed_at=now, locked_until=None,
                            error=None)

    def fail(
        self,
        id: int,
        now: datetime,
        error: str,
        retry_at: datetime | None,
        *,
        attempt: int | None = None,
    ) -> bool:
        """Record a failed attempt: back to `pending` until `retry_at`, or (None) `failed` for
        good. False if the delivery is not (any longer) ours."""
        error = error[:MAX_ERROR_CHARS]
        if retry_at is not None:
            return self._finish(id, attempt, state=PENDING, locked_until=retry_at, error=error)
        return self._finish(id, attempt, state=FAILED, locked_until=None, processed_at=now,
                            error=error)

    def _finish(self, id: int, attempt: int | None, **values: Any) -> bool:
        condition = and_(deliveries.c.id == id, deliveries.c.state == PROCESSING)
        if attempt is not None:
            condition = and_(condition, deliveries.c.attempts == attempt)
        with self._errors(), self._writing() as connection:
            result = connection.execute(deliveries.update().where(condition).values(**values))
            return result.rowcount == 1

    def counts(self) -> dict[str, int]:
        """Deliveries per state (every state present, zero included)."""
        query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
        with self._errors(), self.engine.connect() as connection:
            found = {str(state): int(count) for state, count in connection.execute(query)}
        return {state: found.get(state, 0) for state in STATES} | found

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        """One stored delivery as a dict of its columns (for inspection and tests), or None."""
        query = select(deliveries).where(deliveries.c.delivery_id == delivery_id)
        with self._errors(), self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else dict(row._mapping)

    def ping(self) -> None:
        """Raise StoreError unless the database answers `SELECT 1`."""
        with self._errors(), self.engine.connect() as connection:
            _select_one(connection)


def _select_one(connection: Connection) -> None:
    connection.execute(text("SELECT 1")).scalar_one()
