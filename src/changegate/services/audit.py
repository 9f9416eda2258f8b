"""Reconstruct the change log: one change per first-parent commit, evaluated against the policy in
force at that commit, joined with recorded PR evidence, deployments and emergency records.

Streaming: `Auditor.feed` takes commits newest first and returns each change at once (callers
write it out); only aggregates are kept, so memory stays bounded on long histories.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from changegate.core.audit_kinds import kind_of
from changegate.core.audit_model import Change, Commit
from changegate.core.audit_review import review_record
from changegate.core.deploy_record import FAILED_CHANGE, DeploymentRecord, monitoring_minutes
from changegate.core.emergency_rules import approvers_of, record_problem
from changegate.core.evaluate import evaluate
from changegate.core.obligations import EmergencyFacts, emergency_obligations
from changegate.core.policy import ChangeType, Policy
from changegate.core.snapshot import Emergency, SnapshotInvalid, parse_snapshot
from changegate.core.window_decision import decide
from changegate.services.audit_tally import SAMPLE_METHOD, SAMPLE_SIZE, Tally, sample_mask

REQUIREMENT_FINDINGS = {"approvals.security_lead": "MISSING_SECURITY_LEAD", "codeowners": "CODEOWNERS_UNAPPROVED", "checks.required": "CI_NOT_GREEN",
                        "description.what_why": "MISSING_WHAT_WHY", "description.rollback_plan": "MISSING_ROLLBACK_PLAN", "design_review": "MISSING_DESIGN_REVIEW",
                        "emergency.verbal_approval": "EMERGENCY_NO_APPROVAL"}
VERIFIED = frozenset({"verified"})


@dataclass
class Evidence:
    """What the auditor knows beyond git (all optional: git alone still gives a useful log)."""

    snapshot_for: Callable[[int], Mapping[str, Any] | None] = lambda _pr: None
    deployments: list[DeploymentRecord] = field(default_factory=list)
    emergencies: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha -> record
    emergency_facts: dict[str, EmergencyFacts] = field(default_factory=dict)  # id -> facts
    teams: dict[str, list[str]] = field(default_factory=dict)
    repository: str = ""
    snapshot_version: Callable[[int], str] = lambda _pr: ""  # changes when a PR's evidence does (incremental audits)
    source_of: Callable[[int], str] = lambda _pr: "recorded snapshot"  # where snapshot_for's answer came from
    missing_why: Callable[[int], str] = lambda _pr: "no recorded snapshot"  # why snapshot_for had none
    external: dict[str, Any] = field(default_factory=dict)  # other deployment logs: "unlinked_deployments" + counts for the reconciliation


class Auditor:
    def __init__(self, policy_at: Callable[[str], Policy], evidence: Evidence, *, now: dt.datetime, seed: int = 0,
                 failure_window: dt.timedelta = dt.timedelta(hours=24)) -> None:
        self.failure_window = failure_window
        self.policy_at = policy_at
        self._evidence = evidence
        self._now = now
        self._production = [d for d in evidence.deployments if d.environment == "production"]
        self._by_sha: dict[str, list[DeploymentRecord]] = {}
        for record in evidence.deployments:
            self._by_sha.setdefault(record.sha, []).append(record)
        self._earliest_deploy: dt.datetime | None = None
        self._emergency_shas = frozenset(evidence.emergencies)
        self.total = Tally()
        self.chunk = Tally()
        self._mask = sample_mask(seed)
        self._day: dt.date | None = None
        self._week = ""
        self.seed = seed

    @property
    def carried(self) -> str:
        """What the next (older) change inherits from newer ones: their earliest production deployment."""
        return self._earliest_deploy.isoformat() if self._earliest_deploy else ""

    def context(self) -> str:
        """Everything outside a chunk that its changes depend on, for checking stored results."""
        return f"{self.carried}|{bool(self._production)}"

    def cut(self) -> Tally:
        """The tally of the changes fed since the last cut (a chunk), added to the total."""
        chunk, self.chunk = self.chunk, Tally()
        self.total.merge(chunk)
        return chunk

    def reuse(self, tally: Tally, *, carried: str) -> None:
        """A stored chunk whose inputs are unchanged: its tally counts, and its carried state moves on."""
        self.total.merge(tally)
        self._earliest_deploy = dt.datetime.fromisoformat(carried) if carried else None

    def stale(self, shas: list[str], prs: Mapping[str, list[int]], *, emergency: bool, deploys: str) -> bool:
        """Whether a stored chunk's results may differ now: its PRs' evidence (`prs`: version -> PR numbers),
        its deployments or emergencies changed."""
        version = self._evidence.snapshot_version
        if emergency or "unfetched" in prs:  # "unfetched": no evidence although it could be fetched (an earlier fetch failed): try again
            return True
        if any(version(pr) != known for known, numbers in prs.items() for pr in numbers):
            return True
        return any(sha in self._emergency_shas for sha in shas) or self.deploy_signature(shas) != deploys

    def evidence_version(self, pr: int) -> str:
        return self._evidence.snapshot_version(pr)

    def deploy_signature(self, shas: Iterable[str]) -> str:
        found = sorted(repr(d) for sha in shas for d in self._by_sha.get(sha, ()))
        return hashlib.sha256("\n".join(found).encode()).hexdigest()[:32] if found else ""

    def feed(self, commit: Commit, committer: str) -> Change:
        kind, pr = kind_of(commit, committer_email=committer, emergency_shas=self._emergency_shas)
        change = Change.of(commit, kind, pr)
        if self._evidence.snapshot_for is not None and pr is not None:
            self._with_pr(change, pr)
        if kind == "emergency":
            self._emergency(change)
        elif kind == "direct_push":
            change.add("DIRECT_PUSH", f"{commit.sha[:12]} by {commit.author}: no pull request, no emergency record")
        if kind in {"merge_pr", "rebase_pr"} and self._policy(change).merge.method == "squash":
            change.add("NOT_SQUASHED", f"{kind.replace('_', ' ')}; the policy requires squash merges")
        self._deployed(change)
        self._tally(change)
        return change

    def _policy(self, change: Change) -> Policy:
        return self.policy_at(change.sha)

    def _with_pr(self, change: Change, pr: int) -> None:
        data = self._evidence.snapshot_for(pr)
        if data is None:  # fail closed: a PR without evidence must not look compliant
            change.add("NO_PR_EVIDENCE", f"#{pr}: {self._evidence.missing_why(pr)}")
            return
        # A snapshot fetched after the merge says which commit the PR became (the gate's recorded ones are
        # taken before it: their merge_commit_sha is GitHub's test merge): a subject naming it elsewhere is not its evidence.
        pull = data.get("pull_request") or {}
        merged_as = pull.get("merge_commit_sha") if pull.get("merged") and self._evidence.source_of(pr) == "GitHub API" else None
        if merged_as and merged_as != change.sha and change.kind in ("squash_pr", "merge_pr"):
            change.add("NO_PR_EVIDENCE", f"#{pr}: GitHub says it was merged as {merged_as[:12]}, not as this commit: its evidence does not belong here")
            return
        try:
            snapshot = parse_snapshot(data)
        except SnapshotInvalid as error:
            change.add("NO_PR_EVIDENCE", f"#{pr}: the snapshot ({self._evidence.source_of(pr)}) is invalid: {error}")
            return
        change.review = review_record(snapshot, pull)
        merged_at = snapshot.pull_request.merged_at or change.committed_at
        verdict = evaluate(snapshot, self._policy(change), at=merged_at)
        change.change_type = verdict.change_type.value
        change.sources.append(self._evidence.source_of(pr))
        for requirement in verdict.requirements:
            if requirement.state.value == "satisfied":
                continue
            if requirement.id == "approvals.count":
                excluded = " ".join(str(v) for v in requirement.evidence.get("not_counted", {}).values())
                code = "SELF_APPROVAL" if "self-approval" in excluded else "STALE_APPROVAL" if requirement.evidence.get("stale_approvals") else "NO_APPROVAL"
                change.add(code, f"#{pr}: {requirement.detail}")
            elif requirement.id in REQUIREMENT_FINDINGS:
                change.add(REQUIREMENT_FINDINGS[requirement.id], f"#{pr}: {requirement.detail}")

    def _emergency(self, change: Change) -> None:
        record = Emergency.model_validate({k: v for k, v in self._evidence.emergencies[change.sha].items() if k in Emergency.model_fields})
        change.emergency, change.change_type = record.id, "emergency"
        change.sources.append("emergency record")
        policy = self._policy(change)
        rules = policy.types.of(ChangeType.EMERGENCY)
        owner = self._evidence.repository.split("/")[0]
        problem = record_problem(record, rules, approvers=approvers_of(policy, rules, owner=owner, teams=self._evidence.teams), authors={}, at=self._now)
        if problem is not None:
            change.add("EMERGENCY_NO_APPROVAL", f"{record.id}: {problem[1]}")
        facts = self._evidence.emergency_facts.get(record.id)
        if facts is not None:
            for item in emergency_obligations(policy, facts, now=self._now):
                if item.code is not None:
                    change.add(item.code, f"{record.id}: {item.title}, due {item.due.isoformat() if item.due else '-'} ({item.state})")

    def _deployed(self, change: Change) -> None:
        records = self._by_sha.get(change.sha)
        own = [d for d in records if d.environment == "production" and d.deployed_at is not None] if records else []
        for record in own:
            self._check_deploy(change, record)
            change.deployments.append({"id": record.id, "state": record.state, "deployed_at": record.deployed_at.isoformat() if record.deployed_at else None})
        times = [d.deployed_at for d in own if d.deployed_at is not None]
        if times:  # most commits have none
            earliest = min(times)
            self._earliest_deploy = earliest if self._earliest_deploy is None else min(self._earliest_deploy, earliest)
        change.deployed_at = self._earliest_deploy
        if change.deployed_at is None and self._production:
            change.add("UNDEPLOYED_CHANGE", "no production deployment of this commit or a later one")

    def _check_deploy(self, change: Change, record: DeploymentRecord) -> None:
        policy = self._policy(change)
        change_type = ChangeType(change.change_type or record.change_type or "standard")
        window = decide(policy, change_type, record.started_at)
        if not window.open and change_type is not ChangeType.EMERGENCY:
            change.add("OUTSIDE_WINDOW", f"{record.id} at {record.started_at.isoformat()}: {window.reason}")
        if policy.types.of(change_type).staged_rollout and not any(d.environment == "sandbox" and d.state in VERIFIED for d in self._by_sha.get(change.sha, [])):
            change.add("NOT_STAGED", f"{record.id}: no verified sandbox deployment of {change.sha[:12]}")
        if record.state not in VERIFIED | FAILED_CHANGE:
            change.add("NO_VERIFICATION", f"{record.id} ended {record.state}: never verified")
        service = policy.service(record.service)
        if record.state in VERIFIED and service is not None and record.monitor_until and record.deployed_at:
            needed = monitoring_minutes(policy, service, change_type)
            got = (record.monitor_until - record.deployed_at).total_seconds() / 60
            if got + 1e-6 < needed:
                change.add("SHORT_MONITORING", f"{record.id}: monitored {got:g} min, {change_type.value} needs {needed:g}")

    def _tally(self, change: Change) -> None:
        day = change.committed_at.date()
        if day != self._day:  # commits come in date order: the ISO week once a day, not once a commit
            self._day, self._week = day, change.committed_at.strftime("%G-W%V")
        sha = change.sha
        self.chunk.add(change, self._week, int(sha[:16], 16) ^ self._mask, sha in self._by_sha)

    def finish(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        self.cut()
        total, seen = self.total, set(self.total.deployed)
        external = dict(self._evidence.external)
        unlinked = [{"id": d.id, "service": d.service, "sha": d.sha, "state": d.state, "code": "UNLINKED_DEPLOY"} for d in self._production if d.sha not in seen]
        unlinked += external.pop("unlinked_deployments", [])
        counts = Counter(total.findings)
        if unlinked:
            counts["UNLINKED_DEPLOY"] += len(unlinked)
        reconciliation = {"commits_without_pr_or_emergency": total.direct_pushes, "unlinked_deployments": unlinked,
                          "deployments_matched": sum(1 for d in self._production if d.sha in seen), "deployments_total": len(self._production), **external}
        summary = {"population": total.population, "kinds": dict(total.kinds), "findings": dict(counts),
                   "changes_with_exceptions": sum(b["exceptions"] for b in total.weekly.values())}
        sample = {"method": SAMPLE_METHOD, "seed": self.seed, "size_rule": f"min({SAMPLE_SIZE}, population)", "ids": total.sample_ids()}
        return reconciliation, summary, self._dora(), total.weeks(), sample

    def _dora(self) -> dict[str, Any]:
        """DORA, per production deployment. A deployment failed when it was rolled back or reverted by
        changegate, or when a revert or an emergency change landed on the branch within `failure_window`
        after it went live; it was restored by its rollback, else by the first deployment after that fix."""
        deploys = sorted((d for d in self._production if d.deployed_at is not None), key=lambda d: d.deployed_at or self._now)
        fixes, window = sorted(self.total.fixes), self.failure_window.total_seconds()
        live = [d.deployed_at.timestamp() for d in deploys if d.deployed_at is not None]
        failed, restore = 0, []
        for d, start in zip(deploys, live, strict=True):
            after = bisect.bisect_right(fixes, start)
            fixed_at = fixes[after] if after < len(fixes) and fixes[after] <= start + window else None
            if d.state in FAILED_CHANGE:
                failed += 1
                if d.state == "rolled_back":
                    restore.append(d.updated_at.timestamp() - start)
            elif fixed_at is not None:
                failed += 1
                following = bisect.bisect_left(live, fixed_at)
                if following < len(live):
                    restore.append(live[following] - start)
        weeks = max(len({d.deployed_at.strftime("%G-W%V") for d in deploys if d.deployed_at}), 1)
        return {"deployments": len(deploys), "deployment_frequency_per_week": round(len(deploys) / weeks, 2) if deploys else 0.0,
                "lead_time_median_hours": round(statistics.median(self.total.lead_times) / 3600, 2) if self.total.lead_times else None,
                "failed_deployments": failed, "change_failure_rate": round(failed / len(deploys), 3) if deploys else None,
                "change_failure_window_hours": round(window / 3600, 2),
                "time_to_restore_median_minutes": round(statistics.median(restore) / 60, 1) if restore else None}
