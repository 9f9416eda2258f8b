"""What an auditor samples for a change made through a PR: who approved it and when, on which commit,
who merged it, and which checks ran on the merged head. The positive evidence beside the findings. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from changegate.core.snapshot import Snapshot


def review_record(snapshot: Snapshot, pull: Mapping[str, Any]) -> dict[str, Any]:
    """`pull` is the snapshot's raw `pull_request` (for `merged_by`, which the model does not keep)."""
    pr, head = snapshot.pull_request, snapshot.pull_request.head.sha
    latest: dict[str, Any] = {}
    for review in sorted((r for r in snapshot.reviews if r.user is not None and r.state in {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}),
                         key=lambda r: (r.submitted_at or dt.datetime.min.replace(tzinfo=dt.UTC), r.id)):
        latest[review.user.login if review.user else ""] = review  # a reviewer's latest decision counts
    approvals = [{"by": login, "at": _iso(r.submitted_at), "commit": r.commit_id, "on_head": r.commit_id == head}
                 for login, r in sorted(latest.items()) if r.state == "APPROVED"]
    merged_by = (pull.get("merged_by") or {}).get("login") if isinstance(pull.get("merged_by"), Mapping) else None
    before: bool | None = None
    if approvals and pr.merged_at is not None:
        before = all(r.submitted_at is not None and r.submitted_at <= pr.merged_at for r in latest.values() if r.state == "APPROVED")
    checks = [{"name": c.name, "conclusion": c.conclusion or c.status} for c in sorted(snapshot.check_runs, key=lambda c: (c.name, c.id)) if c.head_sha == head]
    statuses: dict[str, Any] = {}
    for status in sorted(snapshot.statuses, key=lambda s: s.updated_at or dt.datetime.min.replace(tzinfo=dt.UTC)):
        statuses[status.context] = status  # the latest per context
    checks += [{"name": context, "conclusion": status.state} for context, status in sorted(statuses.items())]
    return {"url": pr.html_url, "title": pr.title, "author": pr.user.login, "head_sha": head, "approvals": approvals,
            "changes_requested": sorted(login for login, r in latest.items() if r.state == "CHANGES_REQUESTED"),
            "merged_at": _iso(pr.merged_at), "merged_by": merged_by, "approved_before_merge": before, "checks": checks}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
