"""Wiring for emergencies and obligations: the store, the ledger, git and Slack."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from changegate.adapters.notify import notifier_from_env
from changegate.adapters.store.verdict_index import VerdictIndex
from changegate.core.obligations import Obligation
from changegate.core.policy import Policy
from changegate.errors import ChangegateError
from changegate.services.emergency import link, remind
from changegate.services.obligations import obligations
from changegate.wiring import emergency_store, open_store, utc_now

_PR = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+)", re.MULTILINE)


def current_obligations(policy: Policy, *, now: dt.datetime) -> list[Obligation]:
    with open_store() as store:
        return obligations(policy, emergency_store(store).all(), store.iter_ledger(), now=now)


def send_reminders(policy: Policy, *, lead: dt.timedelta) -> list[str]:
    now = utc_now()
    with open_store() as store:
        found = obligations(policy, emergency_store(store).all(), store.iter_ledger(), now=now)
        return remind(found, list(store.iter_ledger()), notifier_from_env(), store, lead=lead, now=now)


def find_posthoc_pr(emergency_id: str, *, repo_path: Path, branch: str) -> tuple[int, dt.datetime] | None:
    """The merged PR whose commit on `branch` names the emergency id: (number, merge time)."""
    import subprocess

    out = subprocess.run(["git", "log", "--first-parent", branch, "-F", f"--grep={emergency_id}", "--format=%H%x00%cI%x00%B%x1e"],
                         cwd=repo_path, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ChangegateError(f"git log in {repo_path} failed: {out.stderr.strip()}")
    for chunk in filter(str.strip, out.stdout.split("\x1e")):
        _sha, when, message = chunk.strip().split("\x00", 2)
        match = _PR.search(message)
        if match:
            return int(match.group(1) or match.group(2)), dt.datetime.fromisoformat(when)
    return None


def link_emergency(emergency_id: str, *, pull_request: int | None, opened_at: dt.datetime | None, approved_at: dt.datetime | None, repo_path: Path, branch: str) -> str:
    source = "manual"
    merged_at = None
    if pull_request is None:
        found = find_posthoc_pr(emergency_id, repo_path=repo_path, branch=branch)
        if found is None:
            raise ChangegateError(f"no commit on {branch} names {emergency_id} with a PR number: give --pr N")
        pull_request, merged_at = found
        source = "git history"
    with open_store() as store:
        book = emergency_store(store)
        record = book.get(emergency_id)
        verdict = VerdictIndex(store.engine).latest_verdict(pr_number=pull_request, repository=record["repository"] if record else None)
        snapshot = _snapshot_times(store, pull_request, record["repository"] if record else None) if verdict else None
        opened = opened_at or (snapshot[0] if snapshot else None) or merged_at
        approved = approved_at or (snapshot[1] if snapshot else None)
        if opened is None:
            raise ChangegateError(f"when was #{pull_request} opened? give --opened-at (no recorded verdict has it)")
        link(book, store, emergency_id, pull_request=pull_request, opened_at=opened, approved_at=approved, source=source, now=utc_now())
    return f"{emergency_id} linked to #{pull_request} (opened {opened.isoformat()}; {'approved ' + approved.isoformat() if approved else 'not yet approved'}; from {source})"


def _snapshot_times(store: object, number: int, repository: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    import json

    from sqlalchemy import select

    from changegate.adapters.store.tables import verdicts

    query = select(verdicts.c.snapshot_json, verdicts.c.verdict_json).where(verdicts.c.pr_number == number)
    if repository:
        query = query.where(verdicts.c.repository == repository)
    with store.engine.connect() as connection:  # type: ignore[attr-defined]
        row = connection.execute(query.order_by(verdicts.c.id.desc())).first()
    if row is None:
        return None, None
    snapshot, verdict = json.loads(row[0]), json.loads(row[1])
    opened = dt.datetime.fromisoformat(snapshot["pull_request"]["created_at"].replace("Z", "+00:00"))
    counted = next((r for r in verdict["requirements"] if r["id"] == "approvals.count"), None)
    approvers = set(counted["evidence"].get("approved_by", [])) if counted and counted["state"] == "satisfied" else set()
    times = [dt.datetime.fromisoformat(r["submitted_at"].replace("Z", "+00:00")) for r in snapshot.get("reviews", [])
             if r.get("user") and r["user"]["login"] in approvers and r.get("submitted_at")]
    return opened, (max(times) if times else None)
