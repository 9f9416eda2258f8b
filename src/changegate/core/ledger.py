"""The tamper-evident ledger: canonical JSON, the SHA-256 hash chain, and its verification.

Pure: no I/O and no clock. Each entry's hash covers its own fields and the previous entry's hash,
so editing a row breaks its hash and deleting one breaks the sequence or the next link; the
recorded head (last seq and hash) catches a deleted tail. Evidence rows kept beside the ledger
(verdicts, see `core/evidence.py`) are cross-checked against the event that vouches for each, so
editing or deleting either side is detected too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from changegate.core.canonical import canonical_json as canonical_json
from changegate.core.canonical import format_timestamp as format_timestamp
from changegate.core.canonical import sha256_hex as sha256_hex

GENESIS_HASH = "0" * 64
MAX_PROBLEMS = 100


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    kind: str,
    subject: str,
    recorded_at: datetime,
    payload: Mapping[str, Any],
) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of an entry."""
    document = {
        "prev_hash": prev_hash,
        "seq": seq,
        "kind": kind,
        "subject": subject,
        "recorded_at": format_timestamp(recorded_at),
        "payload": payload,
    }
    return sha256_hex(canonical_json(document))


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row as stored; `payload_json` is the stored text (canonical JSON)."""

    seq: int
    recorded_at: datetime
    kind: str
    subject: str
    payload_json: str
    prev_hash: str
    hash: str

    @property
    def payload(self) -> dict[str, Any]:
        """The parsed payload; ValueError if the stored text is not a JSON object."""
        value = json.loads(self.payload_json)
        if not isinstance(value, dict):
            raise ValueError(f"ledger entry {self.seq}: payload is not a JSON object")
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "recorded_at": format_timestamp(self.recorded_at),
            "kind": self.kind,
            "subject": self.subject,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class LedgerHead:
    """The last entry's seq and hash (seq 0 and GENESIS_HASH for an empty ledger)."""

    seq: int = 0
    hash: str = GENESIS_HASH


def new_entry(
    *,
    prev: LedgerHead,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    recorded_at: datetime,
) -> LedgerEntry:
    """The entry that follows `prev`, hashed exactly as `verify_chain` will re-hash it."""
    seq = prev.seq + 1
    payload_json = canonical_json(payload)
    digest = entry_hash(
        prev_hash=prev.hash,
        seq=seq,
        kind=kind,
        subject=subject,
        recorded_at=recorded_at,
        payload=json.loads(payload_json),  # hash what will be read back, not the caller's types
    )
    return LedgerEntry(
        seq=seq,
        recorded_at=recorded_at,
        kind=kind,
        subject=subject,
        payload_json=payload_json,
        prev_hash=prev.hash,
        hash=digest,
    )


class EvidenceRow(Protocol):
    """A row kept beside the ledger that one ledger event vouches for (e.g. a stored verdict)."""

    @property
    def ledger_seq(self) -> int: ...

    @property
    def label(self) -> str: ...  # how a person names the row, e.g. `verdict #7`

    def discrepancy(self, entry: LedgerEntry) -> str | None:
        """Why the row disagrees with the entry at its `ledger_seq`, or None if they agree."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong, pinned to the ledger seq where it shows."""

    seq: int
    reason: str  # missing | prev_hash_mismatch | hash_mismatch | evidence_* | head_mismatch
    detail: str
    kind: str | None = None
    subject: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain: intact, or the problems found (first one first)."""

    entries: int
    evidence_rows: int
    last_seq: int
    last_hash: str
    problems: tuple[Problem, ...]
    more_problems: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "evidence_rows": self.evidence_rows,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_broken": self.first.to_json() if self.first else None,
            "problems": [problem.to_json() for problem in self.problems],
            "more_problems": self.more_problems,
        }


def verify_chain(
    entries: Iterable[LedgerEntry],
    *,
    evidence: Iterable[EvidenceRow] = (),
    evidence_kinds: Mapping[str, str] | None = None,
    head: LedgerHead | None = None,
) -> ChainReport:
    """Walk `entries` (in seq order) and name every break, the first broken seq first.

    `evidence` rows (sorted by `ledger_seq`) are matched to the entries they point at;
    `evidence_kinds` maps each event kind that must have an evidence row to the payload key
    naming it (e.g. `{"verdict.recorded": "verdict_id"}`). `head` is the recorded last entry.
    """
    walk = _Walk(iter(evidence), evidence_kinds or {})
    for entry in entries:
        walk.step(entry)
    return walk.finish(head)


class _Walk:
    """The state of one verification pass: bounded memory whatever the ledger's length."""

    def __init__(self, evidence: Iterator[EvidenceRow], kinds: Mapping[str, str]) -> None:
        self.evidence, self.kinds = evidence, kinds
        self.pending: EvidenceRow | None = next(evidence, None)
        self.last = LedgerHead()
        self.entries = self.rows = 0
        self.problems: list[Problem] = []
        self.more = False

    def report(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more = True

    def step(self, entry: LedgerEntry) -> None:
        self.entries += 1
        self._link(entry)
        self._content(entry)
        self._evidence(entry)
        self.last = LedgerHead(seq=entry.seq, hash=entry.hash)

    def _problem(self, entry: LedgerEntry, reason: str, detail: str) -> None:
        self.report(Problem(entry.seq, reason, detail, kind=entry.kind, subject=entry.subject))

    def _link(self, entry: LedgerEntry) -> None:
        expected = self.last.seq + 1
        if entry.seq > expected:
            detail = f"{_missing(expected, entry.seq - 1)} (deleted): seq {self.last.seq} is followed by seq {entry.seq}"
            self.report(Problem(expected, "missing", detail))
        elif entry.seq < expected:
            self._problem(entry, "out_of_order", f"seq {entry.seq} follows seq {self.last.seq}")
        elif entry.prev_hash != self.last.hash:
            self._problem(
                entry,
                "prev_hash_mismatch",
                f"prev_hash {entry.prev_hash[:12]} is not the hash {self.last.hash[:12]} of entry "
                f"{self.last.seq}: an entry before it was replaced or removed",
            )

    def _content(self, entry: LedgerEntry) -> None:
        try:
            payload = entry.payload
        except ValueError:
            self._problem(entry, "hash_mismatch", "payload is no longer a JSON object (row edited)")
            return
        recomputed = entry_hash(
            prev_hash=entry.prev_hash,
            seq=entry.seq,
            kind=entry.kind,
            subject=entry.subject,
            recorded_at=entry.recorded_at,
            payload=payload,
        )
        if recomputed != entry.hash:
            self._problem(
                entry,
                "hash_mismatch",
                f"content hashes to {recomputed[:12]}, not its stored hash {entry.hash[:12]} "
                "(row edited)",
            )

    def _evidence(self, entry: LedgerEntry) -> None:
        while self.pending is not None and self.pending.ledger_seq < entry.seq:
            self._orphan(self.pending)
            self._advance()
        matched = False
        while self.pending is not None and self.pending.ledger_seq == entry.seq:
            why = self.pending.discrepancy(entry)
            if matched:
                why = f"{self.pending.label} claims an event another row already claims"
            if why is not None:
                self._problem(entry, "evidence_mismatch", why)
            matched = True
            self._advance()
        if not matched and entry.kind in self.kinds:
            key = self.kinds[entry.kind]
            try:
                named = entry.payload.get(key)
            except ValueError:
                named = None
            detail = f"{key}={named} recorded by this event is missing (deleted or unlinked)"
            self._problem(entry, "evidence_missing", detail)

    def _orphan(self, row: EvidenceRow) -> None:
        if row.ledger_seq < 1:  # listed last: the event it lost is reported at its own seq
            self.report(Problem(0, "evidence_unlinked", f"{row.label} points at no ledger entry"))
            return
        detail = f"{row.label} has no ledger event at seq {row.ledger_seq} (entry deleted)"
        self.report(Problem(row.ledger_seq, "evidence_orphaned", detail))

    def _advance(self) -> None:
        self.rows += 1
        self.pending = next(self.evidence, None)

    def finish(self, head: LedgerHead | None) -> ChainReport:
        while self.pending is not None:
            self._orphan(self.pending)
            self._advance()
        if head is not None and head != self.last:
            self.report(_head_problem(head, self.last))
        return ChainReport(
            entries=self.entries,
            evidence_rows=self.rows,
            last_seq=self.last.seq,
            last_hash=self.last.hash,
            problems=tuple(sorted(self.problems, key=lambda problem: (problem.seq < 1, problem.seq))),
            more_problems=self.more,
        )


def _head_problem(head: LedgerHead, last: LedgerHead) -> Problem:
    if head.seq > last.seq:
        detail = f"{_missing(last.seq + 1, head.seq)} (deleted): the recorded head is seq {head.seq}"
        return Problem(last.seq + 1, "missing", detail)
    if head.seq < last.seq:
        detail = f"the recorded head is seq {head.seq} but the ledger runs to seq {last.seq}"
        return Problem(head.seq + 1, "head_mismatch", detail)
    detail = f"the recorded head hash {head.hash[:12]} is not the last entry's {last.hash[:12]}"
    return Problem(head.seq, "head_mismatch", detail)


def _missing(first: int, last: int) -> str:
    return f"entry {first} is missing" if first == last else f"entries {first}..{last} are missing"
