"""Rows to core types, leniently: verification must report a garbled row, not crash on it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, String, Table, Text, select, type_coerce

from changegate.core.evidence import VerdictRow
from changegate.core.ledger import LedgerEntry

UNREADABLE_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # stands in for a garbled time; never hashes


def check_lengths(table: Table, values: Mapping[str, Any]) -> None:
    """Refuse text longer than its column on SQLite too (PostgreSQL would refuse it anyway)."""
    for name, value in values.items():
        column_type = table.c[name].type
        limit = column_type.length if isinstance(column_type, String) else None
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise ValueError(f"{table.name}.{name} is {len(value)} characters long; at most {limit} fit")


def raw_select(table: Table) -> Select[Any]:
    """All columns, but times unprocessed: a garbled time then fails its hash instead of raising."""
    columns = [type_coerce(c, Text()).label(c.name) if c.name == "recorded_at" else c for c in table.c]
    return select(*columns)


def as_utc(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return UNREADABLE_TIME
    if not isinstance(value, datetime):
        return UNREADABLE_TIME
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def entry_from_row(row: Row[Any]) -> LedgerEntry:
    return LedgerEntry(
        seq=int(row.seq),
        recorded_at=as_utc(row.recorded_at),
        kind=row.kind,
        subject=row.subject,
        payload_json=row.payload_json,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def verdict_from_row(row: Row[Any]) -> VerdictRow:
    values = row._asdict()
    values["recorded_at"] = as_utc(values["recorded_at"])
    values["id"], values["ledger_seq"] = int(values["id"]), as_seq(values["ledger_seq"])
    return VerdictRow(**values)


def as_seq(value: object) -> int:
    """A ledger seq; 0 (no entry) for a value overwritten with something else (SQLite allows it)."""
    return value if isinstance(value, int) else 0
