"""A deployment's record and the deploy gate's rules. Pure.

States: gating -> refused | deploying -> deployed -> monitoring -> verified
                 | rolling_back -> rolled_back | rollback_failed -> reverted | revert_failed;
deploying -> failed (the deploy command failed); released (a mobile app-store submission).
A gradual rollout (core/rollout.py) goes deploying -> deployed -> monitoring once per step;
`rollout_step` says which step of `rollout_steps` serves traffic (0: uploaded, none yet).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from changegate.core.policy import ChangeType, Policy, Service
from changegate.core.rollout import decode, encode
from changegate.core.verification import Traffic
from changegate.core.window_decision import WindowDecision

ACTIVE = frozenset({"deploying", "deployed", "monitoring", "verified", "rolling_back", "released"})
FAILED_CHANGE = frozenset({"rolled_back", "rollback_failed", "reverted", "revert_failed"})
FINAL = frozenset({"refused", "failed", "verified", "rolled_back", "reverted", "revert_failed", "released"})


@dataclass(frozen=True)
class DeploymentRecord:
    id: str
    service: str
    environment: str
    sha: str
    state: str
    started_at: dt.datetime
    updated_at: dt.datetime
    change_type: str | None = None
    change_ref: str | None = None
    version_id: str | None = None
    previous_version_id: str | None = None
    deployed_at: dt.datetime | None = None
    monitor_until: dt.datetime | None = None
    baseline: Traffic | None = None
    detail: str | None = None
    rollout_steps: tuple[int, ...] = ()
    rollout_step: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def moved(self, state: str, *, at: dt.datetime, **changes: Any) -> DeploymentRecord:
        return replace(self, state=state, updated_at=at, **changes)

    def row(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in {"baseline", "extra"}}
        data["baseline_json"] = json.dumps(asdict(self.baseline)) if self.baseline else None
        data["rollout_steps"] = encode(self.rollout_steps)
        return data

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeploymentRecord:
        baseline = row.pop("baseline_json", None)
        steps = decode(row.pop("rollout_steps", None))
        known = {f.name for f in fields(cls)}
        record = cls(**{key: value for key, value in row.items() if key in known})
        return replace(record, baseline=Traffic(**json.loads(baseline)) if baseline else None, rollout_steps=steps)

    def event(self) -> dict[str, Any]:
        """The record as a ledger payload."""
        data = {**self.row(), "rollout_steps": list(self.rollout_steps) or None}
        return {key: (value.isoformat() if isinstance(value, dt.datetime) else value) for key, value in data.items()}

    @property
    def rollout_percent(self) -> int | None:
        """The new version's share of traffic in the current rollout step (None: no rollout step live)."""
        step = self.rollout_step or 0
        return self.rollout_steps[step - 1] if 0 < step <= len(self.rollout_steps) else None


def monitoring_minutes(policy: Policy, service: Service, change_type: ChangeType) -> float:
    override = getattr(service.monitoring, change_type.value)
    return float(override) if override is not None else float(policy.types.of(change_type).monitoring_minutes)


def refusal(policy: Policy, *, change_type: ChangeType, environment: str, change_problem: str | None,
            on_branch: bool, branch: str, window: WindowDecision | None, sandbox_verified: bool, earlier: DeploymentRecord | None) -> str | None:
    """Why the procedure forbids this deploy, or None when it may go ahead."""
    if earlier is not None:
        if earlier.state in FAILED_CHANGE:
            return f"this commit was already deployed and {earlier.state.replace('_', ' ')} ({earlier.id}): investigate the root cause and deploy a new commit"
        return f"this commit is already deployed to {environment} ({earlier.id}, {earlier.state}); to continue that deployment run `changegate deploy --resume {earlier.id}`"
    if not on_branch and change_type is not ChangeType.EMERGENCY:
        return f"the commit is not on {branch}: only merged changes deploy (an emergency fix may bypass this with a declared emergency)"
    if change_problem is not None:
        return change_problem
    if environment == "production":
        rules = policy.types.of(change_type)
        if rules.staged_rollout and not sandbox_verified:
            return f"a {change_type.value} change deploys to sandbox first: this commit has no verified sandbox deployment (run `changegate deploy ... --env sandbox` and let it verify)"
        if window is not None and not window.open:
            return window.reason
    return None
