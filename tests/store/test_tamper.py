"""An attacker with the real `sqlite3` or `psql` client edits or deletes rows; `changegate ledger
verify` notices and names the first broken entry. The append-only triggers come first, so the
attacker drops them (as a superuser would) before tampering."""

from __future__ import annotations

import json
import re

import pytest

from changegate.adapters.store.sql import SqlStore
from tests.store.helpers import Database, RunCli, at, record_sample_verdict

DROP_TRIGGERS = {
    "sqlite": "DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete;",
    "postgresql": "DROP TRIGGER ledger_no_update ON ledger; DROP TRIGGER ledger_no_delete ON ledger;",
}


@pytest.fixture
def ledger_db(migrated: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """Five entries: seq 2 and 4 are verdicts #1 and #2; seq 5 is a deployment."""
    with SqlStore(migrated.url) as store:
        store.append_event(kind="emergency.declared", subject="INC-7", payload={"severity": "sev1"}, recorded_at=at(0))
        record_sample_verdict(store, pr_number=11, state="pending", minutes=1)
        store.append_event(kind="deployment.started", subject="acme/api#11", payload={"stage": 1}, recorded_at=at(2))
        record_sample_verdict(store, pr_number=12, state="fail", minutes=3)
        store.append_event(kind="deployment.verified", subject="acme/api#12", payload={"ok": True}, recorded_at=at(4))
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", migrated.url)
    return migrated


def tamper(database: Database, sql: str) -> None:
    result = database.run_sql(DROP_TRIGGERS[database.backend] + " " + sql)
    assert result.returncode == 0, result.stderr


def assert_broken_at(run_cli: RunCli, seq: int, *words: str) -> str:
    result = run_cli("ledger", "verify")
    assert result.exit_code == 1, result.out + result.err
    first_line = result.out.splitlines()[0]
    assert re.match(rf"ledger BROKEN at seq {seq}\b", first_line), result.out
    for word in words:
        assert word in first_line, result.out
    as_json = run_cli("ledger", "verify", "--format", "json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.out)["first_broken"]["seq"] == seq
    return first_line


@pytest.mark.usefixtures("ledger_db")
def test_intact_before_tampering(run_cli: RunCli) -> None:
    result = run_cli("ledger", "verify")
    assert result.exit_code == 0, result.err
    assert result.out.startswith("ledger intact: 5 entries, 2 verdicts cross-checked; head seq 5 ")
    report = json.loads(run_cli("ledger", "verify", "--format", "json").out)
    assert report["ok"] is True and report["first_broken"] is None


def test_an_update_of_a_ledger_row_is_named(ledger_db: Database, run_cli: RunCli) -> None:
    tamper(ledger_db, "UPDATE ledger SET payload_json = '{\"stage\":2}' WHERE seq = 3;")
    line = assert_broken_at(run_cli, 3, "deployment.started", "acme/api#11", "row edited")
    assert "hashes to" in line


def test_a_delete_of_a_ledger_row_is_named(ledger_db: Database, run_cli: RunCli) -> None:
    tamper(ledger_db, "DELETE FROM ledger WHERE seq = 3;")
    assert_broken_at(run_cli, 3, "entry 3 is missing (deleted): seq 2 is followed by seq 4")


def test_an_update_of_a_verdict_row_is_named(ledger_db: Database, run_cli: RunCli) -> None:
    ledger_db.run_sql("UPDATE verdicts SET state = 'pass' WHERE id = 2;").check_returncode()
    assert_broken_at(run_cli, 4, "verdict.recorded", "acme/api#12", "verdict #2 state is 'pass' but the ledger recorded 'fail'")


def test_an_edited_snapshot_is_named(ledger_db: Database, run_cli: RunCli) -> None:
    sql = "UPDATE verdicts SET snapshot_json = replace(snapshot_json, 'acme/api', 'acme/web') WHERE id = 1;"
    ledger_db.run_sql(sql).check_returncode()
    assert_broken_at(run_cli, 2, "verdict #1 evidence recomputes to")


def test_a_deleted_verdict_row_is_named(ledger_db: Database, run_cli: RunCli) -> None:
    ledger_db.run_sql("DELETE FROM verdicts WHERE id = 1;").check_returncode()
    assert_broken_at(run_cli, 2, "verdict_id=1 recorded by this event is missing")


def test_deleting_the_last_verdict_event_is_named_even_with_the_head_rewound(ledger_db: Database, run_cli: RunCli) -> None:
    sql = "DELETE FROM ledger WHERE seq >= 4; UPDATE ledger_head SET seq = 3, hash = (SELECT hash FROM ledger WHERE seq = 3);"
    if ledger_db.backend == "postgresql":  # psql enforces the foreign key; sqlite3 does not by default
        sql = "ALTER TABLE verdicts DROP CONSTRAINT fk_verdicts_ledger_seq_ledger; " + sql
    tamper(ledger_db, sql)
    assert_broken_at(run_cli, 4, "verdict #2 has no ledger event at seq 4 (entry deleted)")


def test_a_rewound_tail_without_evidence_changes_the_published_head(ledger_db: Database, run_cli: RunCli) -> None:
    """The limit of any hash chain: deleting trailing events that have no evidence rows and
    rewinding the head leaves a valid, shorter chain. The head seq and hash that `verify` prints
    are what to publish elsewhere (a ticket, a signed tag) to catch this."""
    published = run_cli("ledger", "verify").out.split("head seq ")[1].split(" (")[0]
    tamper(ledger_db, "DELETE FROM ledger WHERE seq = 5; UPDATE ledger_head SET seq = 4, hash = (SELECT hash FROM ledger WHERE seq = 4);")
    after = run_cli("ledger", "verify")
    assert after.exit_code == 0
    assert published.startswith("5 ") and f"head seq {published}" not in after.out


def test_deleting_the_tail_is_caught_by_the_head(ledger_db: Database, run_cli: RunCli) -> None:
    tamper(ledger_db, "DELETE FROM ledger WHERE seq = 5;")
    assert_broken_at(run_cli, 5, "the recorded head is seq 5")


def test_the_triggers_refuse_the_command_line_clients(ledger_db: Database, run_cli: RunCli) -> None:
    for sql in ("UPDATE ledger SET subject = 'evil' WHERE seq = 1;", "DELETE FROM ledger WHERE seq = 5;"):
        result = ledger_db.run_sql(sql)
        assert result.returncode != 0
        assert "ledger is append-only" in result.stderr
    assert run_cli("ledger", "verify").exit_code == 0


@pytest.mark.usefixtures("ledger_db")
def test_ledger_list(run_cli: RunCli) -> None:
    result = run_cli("ledger", "list", "--limit", "2")
    assert result.exit_code == 0
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == ["4", "5"]
    assert "verdict.recorded" in lines[0] and "acme/api#12" in lines[0]
    everything = json.loads(run_cli("ledger", "list", "--limit", "0", "--format", "json").out)
    assert [entry["seq"] for entry in everything] == [1, 2, 3, 4, 5]
    assert everything[1]["payload"]["verdict_id"] == 1
    assert everything[0]["recorded_at"] == "2026-03-02T09:30:00.000000Z"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # PostgreSQL's types refuse these
@pytest.mark.parametrize(
    ("sql", "seq", "words"),
    [
        ("UPDATE ledger SET recorded_at = 'yesterday' WHERE seq = 3;", 3, "row edited"),
        ("UPDATE ledger SET payload_json = '[1, 2]' WHERE seq = 2;", 2, "no longer a JSON object"),
        ("UPDATE verdicts SET verdict_json = 'null' WHERE id = 2;", 4, "no longer parses"),
        ("UPDATE verdicts SET ledger_seq = 'two' WHERE id = 1;", 2, "verdict_id=1 recorded by this event is missing"),
    ],
)
def test_garbled_values_are_reported_not_crashed_on(ledger_db: Database, run_cli: RunCli, sql: str, seq: int, words: str) -> None:
    tamper(ledger_db, sql)
    assert_broken_at(run_cli, seq, words)
