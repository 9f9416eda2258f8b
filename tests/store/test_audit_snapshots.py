"""The audit's PR evidence in the store, on SQLite and PostgreSQL: recorded and fetched snapshots
indexed by PR (newest row wins), loaded by row id; `changegate rollback` events."""

from __future__ import annotations

from changegate.adapters.store.audit_snapshots import AuditSnapshotStore, manual_rollbacks
from changegate.adapters.store.sql import SqlStore
from tests.store.helpers import T0


def snapshot(pr: int, head: str) -> dict[str, object]:
    return {"repository": "o/r", "pull_request": {"number": pr, "head": {"sha": head}}, "reviews": []}


def test_fetched_snapshots_are_kept_and_the_newest_per_pr_is_used(store: SqlStore) -> None:
    snapshots = AuditSnapshotStore(store.engine)
    first = snapshots.save(repository="o/r", pr_number=7, snapshot=snapshot(7, "a" * 40), fetched_at=T0)
    newer = snapshots.save(repository="o/r", pr_number=7, snapshot=snapshot(7, "b" * 40), fetched_at=T0)
    other = snapshots.save(repository="o/other", pr_number=7, snapshot=snapshot(7, "c" * 40), fetched_at=T0)
    assert newer > first and snapshots.fetched_index("o/r") == {7: newer} and snapshots.fetched_index("o/other") == {7: other}
    assert snapshots.load_fetched(newer) == snapshot(7, "b" * 40) and snapshots.load_fetched(10_000) is None


def test_recorded_snapshots_are_indexed_in_one_query(store: SqlStore) -> None:
    ids = [store.record_verdict(repository="o/r", pr_number=pr, head_sha="a" * 40, change_type="standard", state="pass", verdict={},
                                snapshot=snapshot(pr, "a" * 40), policy_sha256="0" * 64, changegate_version="t", recorded_at=T0) for pr in (7, 7, 8)]
    snapshots = AuditSnapshotStore(store.engine)
    assert snapshots.recorded_index("o/r") == {7: ids[1], 8: ids[2]} and snapshots.recorded_index("x/y") == {}
    assert snapshots.recorded_index(None) == {7: ids[1], 8: ids[2]}
    assert snapshots.load_recorded(ids[2]) == snapshot(8, "a" * 40)


def test_manual_rollbacks_come_from_the_ledger(store: SqlStore) -> None:
    store.append_event(kind="deployment.manual_rollback", subject="api/production", payload={"script": "api", "version": "v1", "forced": False}, recorded_at=T0)
    store.append_event(kind="deployment.released", subject="app", payload={}, recorded_at=T0)
    assert manual_rollbacks(store.engine) == [{"script": "api", "version": "v1", "forced": False}]
