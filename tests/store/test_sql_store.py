"""SqlStore on SQLite and PostgreSQL: round trips, ordering, locking, triggers, errors."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from changegate.adapters.store.sql import SqlStore
from changegate.core.evidence import VERDICT_RECORDED, evidence_sha256
from changegate.core.ledger import GENESIS_HASH, LedgerHead
from changegate.errors import StoreError
from changegate.settings import SettingsError
from tests.store.helpers import Database, at, record_sample_verdict


def test_events_round_trip(store: SqlStore) -> None:
    sydney = timezone(timedelta(hours=11))
    first = store.append_event(
        kind="deployment.started",
        subject="acme/api#7",
        payload={"worker": "api", "stage": 1, "ratio": 0.25, "who": "Zoë"},
        recorded_at=datetime(2026, 3, 2, 20, 30, 0, 123456, tzinfo=sydney),
    )
    second = store.append_event(kind="deployment.verified", subject="acme/api#7", payload={}, recorded_at=at(5))
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert list(store.iter_ledger()) == [first, second]
    read = next(store.iter_ledger())
    assert read.recorded_at == datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
    assert read.recorded_at.tzinfo is UTC
    assert read.payload == {"worker": "api", "stage": 1, "ratio": 0.25, "who": "Zoë"}
    assert store.head() == LedgerHead(2, second.hash)


def test_a_verdict_and_its_event_are_recorded_together(store: SqlStore) -> None:
    verdict_id = record_sample_verdict(store, pr_number=42, state="fail", minutes=3)
    row = store.get_verdict(verdict_id)
    assert row is not None
    assert (row.repository, row.pr_number, row.state, row.recorded_at) == ("acme/api", 42, "fail", at(3))
    assert row.snapshot["pull_request"]["title"] == "Füß ✓"
    assert row.evidence_sha256 == evidence_sha256(
        verdict=row.verdict, snapshot=row.snapshot, policy_sha256="a" * 64, changegate_version="0.1.0"
    )
    [event] = list(store.iter_ledger())
    assert (event.seq, event.kind, event.subject) == (row.ledger_seq, VERDICT_RECORDED, "acme/api#42")
    assert event.payload["verdict_id"] == verdict_id
    assert event.payload["evidence_sha256"] == row.evidence_sha256
    assert store.get_verdict(verdict_id + 1) is None


def test_a_failed_verdict_leaves_neither_row_nor_event(store: SqlStore) -> None:
    with pytest.raises(ValueError):
        store.record_verdict(
            repository="acme/api",
            pr_number=1,
            head_sha="0" * 40,
            change_type="standard",
            state="pass",
            verdict={"score": float("nan")},  # not JSON: refused before anything is written
            snapshot={},
            policy_sha256="a" * 64,
            changegate_version="0.1.0",
            recorded_at=at(0),
        )
    assert list(store.iter_ledger()) == []
    assert store.verify().ok


def test_naive_times_are_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.append_event(kind="x", subject="y", payload={}, recorded_at=datetime(2026, 1, 1))


def test_iter_after_and_tail(store: SqlStore) -> None:
    for minute in range(1, 8):
        store.append_event(kind="obligation.met", subject=f"pir-{minute}", payload={"n": minute}, recorded_at=at(minute))
    assert [entry.seq for entry in store.iter_ledger(after_seq=4)] == [5, 6, 7]
    assert [entry.seq for entry in store.tail(3)] == [5, 6, 7]
    assert [entry.seq for entry in store.tail(100)] == list(range(1, 8))


def test_verify_reports_an_intact_ledger(store: SqlStore) -> None:
    store.append_event(kind="emergency.declared", subject="INC-1", payload={"severity": "sev1"}, recorded_at=at(0))
    record_sample_verdict(store, pr_number=1, minutes=1)
    record_sample_verdict(store, pr_number=2, minutes=2)
    report = store.verify()
    assert report.ok, report.problems
    assert (report.entries, report.evidence_rows, report.last_seq) == (3, 2, 3)


def test_the_ledger_refuses_update_and_delete(store: SqlStore) -> None:
    store.append_event(kind="deployment.started", subject="acme/api#1", payload={}, recorded_at=at(0))
    for statement in ("UPDATE ledger SET subject = 'evil'", "DELETE FROM ledger"):
        with pytest.raises(DBAPIError, match="ledger is append-only"), store.engine.begin() as connection:
            connection.execute(text(statement))
    assert store.verify().ok


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgresql_also_refuses_truncate(store: SqlStore) -> None:
    with pytest.raises(DBAPIError, match="ledger is append-only"), store.engine.begin() as connection:
        connection.execute(text("TRUNCATE ledger CASCADE"))


def test_concurrent_writers_keep_one_chain(migrated: Database) -> None:
    """Threads with their own engines (as separate processes would have) append at once."""
    writers, per_writer = 6, 15
    stores = [SqlStore(migrated.url) for _ in range(writers)]
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                if n % 5 == 0:
                    record_sample_verdict(stores[index], pr_number=index * 100 + n, minutes=n)
                else:
                    stores[index].append_event(kind="deployment.started", subject=f"w{index}", payload={"n": n}, recorded_at=at(n))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        report = stores[0].verify()
        assert report.ok, report.problems
        assert [e.seq for e in stores[0].iter_ledger()] == list(range(1, writers * per_writer + 1))
        assert report.evidence_rows == writers * 3
    finally:
        for opened in stores:
            opened.close()


def test_verify_sees_one_snapshot_while_writers_append(migrated: Database) -> None:
    with SqlStore(migrated.url) as writer, SqlStore(migrated.url) as reader:
        done = threading.Event()
        failures: list[BaseException] = []

        def write() -> None:
            try:
                for n in range(40):
                    record_sample_verdict(writer, pr_number=n, minutes=n)
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                failures.append(error)
            finally:
                done.set()

        thread = threading.Thread(target=write)
        thread.start()
        reports = []
        while not done.is_set():
            reports.append(reader.verify())
        thread.join()
        assert failures == []
        assert all(report.ok for report in reports), [r.problems for r in reports if not r.ok]
        assert reader.verify().entries == 40


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_an_unmigrated_postgresql_database_is_refused(database: Database) -> None:
    with pytest.raises(StoreError, match=r"is not migrated: run `changegate db upgrade`"):
        SqlStore(database.url)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_migrates_itself_on_open(database: Database) -> None:
    with SqlStore(database.url) as opened:
        assert opened.verify().ok
        with opened.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.postgres
def test_an_unreachable_server_names_the_redacted_url() -> None:
    with pytest.raises(StoreError) as raised:
        SqlStore("postgresql://alice:hunter2@127.0.0.1:1/changegate")
    message = str(raised.value)
    assert "postgresql+psycopg://alice:***@127.0.0.1:1/changegate" in message
    assert "check that the server is running" in message
    assert "hunter2" not in message


def test_an_unopenable_sqlite_file_says_what_to_check(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="check that the directory exists and is writable"):
        SqlStore(f"sqlite:///{tmp_path}/missing/dir/changegate.db")


def test_text_too_long_for_its_column_is_refused_on_both_backends(store: SqlStore) -> None:
    with pytest.raises(ValueError, match=r"ledger.kind is 201 characters long; at most 200 fit"):
        store.append_event(kind="k" * 201, subject="s", payload={}, recorded_at=at(0))
    assert store.head() == LedgerHead()


def test_an_in_memory_sqlite_store_works() -> None:
    with SqlStore("sqlite://") as memory:
        record_sample_verdict(memory, pr_number=1)
        assert memory.verify().ok and memory.verify().entries == 1


def test_a_url_given_directly_is_named_as_such() -> None:
    with pytest.raises(SettingsError, match=r"^database URL mysql://u:\*\*\*@h/db is not supported"):
        SqlStore("mysql://u:pw@h/db")
