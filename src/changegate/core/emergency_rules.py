"""Emergency changes: the verbal approval on record, and the post-hoc PR's deadline. Pure.

Procedure: verbal approval from the ISMS Owner or Security Lead (Slack, phone or in person);
the fix is deployed at once; a post-hoc PR documenting it is created within 24 hours.
"""

from __future__ import annotations

import datetime as dt

from changegate.core.approvals import change_authors
from changegate.core.policy import Policy, TypePolicy
from changegate.core.roles import Members, resolve, resolve_in, role_title
from changegate.core.snapshot import Emergency, Snapshot
from changegate.core.verdict import Requirement, State

DECLARE_HINT = "record it with `changegate emergency declare` (approval by the ISMS Owner or Security Lead)"


def verbal_approval(snapshot: Snapshot, policy: Policy, rules: TypePolicy, *, at: dt.datetime) -> Requirement:
    record = snapshot.emergency
    rid = "emergency.verbal_approval"
    if record is None:
        return Requirement(rid, State.FAILED, f"Declared an emergency by label, but there is no verbal-approval record: {DECLARE_HINT}", {"record": None})
    evidence: dict[str, object] = {"record": record.model_dump(mode="json")}
    verbal = rules.verbal_approval
    assert verbal is not None
    approvers = resolve([entry for role in verbal.roles for entry in policy.roles.get(role, [])], snapshot)
    authors = change_authors(snapshot, policy)
    problem = record_problem(record, rules, approvers=approvers, authors=authors, at=at)
    if problem is not None:
        state, text = problem
        return Requirement(rid, state, f"Emergency {record.id}: {text}", evidence)
    assert record.approved_at is not None and record.channel is not None
    detail = f"Emergency {record.id}: verbal approval by {record.approved_by} via {record.channel} at {record.approved_at.isoformat()}"
    return Requirement(rid, State.SATISFIED, detail, evidence)


def approvers_of(policy: Policy, rules: TypePolicy, *, owner: str, teams: dict[str, list[str]]) -> Members:
    verbal = rules.verbal_approval
    assert verbal is not None
    return resolve_in([entry for role in verbal.roles for entry in policy.roles.get(role, [])], owner=owner, teams=teams)


def record_problem(record: Emergency, rules: TypePolicy, *, approvers: Members, authors: dict[str, str], at: dt.datetime) -> tuple[State, str] | None:
    """What is wrong with an emergency record, or None when it is a valid verbal approval."""
    verbal = rules.verbal_approval
    assert verbal is not None
    roles = " or ".join(role_title(role) for role in verbal.roles)
    if not record.approved_by or record.channel is None or record.approved_at is None:
        return State.FAILED, f"the record lacks the approver, channel or time of the verbal approval: {DECLARE_HINT}"
    if record.channel not in verbal.channels:
        return State.FAILED, f"approval via {record.channel} is not accepted (allowed: {', '.join(verbal.channels)})"
    if not approvers.has(record.approved_by):
        if approvers.unresolved:
            return State.PENDING, f"cannot confirm {record.approved_by} is the {roles}: membership of {', '.join(approvers.unresolved)} is not known"
        return State.FAILED, f"{record.approved_by} is not the {roles}, who alone may approve an emergency"
    authors = authors | {record.declared_by.lower(): "who declared the emergency"}
    if record.approved_by.lower() in authors and not verbal.allow_self_approval:
        return State.FAILED, f"{record.approved_by} approved their own emergency change ({authors[record.approved_by.lower()]}); another {roles} must approve"
    if record.approved_at > at:
        return State.FAILED, f"the approval time {record.approved_at.isoformat()} is in the future"
    if record.deployed_at is not None and record.approved_at > record.deployed_at:
        return State.FAILED, f"approved at {record.approved_at.isoformat()}, after the deployment at {record.deployed_at.isoformat()}"
    return _unconfirmed(record, verbal.confirm_within_hours, at=at)


def _unconfirmed(record: Emergency, hours: float | None, *, at: dt.datetime) -> tuple[State, str] | None:
    """The policy's `confirm_within_hours`: the approver confirms under their own identity by then.
    Before the deadline an unconfirmed approval stands (nothing is wrong yet); after it, it does not."""
    if hours is None or record.approved_at is None:
        return None
    due = record.approved_at + dt.timedelta(hours=hours)
    if record.confirmed_at is None and at > due:
        return State.FAILED, (f"{record.approved_by}'s verbal approval was not confirmed within {hours:g} h (due {due.isoformat()}): "
                              f"they run `changegate emergency confirm {record.id}`")
    if record.confirmed_at is not None and record.confirmed_at > due:
        late = (record.confirmed_at - record.approved_at).total_seconds() / 3600
        return State.FAILED, f"{record.approved_by} confirmed the verbal approval {late:.1f} h after giving it, later than the policy's {hours:g} h"
    return None


def posthoc_deadline(snapshot: Snapshot, rules: TypePolicy) -> Requirement:
    record = snapshot.emergency
    hours = rules.posthoc_pr.within_hours if rules.posthoc_pr else 24
    rid = "emergency.posthoc_pr"
    if record is None or record.deployed_at is None:
        return Requirement(rid, State.SATISFIED, "No emergency deployment is recorded yet; this PR already documents the change", {})
    due = record.deployed_at + dt.timedelta(hours=hours)
    opened = snapshot.pull_request.created_at
    evidence = {"deployed_at": record.deployed_at.isoformat(), "due": due.isoformat(), "opened_at": opened.isoformat()}
    lateness = opened - due
    if lateness > dt.timedelta(0):
        return Requirement(rid, State.FAILED, f"Documents {record.id}, deployed {record.deployed_at.isoformat()}: the post-hoc PR was opened {_hours(lateness)} after the {hours:g}-hour deadline ({due.isoformat()})", evidence)
    return Requirement(rid, State.SATISFIED, f"Documents {record.id}, deployed {record.deployed_at.isoformat()}, due by {due.isoformat()}: opened in time", evidence)


def _hours(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
