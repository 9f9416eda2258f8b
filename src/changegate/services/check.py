"""Check a pull request snapshot against the policy, and record the verdict as evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from changegate import __version__
from changegate.core.evaluate import evaluate
from changegate.core.snapshot import SnapshotInvalid, parse_snapshot
from changegate.core.verdict import Verdict
from changegate.errors import SnapshotError
from changegate.policy_source import LoadedPolicy
from changegate.services.ports import VerdictRecorder


def check_snapshot(data: Any, loaded: LoadedPolicy, *, at: dt.datetime, source: str = "snapshot") -> Verdict:
    try:
        snapshot = parse_snapshot(data)
    except SnapshotInvalid as invalid:
        listed = "\n  ".join(invalid.problems)
        raise SnapshotError(f"{source}: invalid snapshot ({len(invalid.problems)} problem(s)); expected the format in docs/snapshot.md:\n  {listed}") from None
    return evaluate(snapshot, loaded.policy, at=at)


def record(store: VerdictRecorder, verdict: Verdict, snapshot: Mapping[str, Any], loaded: LoadedPolicy, *, recorded_at: dt.datetime) -> int:
    """Store the verdict with its snapshot, the policy's hash and changegate's version."""
    return store.record_verdict(
        repository=verdict.repository,
        pr_number=verdict.pull_request,
        head_sha=verdict.head_sha,
        change_type=verdict.change_type.value,
        state=verdict.state.value,
        verdict=verdict.as_dict(),
        snapshot=snapshot,
        policy_sha256=loaded.sha256,
        changegate_version=__version__,
        recorded_at=recorded_at,
    )
