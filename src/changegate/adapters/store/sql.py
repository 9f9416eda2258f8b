"""SqlStore: the ledger and stored verdicts in SQLite or PostgreSQL (SQLAlchemy Core).

Appends are serialised on the one-row `ledger_head` table (`SELECT ... FOR UPDATE` on
PostgreSQL; `BEGIN IMMEDIATE` takes the write lock on SQLite), so concurrent writers never fork
the chain; the primary key on `ledger.seq` backs that up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Select, select
from sqlalchemy.exc import DBAPIError

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import (
    connection_error,
    create_store_engine,
    write_connection,
)
from changegate.adapters.store.rows import (
    check_lengths,
    entry_from_row,
    raw_select,
    verdict_from_row,
)
from changegate.adapters.store.tables import ledger, ledger_head, verdicts
from changegate.core.canonical import canonical_json, format_timestamp
from changegate.core.evidence import (
    EVIDENCE_KINDS,
    VERDICT_RECORDED,
    VerdictRow,
    evidence_sha256,
    verdict_subject,
)
from changegate.core.ledger import (
    ChainReport,
    LedgerEntry,
    LedgerHead,
    Problem,
    new_entry,
    verify_chain,
)
from changegate.errors import StoreError
from changegate.settings import normalise_database_url, redact_url

BATCH = 500
T = TypeVar("T")


class SqlStore:
    """The ledger and verdict store. SQLite databases are migrated on open; PostgreSQL ones
    must already be at head (`changegate db upgrade`)."""

    def __init__(self, url: str, *, auto_upgrade: bool | None = None) -> None:
        self._url = normalise_database_url(url, setting=None)
        self.redacted_url = redact_url(self._url)
        self.engine = create_store_engine(self._url)
        if auto_upgrade is None:
            auto_upgrade = self.engine.dialect.name == "sqlite"
        try:
            with self._errors():
                migrations.ensure_migrated(self.engine, auto_upgrade=auto_upgrade)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as error:
            raise connection_error(self._url, error) from error

    def append_event(
        self,
        *,
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        recorded_at: datetime,
    ) -> LedgerEntry:
        """Append one event to the ledger and return it, hashed and numbered."""
        format_timestamp(recorded_at)  # refuses a naive time before touching the database
        check_lengths(ledger, {"kind": kind, "subject": subject})
        with self._errors(), write_connection(self.engine) as connection:
            return _append(connection, kind=kind, subject=subject, payload=payload, at=recorded_at)

    def record_verdict(
        self,
        *,
        repository: str,
        pr_number: int,
        head_sha: str,
        change_type: str,
        state: str,
        verdict: Mapping[str, Any],
        snapshot: Mapping[str, Any],
        policy_sha256: str,
        changegate_version: str,
        recorded_at: datetime,
    ) -> int:
        """Store a verdict with its evidence and append its `verdict.recorded` event, atomically.

        Returns the verdict id.
        """
        format_timestamp(recorded_at)
        verdict_json, snapshot_json = canonical_json(verdict), canonical_json(snapshot)
        columns: dict[str, Any] = {
            "recorded_at": recorded_at,
            "repository": repository,
            "pr_number": pr_number,
            "head_sha": head_sha,
            "change_type": change_type,
            "state": state,
            "policy_sha256": policy_sha256,
            "changegate_version": changegate_version,
            "verdict_json": verdict_json,
            "snapshot_json": snapshot_json,
            "evidence_sha256": evidence_sha256(  # of what will be read back, as verify will
                verdict=json.loads(verdict_json),
                snapshot=json.loads(snapshot_json),
                policy_sha256=policy_sha256,
                changegate_version=changegate_version,
            ),
        }
        check_lengths(verdicts, columns)
        with self._errors(), write_connection(self.engine) as connection:
            return _insert_verdict(connection, columns)

    def iter_ledger(self, *, after_seq: int = 0) -> Iterator[LedgerEntry]:
        """Every entry after `after_seq`, in seq order, streamed in batches."""
        query = select(ledger).where(ledger.c.seq > after_seq).order_by(ledger.c.seq)
        with self._errors(), self.engine.connect() as connection:
            yield from _stream(connection, query, entry_from_row)

    def tail(self, limit: int) -> list[LedgerEntry]:
        """The last `limit` entries, in seq order."""
        query = select(ledger).order_by(ledger.c.seq.desc()).limit(limit)
        with self._errors(), self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [entry_from_row(row) for row in reversed(rows)]

    def head(self) -> LedgerHead:
        """The recorded last seq and hash."""
        with self._errors(), self.engine.connect() as connection:
            return _read_head(connection, lock=False)

    def get_verdict(self, verdict_id: int) -> VerdictRow | None:
        """One stored verdict, or None."""
        query = select(verdicts).where(verdicts.c.id == verdict_id)
        with self._errors(), self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else verdict_from_row(row)

    def verify(self) -> ChainReport:
        """Walk the whole chain and cross-check every verdict against its ledger event.

        Reads one consistent snapshot (REPEATABLE READ on PostgreSQL, one read transaction on
        SQLite), streaming both tables side by side in bounded memory.
        """
        with self._errors(), self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                return _verify(connection)


def _verify(connection: Connection) -> ChainReport:
    seen: list[int] = [0]
    entries = _stream(connection, raw_select(ledger).order_by(ledger.c.seq), entry_from_row)
    rows = _stream(connection, raw_select(verdicts).order_by("ledger_seq", "id"), verdict_from_row)

    def watched() -> Iterator[LedgerEntry]:
        for entry in entries:
            seen[0] = entry.seq
            yield entry

    try:
        head = _read_head(connection, lock=False)
        return verify_chain(watched(), evidence=rows, evidence_kinds=EVIDENCE_KINDS, head=head)
    except (ValueError, TypeError) as error:  # a value of the wrong type: say so, do not crash
        detail = f"a row after seq {seen[0]} cannot be read ({error}): a column was overwritten"
        problem = Problem(seen[0] + 1, "unreadable", detail)
        return ChainReport(0, 0, seen[0], "", (problem,), more_problems=True)
    finally:
        entries.close()
        rows.close()


def _stream(
    connection: Connection, query: Select[Any], convert: Callable[[Row[Any]], T]
) -> Generator[T, None, None]:
    result = connection.execute(query.execution_options(yield_per=BATCH))
    try:
        for row in result:
            yield convert(row)
    finally:
        result.close()


def _read_head(connection: Connection, *, lock: bool) -> LedgerHead:
    query = select(ledger_head.c.seq, ledger_head.c.hash).where(ledger_head.c.id == 1)
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise StoreError("the ledger_head row is missing: the database was altered outside changegate")
    return LedgerHead(seq=int(row.seq), hash=str(row.hash))


def _append(
    connection: Connection,
    *,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    at: datetime,
) -> LedgerEntry:
    entry = new_entry(
        prev=_read_head(connection, lock=True),
        kind=kind,
        subject=subject,
        payload=payload,
        recorded_at=at,
    )
    connection.execute(
        ledger.insert().values(
            seq=entry.seq,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            subject=entry.subject,
            payload_json=entry.payload_json,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    connection.execute(
        ledger_head.update().where(ledger_head.c.id == 1).values(seq=entry.seq, hash=entry.hash)
    )
    return entry


def _insert_verdict(connection: Connection, columns: dict[str, Any]) -> int:
    seq = _read_head(connection, lock=True).seq + 1  # locked until commit: it will be ours
    result = connection.execute(verdicts.insert().values(ledger_seq=seq, **columns))
    inserted = result.inserted_primary_key
    if inserted is None:  # pragma: no cover - both backends report the new id
        raise StoreError("the database did not report the new verdict's id")
    verdict_id = int(inserted[0])
    row = VerdictRow(id=verdict_id, ledger_seq=seq, **columns)
    entry = _append(
        connection,
        kind=VERDICT_RECORDED,
        subject=verdict_subject(row.repository, row.pr_number),
        payload=row.event_payload(),
        at=row.recorded_at,
    )
    if entry.seq != seq:  # pragma: no cover - the head row is locked
        raise StoreError(f"ledger head moved while recording verdict #{verdict_id}")
    return verdict_id
