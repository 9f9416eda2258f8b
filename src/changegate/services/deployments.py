"""Answer GitHub's deployment protection rule: approve or reject a deploy, with the reason.

The deployed commit's change is the PR that produced it (or an emergency record for a direct
push); the decision itself is pure (`core.deploy_gate`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from changegate.core.deploy_gate import GateDecision, decide_deployment
from changegate.core.emergency_rules import approvers_of, record_problem
from changegate.core.policy import ChangeType, Policy
from changegate.core.snapshot import Emergency
from changegate.core.window_decision import decide
from changegate.errors import ChangegateError

if TYPE_CHECKING:
    from changegate.services.gate import Gate

_RUN = re.compile(r"/actions/runs/(\d+)/deployment_protection_rule")


async def review_deployment(gate: Gate, repo: str, payload: dict[str, Any]) -> GateDecision:
    environment = payload["environment"]
    sha = payload.get("sha") or payload.get("deployment", {}).get("sha", "")
    match = _RUN.search(payload.get("deployment_callback_url", ""))
    if match is None:
        raise ChangegateError(f"deployment_protection_rule for {repo}: no run id in deployment_callback_url {payload.get('deployment_callback_url')!r}")
    decision = await _decide(gate, repo, environment=environment, sha=sha, pulls=payload.get("pull_requests") or [])
    await gate.github.review_deployment_protection_rule(repo, int(match.group(1)), decision.body(environment))
    if gate.events is not None:
        gate.events.append_event(kind="deployment.protection_rule", subject=f"{repo}@{sha[:12]}",
                                 payload={"environment": environment, "sha": sha, "run_id": int(match.group(1)), "state": decision.state, "comment": decision.comment},
                                 recorded_at=gate.now())
    return decision


async def _decide(gate: Gate, repo: str, *, environment: str, sha: str, pulls: list[dict[str, Any]]) -> GateDecision:
    base = await gate.source.base_files(repo, await _default_branch(gate, repo, pulls))
    if base.policy is None:
        return GateDecision("rejected", f"changegate: the policy cannot be read, so nothing deploys (fail closed): {base.policy_error}")
    policy = base.policy.policy
    number = await _pull_for(gate, repo, sha, pulls)
    now = gate.now()
    if number is not None:
        try:
            verdict = await gate.evaluate_pull(repo, number)
        except ChangegateError as problem:
            return GateDecision("rejected", f"changegate: #{number} could not be evaluated (fail closed): {problem}")
        if verdict is None:
            return GateDecision("rejected", f"changegate: #{number} could not be evaluated (fail closed)")
        window = decide(policy, verdict.change_type, now)
        return decide_deployment(policy, environment=environment, sha=sha, verdict=verdict, window=window)
    record = gate.source.emergency_for_commit(repo, sha)
    if record is None:
        return decide_deployment(policy, environment=environment, sha=sha, verdict=None, window=None)
    issue = await _record_problem(gate, policy, repo, record)
    return decide_deployment(policy, environment=environment, sha=sha, verdict=None, window=None, emergency_problem=issue, emergency_id=record.id)


async def _record_problem(gate: Gate, policy: Policy, repo: str, record: Emergency) -> str | None:
    rules = policy.types.of(ChangeType.EMERGENCY)
    owner = repo.split("/")[0]
    teams = await gate.source.role_teams(policy, owner=owner)
    approvers = approvers_of(policy, rules, owner=owner, teams=teams)
    found = record_problem(record, rules, approvers=approvers, authors={}, at=gate.now())
    return None if found is None else found[1]


async def _pull_for(gate: Gate, repo: str, sha: str, pulls: list[dict[str, Any]]) -> int | None:
    if pulls:
        return int(pulls[0]["number"])
    candidates = await gate.github.pulls_for_commit(repo, sha)
    merged = [p for p in candidates if p.get("merge_commit_sha") == sha or p.get("merged_at")]
    chosen = merged or candidates
    return int(chosen[0]["number"]) if chosen else None


async def _default_branch(gate: Gate, repo: str, pulls: list[dict[str, Any]]) -> str:
    if pulls and pulls[0].get("base", {}).get("ref"):
        return str(pulls[0]["base"]["ref"])
    return gate.default_branch(repo)
