"""A hand-built AuditResult: six weeks, all three types, findings, an unlinked deployment, hostile text."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from typing import Any

from changegate.core.audit_model import AuditResult, Change, Kind
from changegate.reports.common import exceptions_of, iso_week

UTC = dt.UTC
START = dt.datetime(2026, 9, 28, 9, 0, tzinfo=UTC)  # Monday of 2026-W40
HOSTILE = '<script>alert("x")</script> & </table>'
UNLINKED = {"deployment_id": "dep-9f1c", "environment": "production", "sha": "feedface" * 5,
            "created_on": "2026-10-21T22:14:00+00:00"}


def _sha(n: int) -> str:
    return hashlib.sha1(str(n).encode()).hexdigest()


def change(n: int, *, day: int, kind: Kind = "squash_pr", ctype: str | None = "standard",
           findings: dict[str, str] | None = None, deployed_after_hours: float | None = 20.0,
           subject: str = "", emergency: str | None = None) -> Change:
    committed = START + dt.timedelta(days=day, hours=n % 5)
    c = Change(sha=_sha(n), kind=kind, pr=None if kind == "direct_push" else 100 + n,
               change_type=ctype, committed_at=committed, author=f"dev{n % 3}", subject=subject or f"Change number {n}",
               first_commit_at=committed - dt.timedelta(hours=4), emergency=emergency)
    if deployed_after_hours is not None:
        c.deployed_at = committed + dt.timedelta(hours=deployed_after_hours)
        c.deployments = [{"id": f"dep-{n:04x}", "environment": "production"}]
        c.sources = ["git", "github", "cloudflare"]
    for code, evidence in (findings or {}).items():
        c.add(code, evidence)
    return c


def changes() -> list[Change]:
    out = [change(n, day=(n * 5) % 42, deployed_after_hours=6.0 + 7 * (n % 4)) for n in range(1, 19)]
    out += [
        change(30, day=2, ctype="significant", deployed_after_hours=50,
               findings={"NO_APPROVAL": "https://github.example/acme/shop/pull/130#reviews",
                         "MISSING_ROLLBACK_PLAN": "PR description has no Rollback section"}),
        change(31, day=9, ctype="significant", deployed_after_hours=30),
        change(32, day=16, ctype="significant", subject=HOSTILE,
               findings={"SELF_APPROVAL": "approved only by dev2, who authored it"}),
        change(33, day=16, kind="direct_push", ctype=None, subject="=HYPERLINK(\"http://evil\",\"x\")",
               findings={"DIRECT_PUSH": "git: no pull request contains this commit"}),
        change(34, day=23, kind="emergency", ctype="emergency", emergency="EMG-7", deployed_after_hours=1,
               findings={"LATE_POSTHOC_PR": "post-hoc PR #140 opened 51 h after the deploy"}),
        change(35, day=31, kind="emergency", ctype="emergency", emergency="EMG-8", deployed_after_hours=0.5),
        change(36, day=38, ctype="standard", deployed_after_hours=None,
               findings={"UNDEPLOYED_CHANGE": "no production deployment built this commit"}),
        change(37, day=39, ctype="significant", deployed_after_hours=26,
               findings={"CI_NOT_GREEN": "check 'test' concluded failure on the head", "NO_APPROVAL": "no review"}),
    ]
    return sorted(out, key=lambda c: c.committed_at)


def weekly(cs: list[Change]) -> list[dict[str, Any]]:
    weeks = [iso_week(START + dt.timedelta(weeks=i)) for i in range(6)]
    rows: dict[str, Counter[str]] = {w: Counter() for w in weeks}
    for c in cs:
        row = rows[iso_week(c.committed_at)]
        row[c.change_type or "unknown"] += 1
        row["exceptions"] += bool(exceptions_of(c))
        if c.deployed_at:
            rows.get(iso_week(c.deployed_at), Counter())["deploys"] += 1
    rows[iso_week(dt.datetime.fromisoformat(UNLINKED["created_on"]))]["deploys"] += 1
    keys = ("standard", "significant", "emergency", "unknown", "exceptions", "deploys")
    return [{"week": w, **{k: rows[w][k] for k in keys}} for w in weeks]


def audit_result() -> AuditResult:
    cs = changes()
    return AuditResult(
        changes=cs,
        reconciliation={"deployments": 26, "deployments_linked": 25, "unlinked_deployments": [UNLINKED],
                         "commits_without_pr": [_sha(33)], "prs_without_deploy": [137 - 1]},
        summary={"repository": "acme/shop", "branch": "main", "since": "2026-09-28", "until": "2026-11-08",
                 "population": len(cs)},
        dora={"deployment_frequency": "weekly", "lead_time_median_hours": 19.5, "change_failure_rate": 0.08},
        weekly=weekly(cs),
        sample={"method": "random", "seed": 42, "size": 3, "ids": ["acme/shop#130", _sha(33)[:12], _sha(5)]},
        generated_by={"tool": "changegate", "version": "0.1.0", "policy_version": "2026-09-01"},
    )
