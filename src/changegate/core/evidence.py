"""Verdict evidence: what is stored with each verdict, and how it is cross-checked. Pure.

A stored verdict row holds the verdict and the PR snapshot it was computed from (canonical JSON),
the policy's hash and changegate's version. `evidence_sha256` over those is what an auditor
recomputes. The `verdict.recorded` ledger event repeats the row's id, columns and evidence hash,
so editing the row, or deleting it, no longer agrees with the hash chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from changegate.core.canonical import canonical_json, format_timestamp, sha256_hex
from changegate.core.ledger import LedgerEntry

VERDICT_RECORDED = "verdict.recorded"
VERDICT_FIELDS = (
    "repository",
    "pr_number",
    "head_sha",
    "change_type",
    "state",
    "policy_sha256",
    "changegate_version",
)
EVIDENCE_KINDS: Mapping[str, str] = {VERDICT_RECORDED: "verdict_id"}
"""Event kinds that must have an evidence row, and the payload key that names the row."""


def evidence_sha256(
    *,
    verdict: Mapping[str, Any],
    snapshot: Mapping[str, Any],
    policy_sha256: str,
    changegate_version: str,
) -> str:
    """SHA-256 of the canonical JSON of {verdict, snapshot, policy_sha256, changegate_version}."""
    document = {
        "verdict": verdict,
        "snapshot": snapshot,
        "policy_sha256": policy_sha256,
        "changegate_version": changegate_version,
    }
    return sha256_hex(canonical_json(document))


def verdict_subject(repository: str, pr_number: int) -> str:
    """The ledger subject of a verdict event: `owner/name#123`."""
    return f"{repository}#{pr_number}"


@dataclass(frozen=True)
class VerdictRow:
    """One stored verdict, exactly as the `verdicts` table holds it."""

    id: int
    ledger_seq: int
    recorded_at: datetime
    repository: str
    pr_number: int
    head_sha: str
    change_type: str
    state: str
    policy_sha256: str
    changegate_version: str
    verdict_json: str
    snapshot_json: str
    evidence_sha256: str

    @property
    def label(self) -> str:
        return f"verdict #{self.id}"

    @property
    def subject(self) -> str:
        return verdict_subject(self.repository, self.pr_number)

    @property
    def verdict(self) -> dict[str, Any]:
        return _object(self.verdict_json, what=f"{self.label} verdict_json")

    @property
    def snapshot(self) -> dict[str, Any]:
        return _object(self.snapshot_json, what=f"{self.label} snapshot_json")

    def recompute_evidence(self) -> str | None:
        """The evidence hash recomputed from the stored JSON, or None if it no longer parses."""
        try:
            verdict, snapshot = self.verdict, self.snapshot
        except ValueError:
            return None
        return evidence_sha256(
            verdict=verdict,
            snapshot=snapshot,
            policy_sha256=self.policy_sha256,
            changegate_version=self.changegate_version,
        )

    def event_payload(self) -> dict[str, Any]:
        """The payload of this row's `verdict.recorded` event."""
        payload: dict[str, Any] = {name: getattr(self, name) for name in VERDICT_FIELDS}
        payload["verdict_id"] = self.id
        payload["evidence_sha256"] = self.evidence_sha256
        return payload

    def discrepancy(self, entry: LedgerEntry) -> str | None:
        """Why this row disagrees with the ledger `entry` at its seq, or None if they agree."""
        if entry.kind != VERDICT_RECORDED:
            return f"{self.label} points at seq {entry.seq}, a {entry.kind} event (row edited)"
        recomputed = self.recompute_evidence()
        if recomputed is None:
            return f"{self.label} holds JSON that no longer parses (verdict row edited)"
        if recomputed != self.evidence_sha256:
            return (
                f"{self.label} evidence recomputes to {recomputed[:12]} but the row says "
                f"{self.evidence_sha256[:12]} (verdict, snapshot, policy hash or version edited)"
            )
        return self._payload_discrepancy(entry)

    def _payload_discrepancy(self, entry: LedgerEntry) -> str | None:
        try:
            recorded = entry.payload
        except ValueError:
            return f"the ledger payload for {self.label} no longer parses (ledger row edited)"
        for name, value in self.event_payload().items():
            if recorded.get(name) != value:
                return (
                    f"{self.label} {name} is {value!r} but the ledger recorded "
                    f"{recorded.get(name)!r} (verdict row or ledger row edited)"
                )
        if format_timestamp(self.recorded_at) != format_timestamp(entry.recorded_at):
            return f"{self.label} recorded_at differs from its ledger entry's (row edited)"
        return None


def _object(text: str, *, what: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value
