"""Requirements about reviews: approval count, required roles, CODEOWNERS, changes requested. Pure."""

from __future__ import annotations

from changegate.core.approvals import Approvals
from changegate.core.classify import changed_paths
from changegate.core.owners import OwnerRule, index_for
from changegate.core.policy import Policy
from changegate.core.roles import Members, describe, resolve, role_members, role_title
from changegate.core.snapshot import Snapshot
from changegate.core.verdict import Requirement, State

MAX_LISTED = 10


def approvals_count(approvals: Approvals, snapshot: Snapshot, *, needed: int, purpose: str = "") -> Requirement:
    have = len(approvals.counted)
    evidence = {"required": needed, **approvals.evidence()}
    label = f"{purpose} approvals" if purpose else "approvals"
    if have >= needed:
        who = ", ".join(approvals.counted) or "none needed"
        return Requirement("approvals.count", State.SATISFIED, f"{have} of {needed} {label}: {who}", evidence)
    missing = needed - have
    detail = f"{have} of {needed} {label}: needs {missing} more from a reviewer who is not the author ({snapshot.pull_request.user.login}) or a commit author"
    if approvals.stale:
        detail += f"; approvals given before the last push don't count ({', '.join(approvals.stale)}: re-approve the head commit)"
    self_approvers = [login for login, why in approvals.excluded.items() if why.startswith("self-approval")]
    if self_approvers:
        detail += f"; self-approval doesn't count ({', '.join(self_approvers)})"
    return Requirement("approvals.count", State.PENDING, detail, evidence)


def changes_requested(approvals: Approvals) -> Requirement:
    if not approvals.changes_requested:
        return Requirement("approvals.changes_requested", State.SATISFIED, "No reviewer is requesting changes", {})
    who = ", ".join(approvals.changes_requested)
    detail = f"Changes requested by {who}: address them until {who} approve(s), or dismiss the review"
    return Requirement("approvals.changes_requested", State.FAILED, detail, {"changes_requested_by": list(approvals.changes_requested)})


def role_approval(approvals: Approvals, snapshot: Snapshot, policy: Policy, *, role: str) -> Requirement:
    members = role_members(policy, role, snapshot)
    approvers = [login for login in approvals.counted if members.has(login)]
    requirement_id = f"approvals.{role}"
    evidence: dict[str, object] = {"role": role, "members": sorted(members.logins), "unresolved_teams": list(members.unresolved), "approved_by": approvers}
    if approvers:
        return Requirement(requirement_id, State.SATISFIED, f"Approved by {role_title(role)} {', '.join(approvers)}", evidence)
    detail = f"Needs an approval on the head commit from {describe(policy, role, snapshot)}"
    if members.unresolved:
        detail += f"; membership of {', '.join(members.unresolved)} is not in the snapshot, so it cannot be checked (fetch the team members)"
    return Requirement(requirement_id, State.PENDING, detail, evidence)


def codeowners(approvals: Approvals, snapshot: Snapshot) -> Requirement:
    if snapshot.codeowners is None:
        return Requirement("codeowners", State.SATISFIED, "No CODEOWNERS file on the base branch", {"codeowners": None})
    index = index_for(snapshot.codeowners)
    approved = {login.lower() for login in approvals.counted}
    waiting: dict[int, tuple[OwnerRule, list[str], Members]] = {}
    resolved: dict[tuple[str, ...], Members] = {}
    owned = 0
    for path in changed_paths(snapshot):
        rule = index.rule_for(path)
        if rule is None or not rule.owners:
            continue
        owned += 1
        members = resolved.get(rule.owners)
        if members is None:
            members = resolved[rule.owners] = resolve(rule.owners, snapshot)
        if members.logins & approved:
            continue
        waiting.setdefault(rule.line, (rule, [], members))[1].append(path)
    evidence: dict[str, object] = {"owned_files": owned, "unapproved": {str(line): {"pattern": rule.pattern, "owners": list(rule.owners), "files": files[:MAX_LISTED]} for line, (rule, files, _m) in waiting.items()}}
    if not waiting:
        return Requirement("codeowners", State.SATISFIED, f"Code owners approved all {owned} owned file(s)", evidence)
    parts = []
    for rule, files, members in list(waiting.values())[:MAX_LISTED]:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        part = f"{shown} (CODEOWNERS line {rule.line}, {rule.pattern}) needs one of {', '.join(rule.owners)}"
        if members.unresolved:
            part += f" [membership of {', '.join(members.unresolved)} unknown]"
        parts.append(part)
    count = sum(len(files) for _r, files, _m in waiting.values())
    return Requirement("codeowners", State.PENDING, f"{count} owned file(s) lack a code owner's approval: " + "; ".join(parts), evidence)
