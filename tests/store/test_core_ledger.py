"""The pure hash chain: canonical JSON, entry hashes, and what verify_chain names."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changegate.core.evidence import EVIDENCE_KINDS, VerdictRow, evidence_sha256
from changegate.core.ledger import (
    GENESIS_HASH,
    LedgerEntry,
    LedgerHead,
    canonical_json,
    entry_hash,
    format_timestamp,
    new_entry,
    verify_chain,
)
from tests.store.helpers import T0, at


def chain(count: int) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    head = LedgerHead()
    for index in range(count):
        entry = new_entry(
            prev=head,
            kind="deployment.started" if index % 2 else "emergency.declared",
            subject=f"acme/api#{index}",
            payload={"n": index, "note": "ünïcode ✓", "nested": {"b": [1, 2.5, None], "a": True}},
            recorded_at=at(index),
        )
        entries.append(entry)
        head = LedgerHead(entry.seq, entry.hash)
    return entries


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, "é"], "c": None}}) == '{"a":{"c":null,"d":[1,"é"]},"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_entry_hash_is_sha256_of_the_canonical_fields() -> None:
    document = (
        '{"kind":"verdict.recorded","payload":{"a":1},"prev_hash":"' + GENESIS_HASH + '",'
        '"recorded_at":"2026-03-02T09:30:00.000000Z","seq":1,"subject":"acme/api#1"}'
    )
    expected = hashlib.sha256(document.encode()).hexdigest()
    sydney = timezone(timedelta(hours=11))
    digest = entry_hash(
        prev_hash=GENESIS_HASH,
        seq=1,
        kind="verdict.recorded",
        subject="acme/api#1",
        recorded_at=T0.astimezone(sydney),  # the same instant in another zone hashes the same
        payload={"a": 1},
    )
    assert digest == expected


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 1, 1))


def test_an_intact_chain_verifies() -> None:
    report = verify_chain(chain(5), head=LedgerHead(5, chain(5)[-1].hash))
    assert report.ok and report.entries == 5 and report.last_seq == 5 and report.first is None


def test_an_edited_entry_is_named_with_why() -> None:
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], subject="acme/evil#2")
    report = verify_chain(entries)
    assert report.first is not None
    assert (report.first.seq, report.first.reason, report.first.subject) == (3, "hash_mismatch", "acme/evil#2")
    assert len(report.problems) == 1  # the next link still matches the stored hash


def test_a_deleted_entry_is_named_as_missing() -> None:
    entries = chain(5)
    del entries[1]
    report = verify_chain(entries)
    assert report.first is not None
    assert (report.first.seq, report.first.reason) == (2, "missing")
    assert report.first.detail == "entry 2 is missing (deleted): seq 1 is followed by seq 3"


def test_a_deleted_and_renumbered_entry_breaks_the_link() -> None:
    entries = chain(4)
    del entries[1]
    entries[1:] = [dataclasses.replace(e, seq=e.seq - 1) for e in entries[1:]]
    report = verify_chain(entries)
    assert report.first is not None
    assert report.first.seq == 2 and report.first.reason in {"prev_hash_mismatch", "hash_mismatch"}


def test_a_deleted_tail_is_caught_by_the_recorded_head() -> None:
    entries = chain(4)
    head = LedgerHead(4, entries[-1].hash)
    report = verify_chain(entries[:3], head=head)
    assert report.first is not None
    assert (report.first.seq, report.first.reason) == (4, "missing")


def test_a_payload_that_no_longer_parses_is_an_edit() -> None:
    entries = chain(3)
    entries[0] = dataclasses.replace(entries[0], payload_json="{not json")
    report = verify_chain(entries)
    assert report.first is not None and report.first.seq == 1 and report.first.reason == "hash_mismatch"


@given(
    index=st.integers(min_value=0, max_value=5),
    field=st.sampled_from(["kind", "subject", "payload_json", "prev_hash", "hash", "recorded_at", "seq"]),
)
def test_any_single_field_change_is_detected_at_that_entry(index: int, field: str) -> None:
    entries = chain(6)
    original = entries[index]
    changed: object
    if field == "recorded_at":
        changed = original.recorded_at + timedelta(microseconds=1)
    elif field == "seq":
        changed = original.seq + 100
    elif field == "payload_json":
        changed = original.payload_json.replace('"n":', '"m":')
    else:
        changed = str(getattr(original, field))[:-1] + "x"
    entries[index] = dataclasses.replace(original, **{field: changed})
    report = verify_chain(entries, head=LedgerHead(6, chain(6)[-1].hash))
    assert report.first is not None
    assert report.first.seq == index + 1


def verdict_for(entry_seq: int, verdict_id: int) -> VerdictRow:
    verdict, snapshot = {"state": "pass"}, {"repository": "acme/api"}
    return VerdictRow(
        id=verdict_id,
        ledger_seq=entry_seq,
        recorded_at=at(entry_seq),
        repository="acme/api",
        pr_number=7,
        head_sha="f" * 40,
        change_type="standard",
        state="pass",
        policy_sha256="a" * 64,
        changegate_version="0.1.0",
        verdict_json=canonical_json(verdict),
        snapshot_json=canonical_json(snapshot),
        evidence_sha256=evidence_sha256(
            verdict=verdict, snapshot=snapshot, policy_sha256="a" * 64, changegate_version="0.1.0"
        ),
    )


def verdict_chain() -> tuple[list[LedgerEntry], list[VerdictRow]]:
    entries, rows, head = [], [], LedgerHead()
    for seq in range(1, 5):
        row = verdict_for(seq, verdict_id=10 + seq)
        entry = new_entry(prev=head, kind="verdict.recorded", subject=row.subject, payload=row.event_payload(), recorded_at=row.recorded_at)
        entries.append(entry)
        rows.append(row)
        head = LedgerHead(entry.seq, entry.hash)
    return entries, rows


def test_verdict_rows_cross_check_against_their_events() -> None:
    entries, rows = verdict_chain()
    assert verify_chain(entries, evidence=rows, evidence_kinds=EVIDENCE_KINDS).ok
    edited = [*rows[:2], dataclasses.replace(rows[2], state="fail"), rows[3]]
    report = verify_chain(entries, evidence=edited, evidence_kinds=EVIDENCE_KINDS)
    assert report.first is not None
    assert (report.first.seq, report.first.reason) == (3, "evidence_mismatch")
    assert "verdict #13 state is 'fail' but the ledger recorded 'pass'" in report.first.detail


def test_an_edited_snapshot_no_longer_recomputes() -> None:
    entries, rows = verdict_chain()
    rows[1] = dataclasses.replace(rows[1], snapshot_json='{"repository":"acme/other"}')
    report = verify_chain(entries, evidence=rows, evidence_kinds=EVIDENCE_KINDS)
    assert report.first is not None and report.first.seq == 2
    assert "evidence recomputes to" in report.first.detail


def test_a_deleted_verdict_row_is_named_by_its_event() -> None:
    entries, rows = verdict_chain()
    report = verify_chain(entries, evidence=[rows[0], rows[2], rows[3]], evidence_kinds=EVIDENCE_KINDS)
    assert report.first is not None
    assert (report.first.seq, report.first.reason) == (2, "evidence_missing")
    assert "verdict_id=12" in report.first.detail


def test_a_verdict_whose_event_is_gone_is_named() -> None:
    entries, rows = verdict_chain()
    report = verify_chain(entries[:3], evidence=rows, evidence_kinds=EVIDENCE_KINDS)
    assert report.first is not None
    assert (report.first.seq, report.first.reason) == (4, "evidence_orphaned")
    assert "verdict #14" in report.first.detail


def test_a_verdict_pointing_nowhere_is_listed_after_the_event_it_lost() -> None:
    entries, rows = verdict_chain()
    rows[1] = dataclasses.replace(rows[1], ledger_seq=0)
    report = verify_chain(entries, evidence=sorted(rows, key=lambda r: r.ledger_seq), evidence_kinds=EVIDENCE_KINDS)
    assert [(p.seq, p.reason) for p in report.problems] == [(2, "evidence_missing"), (0, "evidence_unlinked")]
