"""snapshot + policy + time -> Verdict. Pure: the evaluation time is a parameter, never the clock."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from changegate.core.approvals import analyse
from changegate.core.ci_rules import required_checks
from changegate.core.classify import classify
from changegate.core.description import description_requirements
from changegate.core.emergency_rules import posthoc_deadline, verbal_approval
from changegate.core.policy import ChangeType, Policy, TypePolicy
from changegate.core.policy_check import policy_warnings
from changegate.core.review_rules import (
    approvals_count,
    changes_requested,
    codeowners,
    role_approval,
)
from changegate.core.snapshot import Snapshot
from changegate.core.verdict import Requirement, State, Verdict
from changegate.core.window_decision import decide


def evaluate(snapshot: Snapshot, policy: Policy, *, at: dt.datetime) -> Verdict:
    if at.tzinfo is None:
        raise ValueError("the evaluation time must be timezone-aware")
    classification = classify(snapshot, policy)
    change_type = classification.change_type
    rules = policy.types.of(change_type)
    requirements = _requirements(snapshot, policy, rules, change_type, at=at)
    today = at.astimezone(zoneinfo.ZoneInfo(policy.timezone)).date()
    return Verdict(
        repository=snapshot.repository,
        pull_request=snapshot.pull_request.number,
        head_sha=snapshot.head_sha,
        evaluated_at=at,
        change_type=change_type,
        type_reasons=classification.reasons,
        requirements=tuple(requirements),
        warnings=(*policy_warnings(policy, today=today), *classification.warnings),
        after_merge=tuple(after_merge(policy, rules, change_type)),
        deploy_window=decide(policy, change_type, at),
    )


def _requirements(snapshot: Snapshot, policy: Policy, rules: TypePolicy, change_type: ChangeType, *, at: dt.datetime) -> list[Requirement]:
    approvals = analyse(snapshot, policy)
    found: list[Requirement] = []
    if snapshot.pull_request.draft:
        found.append(Requirement("pull_request.ready", State.PENDING, f"The PR is a draft: {snapshot.pull_request.user.login} marks it ready for review"))
    if change_type is ChangeType.EMERGENCY:
        found.append(verbal_approval(snapshot, policy, rules, at=at))
        found.append(posthoc_deadline(snapshot, rules))
        needed = rules.posthoc_pr.approvals if rules.posthoc_pr else 0
        found.append(approvals_count(approvals, snapshot, needed=needed, purpose="post-hoc review"))
    elif rules.approvals is not None:
        found.append(approvals_count(approvals, snapshot, needed=rules.approvals.count))
        found += [role_approval(approvals, snapshot, policy, role=role) for role in rules.approvals.required_roles]
    found.append(changes_requested(approvals))
    if rules.codeowners:
        found.append(codeowners(approvals, snapshot))
    if rules.required_checks:
        found.append(required_checks(snapshot, policy.checks))
    author = snapshot.pull_request.user.login
    found += description_requirements(snapshot.pull_request.body, policy.description, rules.description, author=author)
    return found


def after_merge(policy: Policy, rules: TypePolicy, change_type: ChangeType) -> list[str]:
    """What the procedure still requires once the PR is merged (enforced by the deploy gate)."""
    steps = []
    if policy.merge.method != "any":
        steps.append(f"{policy.merge.method.title()} merge to {'main'}")
    window = policy.windows.get(rules.window)
    if window is not None:
        steps.append(f"Deploy window: {window.description or rules.window}")
    if rules.staged_rollout:
        steps.append("Staged rollout: sandbox first, then production")
    if rules.monitoring_minutes:
        steps.append(f"Monitor for {_duration(rules.monitoring_minutes)} after the production deploy")
    review = rules.post_incident_review
    if change_type is ChangeType.EMERGENCY and review is not None and review.required:
        steps.append(f"Post-incident review within {review.due_business_days} business days: {review.question}")
    return steps


def _duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"
