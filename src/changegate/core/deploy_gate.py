"""The deployment protection rule's decision for a production deploy. Pure.

Approve only when the deployed commit's change passes the procedure and its type's window is
open, or when a valid emergency record covers it (emergencies deploy immediately, any hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from changegate.core.policy import ChangeType, Policy
from changegate.core.verdict import Overall, State, Verdict
from changegate.core.window_decision import WindowDecision

MAX_COMMENT = 1000


@dataclass(frozen=True)
class GateDecision:
    state: Literal["approved", "rejected"]
    comment: str

    def body(self, environment: str) -> dict[str, str]:
        return {"environment_name": environment, "state": self.state, "comment": self.comment[:MAX_COMMENT]}


def decide_deployment(policy: Policy, *, environment: str, sha: str, verdict: Verdict | None, window: WindowDecision | None, emergency_problem: str | None = None, emergency_id: str | None = None) -> GateDecision:
    """`verdict` is the change that produced `sha` (None if no PR explains it); `window` is the
    decision for its type now; `emergency_*` describe a record found for a direct push."""
    short = sha[:7]
    if environment not in policy.deploy.production_environments:
        return GateDecision("approved", f"changegate: {environment} is not a production environment; deploy of {short} allowed.")
    if verdict is not None and verdict.change_type is ChangeType.EMERGENCY:
        return _emergency(verdict, short)
    if verdict is None:
        if emergency_id is not None:
            if emergency_problem is None:
                return GateDecision("approved", f"changegate: emergency {emergency_id} has a valid verbal approval; {short} may deploy immediately. A post-hoc PR is due within 24 hours.")
            return GateDecision("rejected", f"changegate: emergency {emergency_id} does not allow {short}: {emergency_problem}")
        return GateDecision("rejected", f"changegate: no pull request or emergency record explains {short}; a direct push cannot deploy to production. Open a PR, or declare an emergency (`changegate emergency declare`).")
    if verdict.state is not Overall.PASS:
        missing = "; ".join(f"{r.id}: {r.detail}" for r in verdict.requirements if r.state is not State.SATISFIED)
        return GateDecision("rejected", f"changegate: #{verdict.pull_request} ({verdict.change_type.value}) is {verdict.state.value}, so {short} cannot deploy to production. Outstanding: {missing}")
    if window is not None and not window.open:
        return GateDecision("rejected", f"changegate: #{verdict.pull_request} passes, but {window.reason}")
    return GateDecision("approved", f"changegate: #{verdict.pull_request} ({verdict.change_type.value}) passes the procedure and its window is open; {short} may deploy.")


def _emergency(verdict: Verdict, short: str) -> GateDecision:
    approval = verdict.requirement("emergency.verbal_approval")
    if approval is not None and approval.state is State.SATISFIED:
        return GateDecision("approved", f"changegate: {approval.detail}; {short} may deploy immediately (emergency).")
    detail = approval.detail if approval is not None else "no verbal-approval record"
    return GateDecision("rejected", f"changegate: emergency change #{verdict.pull_request} without a valid verbal approval: {detail}")
