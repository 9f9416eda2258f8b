"""The audit's data: one record per change on the branch, findings, reconciliation, DORA. Pure.

JSON contract (fixed): {"changes": [{"sha", "kind", "pr", "change_type", "findings": [codes], ...}],
"reconciliation": {...}, "summary": {...}} (plus "dora", "sample", "generated_by").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _q
from typing import Any, Literal

Kind = Literal["squash_pr", "merge_pr", "rebase_pr", "direct_push", "revert", "emergency"]

FINDINGS: dict[str, str] = {
    "DIRECT_PUSH": "a commit on the branch with no pull request and no emergency record",
    "NO_APPROVAL": "merged without the approvals its type requires",
    "SELF_APPROVAL": "approved only by its author or a commit author",
    "STALE_APPROVAL": "approved before the last push, not on the merged head",
    "MISSING_SECURITY_LEAD": "a significant change without the Security Lead's approval",
    "CODEOWNERS_UNAPPROVED": "an owned file merged without its code owner's approval",
    "CI_NOT_GREEN": "required checks did not pass on the merged head",
    "NOT_SQUASHED": "merged with a merge commit or rebase, not squashed",
    "MISSING_WHAT_WHY": "the PR description does not say what and why",
    "MISSING_ROLLBACK_PLAN": "a significant change without a rollback plan",
    "MISSING_DESIGN_REVIEW": "a significant change without a design review",
    "NO_PR_EVIDENCE": "a pull request whose review evidence could not be obtained (no recorded snapshot, none from the GitHub API)",
    "OUTSIDE_WINDOW": "deployed to production outside its type's window",
    "NOT_STAGED": "a significant change deployed to production without a verified sandbox deployment first",
    "NO_VERIFICATION": "deployed to production without post-deploy verification",
    "SHORT_MONITORING": "monitored for less than its type requires",
    "EMERGENCY_NO_APPROVAL": "an emergency without a valid verbal approval",
    "LATE_POSTHOC_PR": "an emergency's post-hoc PR opened after the deadline",
    "MISSING_POSTHOC_PR": "an emergency without a post-hoc PR",
    "MISSING_PIR": "an emergency without a post-incident review by its due date",
    "UNLINKED_DEPLOY": "a production deployment no change explains",
    "UNDEPLOYED_CHANGE": "informational: a change not (yet) deployed to production",
}


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    author_email: str
    authored_at: dt.datetime
    committed_at: dt.datetime
    subject: str
    body: str = ""
    committed_iso: str = field(default="", compare=False, repr=False)  # git's own `%cI` text of committed_at, when walked

    @classmethod
    def of(cls, sha: str, parents: tuple[str, ...], author: str, author_email: str, authored_at: dt.datetime, committed_at: dt.datetime,
           subject: str, body: str, committed_iso: str = "") -> Commit:
        """The same as `Commit(...)`, at half the cost (for a walk over millions of commits): a frozen
        dataclass's `__init__` sets each field through `object.__setattr__`; this sets the fields at once."""
        commit = _new(cls)
        _set(commit, "__dict__", {"sha": sha, "parents": parents, "author": author, "author_email": author_email, "authored_at": authored_at,
                                  "committed_at": committed_at, "subject": subject, "body": body, "committed_iso": committed_iso})
        return commit


_new, _set = object.__new__, object.__setattr__


@dataclass
class Change:
    sha: str
    kind: Kind
    pr: int | None
    change_type: str | None
    committed_at: dt.datetime
    author: str
    subject: str
    findings: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)  # finding code -> where it came from
    emergency: str | None = None
    deployments: list[dict[str, Any]] = field(default_factory=list)
    first_commit_at: dt.datetime | None = None
    deployed_at: dt.datetime | None = None
    sources: list[str] = field(default_factory=lambda: ["git"])
    review: dict[str, Any] | None = None  # the PR's approvals, merge and checks (core.audit_review), when its evidence was joined
    committed_iso: str = field(default="", compare=False, repr=False)  # committed_at.isoformat(), when git already wrote it (strict ISO 8601, %cI)

    @classmethod
    def of(cls, commit: Commit, kind: Kind, pr: int | None) -> Change:
        """`Change(...)` for a freshly walked commit, without the dataclass `__init__` and its default factories."""
        change = _new(cls)
        change.__dict__ = {"sha": commit.sha, "kind": kind, "pr": pr, "change_type": None, "committed_at": commit.committed_at, "author": commit.author,
                           "subject": commit.subject, "findings": [], "evidence": {}, "emergency": None, "deployments": [],
                           "first_commit_at": commit.authored_at, "deployed_at": None, "sources": ["git"], "review": None,
                           "committed_iso": commit.committed_iso}
        return change

    def add(self, code: str, evidence: str) -> None:
        assert code in FINDINGS, code
        if code not in self.findings:
            self.findings.append(code)
            self.evidence[code] = evidence

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha": self.sha, "kind": self.kind, "pr": self.pr, "change_type": self.change_type, "findings": list(self.findings),
            "evidence": dict(self.evidence), "committed_at": self.committed_at.isoformat(), "author": self.author, "subject": self.subject,
            "emergency": self.emergency, "deployments": self.deployments, "deployed_at": self.deployed_at.isoformat() if self.deployed_at else None,
            "lead_time_seconds": (self.deployed_at - (self.first_commit_at or self.committed_at)).total_seconds() if self.deployed_at else None,
            "sources": list(self.sources), "review": self.review,
        }


    def to_json(self) -> str:
        """Exactly `json.dumps(self.as_dict())`, built directly (the audit writes one per commit: this
        takes about a third of the time); strings are escaped by json's own C encoder."""
        deployed = self.deployed_at
        lead = "null" if deployed is None else float.__repr__((deployed - (self.first_commit_at or self.committed_at)).total_seconds())
        return (f'{{"sha": {_q(self.sha)}, "kind": {_q(self.kind)}, "pr": {"null" if self.pr is None else int.__repr__(self.pr)}, '
                f'"change_type": {_opt(self.change_type)}, "findings": [{", ".join(map(_q, self.findings))}], '
                f'"evidence": {_evidence(self.evidence)}, "committed_at": "{self.committed_iso or self.committed_at.isoformat()}", '
                f'"author": {_q(self.author)}, "subject": {_q(self.subject)}, "emergency": {_opt(self.emergency)}, '
                f'"deployments": {json.dumps(self.deployments) if self.deployments else "[]"}, "deployed_at": {"null" if deployed is None else _q(deployed.isoformat())}, '
                f'"lead_time_seconds": {lead}, "sources": [{", ".join(map(_q, self.sources))}], '
                f'"review": {"null" if self.review is None else json.dumps(self.review)}}}')


def _evidence(evidence: dict[str, str]) -> str:
    if len(evidence) == 1:  # the common case, without a generator
        [(code, text)] = evidence.items()
        return f"{{{_q(code)}: {_q(text)}}}"
    return "{" + ", ".join(f"{_q(k)}: {_q(v)}" for k, v in evidence.items()) + "}"


def _opt(value: str | None) -> str:
    return "null" if value is None else _q(value)


@dataclass
class AuditResult:
    changes: list[Change]
    reconciliation: dict[str, Any]
    summary: dict[str, Any]
    dora: dict[str, Any]
    weekly: list[dict[str, Any]]  # {"week": "2026-W47", "standard": n, "significant": n, "emergency": n, "unknown": n, "exceptions": n, "deploys": n}
    sample: dict[str, Any]
    generated_by: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"changes": [c.as_dict() for c in self.changes], "reconciliation": self.reconciliation, "summary": self.summary,
                "dora": self.dora, "weekly": self.weekly, "sample": self.sample, "generated_by": self.generated_by}
