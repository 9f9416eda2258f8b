"""Required CI checks (lint, test, build): check runs and commit statuses on the head commit. Pure.

Missing or still running is pending; a failure is failed. Only results for the head commit count.
"""

from __future__ import annotations

import datetime as dt
import fnmatch

from changegate.core.policy import CheckSettings
from changegate.core.snapshot import CheckRun, Snapshot, Status
from changegate.core.verdict import Requirement, State, worst

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FAILED_CONCLUSIONS = frozenset({"failure", "cancelled", "timed_out", "startup_failure"})
FAILED_STATUSES = frozenset({"failure", "error"})


def _latest_runs(snapshot: Snapshot) -> dict[str, CheckRun]:
    latest: dict[str, CheckRun] = {}
    for run in sorted(snapshot.check_runs, key=lambda r: (r.started_at or r.completed_at or _EPOCH, r.id)):
        if run.head_sha == snapshot.head_sha:
            latest[run.name] = run
    return latest


def _latest_statuses(snapshot: Snapshot) -> dict[str, Status]:
    latest: dict[str, Status] = {}
    for status in sorted(snapshot.statuses, key=lambda s: s.updated_at or _EPOCH):
        latest[status.context] = status
    return latest


def _run_state(run: CheckRun, settings: CheckSettings) -> tuple[State, str]:
    if run.status != "completed":
        return State.PENDING, f"{run.name}: {run.status.replace('_', ' ')}"
    ok = {"success"} | ({"neutral"} if settings.neutral_is_success else set()) | ({"skipped"} if settings.skipped_is_success else set())
    if run.conclusion in ok:
        return State.SATISFIED, f"{run.name}: {run.conclusion}"
    if run.conclusion in FAILED_CONCLUSIONS:
        return State.FAILED, f"{run.name}: {run.conclusion}"
    return State.PENDING, f"{run.name}: {run.conclusion or 'no conclusion'}"


def _status_state(status: Status) -> tuple[State, str]:
    if status.state == "success":
        return State.SATISFIED, f"{status.context}: success"
    if status.state in FAILED_STATUSES:
        return State.FAILED, f"{status.context}: {status.state}"
    return State.PENDING, f"{status.context}: {status.state}"


def required_checks(snapshot: Snapshot, settings: CheckSettings) -> Requirement:
    runs = _latest_runs(snapshot)
    statuses = _latest_statuses(snapshot)
    results: dict[str, tuple[State, str]] = {}
    for wanted in settings.required:
        found = [_run_state(run, settings) for name, run in runs.items() if fnmatch.fnmatchcase(name, wanted)]
        found += [_status_state(status) for name, status in statuses.items() if fnmatch.fnmatchcase(name, wanted)]
        if not found:
            results[wanted] = (State.PENDING, "not reported on the head commit")
        else:
            results[wanted] = (worst([state for state, _ in found]), "; ".join(text for _, text in found))
    overall = worst([state for state, _ in results.values()])
    evidence: dict[str, object] = {"head_sha": snapshot.head_sha, "required": list(settings.required), "results": {name: text for name, (_, text) in results.items()}}
    if overall is State.SATISFIED:
        return Requirement("checks.required", overall, f"Required checks passed: {', '.join(settings.required)}", evidence)
    bad = [f"{name} ({text})" for name, (state, text) in results.items() if state is not State.SATISFIED]
    verb = "failed" if overall is State.FAILED else "waiting"
    return Requirement("checks.required", overall, f"Required checks {verb}: {'; '.join(bad)}; the author fixes and pushes, or re-runs CI", evidence)

