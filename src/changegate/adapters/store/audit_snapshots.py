"""PR evidence for the audit: snapshots the gate recorded (`verdicts`) and snapshots the audit
fetched from the GitHub API (`audit_snapshots`), indexed in one query each, loaded by row id."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select

from changegate.adapters.store.engine import write_connection
from changegate.adapters.store.tables import audit_snapshots, ledger, verdicts
from changegate.core.canonical import canonical_json, sha256_hex


class AuditSnapshotStore:
    """`recorded_index` / `fetched_index`: PR number -> newest row id (one query, not one per
    commit); `load_recorded` / `load_fetched`: the snapshot of a row; `save`: keep a fetched one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def recorded_index(self, repository: str | None) -> dict[int, int]:
        return self._index(verdicts, repository)

    def fetched_index(self, repository: str) -> dict[int, int]:
        return self._index(audit_snapshots, repository)

    def load_recorded(self, row_id: int) -> dict[str, Any] | None:
        return self._load(verdicts, row_id)

    def load_fetched(self, row_id: int) -> dict[str, Any] | None:
        return self._load(audit_snapshots, row_id)

    def save(self, *, repository: str, pr_number: int, snapshot: Mapping[str, Any], fetched_at: dt.datetime) -> int:
        text = canonical_json(snapshot)
        head = str(((snapshot.get("pull_request") or {}).get("head") or {}).get("sha") or "")
        row = {"fetched_at": fetched_at, "repository": repository, "pr_number": pr_number, "head_sha": head[:64],
               "snapshot_json": text, "snapshot_sha256": sha256_hex(text)}
        with write_connection(self._engine) as connection:
            key = connection.execute(insert(audit_snapshots).values(**row)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def _index(self, table: Table, repository: str | None) -> dict[int, int]:
        query = select(table.c.pr_number, func.max(table.c.id)).group_by(table.c.pr_number)
        if repository:
            query = query.where(table.c.repository == repository)
        with self._engine.connect() as connection:
            return {int(number): int(newest) for number, newest in connection.execute(query)}

    def _load(self, table: Table, row_id: int) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            text = connection.execute(select(table.c.snapshot_json).where(table.c.id == row_id)).scalar()
        found: dict[str, Any] | None = json.loads(text) if text else None
        return found


def manual_rollbacks(engine: Engine) -> list[dict[str, Any]]:
    """The payloads of `changegate rollback` ledger events (script, version, forced)."""
    query = select(ledger.c.payload_json).where(ledger.c.kind == "deployment.manual_rollback").order_by(ledger.c.seq)
    with engine.connect() as connection:
        return [json.loads(text) for text in connection.execute(query).scalars()]
