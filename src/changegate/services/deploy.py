"""Deploy a service the way the procedure says: gate, deploy, verify, monitor, roll back, revert.

Every step moves the persisted deployment record and appends a ledger event, so a crash or
Ctrl-C leaves an inspectable deployment that `resume` continues (never a second deploy).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from changegate.core.deploy_record import DeploymentRecord, monitoring_minutes, refusal
from changegate.core.policy import ChangeType, Policy, Service
from changegate.core.window_decision import decide
from changegate.errors import ChangegateError
from changegate.services.deploy_rollout import RESUMABLE, Rollout
from changegate.services.deploy_verify import Outcome, Verifier
from changegate.services.ports import Cloudflare, EventLog, Git, Notifier, Prober, Wrangler

Progress = Callable[[float, float, str], None]  # (done seconds, total seconds, status line)


class EmergencyBook(Protocol):
    def set_fields(self, emergency_id: str, **values: object) -> None: ...


class Deployments(Protocol):
    def create(self, record: DeploymentRecord) -> None: ...
    def save(self, record: DeploymentRecord) -> None: ...
    def get(self, deployment_id: str) -> DeploymentRecord | None: ...
    def active(self, *, service: str, environment: str, sha: str) -> DeploymentRecord | None: ...
    def find(self, *, service: str, environment: str | None = None, sha: str | None = None, states: frozenset[str] | None = None) -> list[DeploymentRecord]: ...


@dataclass(frozen=True)
class Change:
    """What the deployed commit is: its type, a reference (PR or emergency), and why it may not deploy."""

    change_type: ChangeType
    ref: str
    problem: str | None = None


@dataclass
class DeployParts:
    deployments: Deployments
    events: EventLog
    cloudflare: Cloudflare
    wrangler: Wrangler
    prober: Prober
    git: Git
    notifier: Notifier
    clock: Callable[[], dt.datetime]
    sleep: Callable[[float], None]
    emergencies: EmergencyBook | None = None


class Deployer:
    def __init__(self, policy: Policy, parts: DeployParts, *, progress: Progress | None = None) -> None:
        self.policy = policy
        self.parts = parts
        self.progress = progress

    def service(self, name: str) -> Service:
        found = self.policy.service(name)
        if found is None:
            known = ", ".join(s.name for s in self.policy.services) or "none"
            raise ChangegateError(f"unknown service {name!r}: define it under `services` in the policy (have: {known})")
        return found

    def deploy(self, name: str, *, environment: str, sha: str, change: Change) -> DeploymentRecord:
        service = self.service(name)
        script = service.scripts.get(environment)  # type: ignore[call-overload]
        if service.kind in {"rust-worker", "ts-worker"} and not script:
            raise ChangegateError(f"service {name!r} has no Worker script for {environment}: add scripts.{environment} to the policy")
        now = self.parts.clock()
        record = DeploymentRecord(id=f"dep-{uuid.uuid4().hex[:12]}", service=name, environment=environment, sha=sha,
                                  state="gating", started_at=now, updated_at=now, change_type=change.change_type.value, change_ref=change.ref)
        problem = self._refusal(service, record, change)
        if problem is not None:
            refused = record.moved("refused", at=now, detail=problem)
            self.parts.deployments.create(refused)
            self.event(refused, "refused")
            self.parts.notifier.notify(f":no_entry: changegate refused {name} {sha[:7]} to {environment}: {problem}")
            return refused
        self.parts.deployments.create(record)
        self.event(record, "gate_passed")
        return self._run(service, record, script or "")

    def _refusal(self, service: Service, record: DeploymentRecord, change: Change) -> str | None:
        change_type = ChangeType(record.change_type or "standard")
        earlier = self.parts.deployments.active(service=record.service, environment=record.environment, sha=record.sha) or next(
            iter(self.parts.deployments.find(service=record.service, environment=record.environment, sha=record.sha, states=frozenset({"rolled_back", "rollback_failed", "reverted", "revert_failed"}))), None)
        sandbox = bool(self.parts.deployments.find(service=record.service, environment="sandbox", sha=record.sha, states=frozenset({"verified"})))
        return refusal(self.policy, change_type=change_type, environment=record.environment, change_problem=change.problem,
                       on_branch=self.parts.git.is_on_branch(record.sha, branch=service.branch), branch=service.branch,
                       window=decide(self.policy, change_type, record.started_at) if record.environment == "production" else None,
                       sandbox_verified=sandbox, earlier=earlier)

    def _run(self, service: Service, record: DeploymentRecord, script: str) -> DeploymentRecord:
        verifier = Verifier(self, service, script)
        baseline = verifier.baseline()
        previous = self.parts.cloudflare.current_version(script) if script else None
        steps = self._rollout_steps(service, record, previous)
        record = self.move(record, "deploying", previous_version_id=previous, baseline=baseline, rollout_steps=steps, rollout_step=0 if steps else None)
        self.parts.notifier.notify(f":rocket: changegate deploying {record.service} {record.sha[:7]} to {record.environment} ({record.change_ref})")
        if steps:
            return Rollout(self, verifier, service, script).start(record)
        try:
            version = self.parts.wrangler.deploy(service, env=record.environment, message=f"changegate {record.id}: {record.sha[:12]}")
        except ChangegateError as error:
            return self.move(record, "failed", detail=f"deploy failed: {error}")
        minutes = monitoring_minutes(self.policy, service, ChangeType(record.change_type or "standard"))
        now = self.parts.clock()
        record = self.move(record, "deployed", version_id=version, deployed_at=now, monitor_until=now + dt.timedelta(minutes=minutes))
        if record.environment == "production" and (record.change_ref or "").startswith("emergency "):
            emergency_id = (record.change_ref or "").split(" ", 1)[1]  # the 24-hour post-hoc PR clock starts now
            if self.parts.emergencies is not None:
                self.parts.emergencies.set_fields(emergency_id, deployed_at=now)
            self.parts.events.append_event(kind="emergency.deployed", subject=emergency_id, payload={"emergency": emergency_id, "deployed_at": now.isoformat(), "deployment": record.id}, recorded_at=now)
        return self.finish(verifier, record)

    def resume(self, deployment_id: str) -> DeploymentRecord:
        record = self.parts.deployments.get(deployment_id)
        if record is None:
            raise ChangegateError(f"no deployment {deployment_id}: list them with `changegate deployments SERVICE`")
        service = self.service(record.service)
        script = service.scripts.get(record.environment, "")  # type: ignore[call-overload]
        if record.rollout_steps and record.state in RESUMABLE:
            return Rollout(self, Verifier(self, service, script), service, script).resume(record)
        if record.state == "deploying":
            current = self.parts.cloudflare.current_version(script) if script else None
            if current is None or current == record.previous_version_id:
                return self.move(record, "failed", detail="interrupted before the new version went live; nothing was deployed (run the deploy again)")
            now = self.parts.clock()
            minutes = monitoring_minutes(self.policy, service, ChangeType(record.change_type or "standard"))
            record = self.move(record, "deployed", version_id=current, deployed_at=now, monitor_until=now + dt.timedelta(minutes=minutes))
        if record.state in {"deployed", "monitoring", "rolling_back"}:
            self.event(record, "resumed")
            return self.finish(Verifier(self, service, script), record)
        return record

    def _rollout_steps(self, service: Service, record: DeploymentRecord, previous: str | None) -> tuple[int, ...]:
        """The gradual rollout's steps: a significant change of a Worker in production whose
        service has `rollout` steps and a version at 100% to split traffic with; else ()."""
        if (record.environment != "production" or record.change_type != ChangeType.SIGNIFICANT.value or previous is None
                or service.kind not in {"rust-worker", "ts-worker"}):
            return ()
        return tuple(service.rollout)

    def finish(self, verifier: Verifier, record: DeploymentRecord) -> DeploymentRecord:
        if record.state == "rolling_back":
            return verifier.roll_back(record, reason=record.detail or "resumed rollback")
        record = self.move(record, "monitoring")
        outcome: Outcome = verifier.monitor(record)
        if outcome.healthy:
            done = self.move(record, "verified", detail=outcome.reason)
            self.parts.notifier.notify(f":white_check_mark: changegate verified {record.service} {record.sha[:7]} on {record.environment}: {outcome.reason}")
            return done
        return verifier.roll_back(record, reason=outcome.reason)

    def move(self, record: DeploymentRecord, state: str, *, event: str | None = None, **changes: object) -> DeploymentRecord:
        """Persist `record` in `state` and append `deployment.<event or state>` to the ledger."""
        moved = record.moved(state, at=self.parts.clock(), **changes)
        self.parts.deployments.save(moved)
        self.event(moved, event or state)
        return moved

    def event(self, record: DeploymentRecord, step: str) -> None:
        self.parts.events.append_event(kind=f"deployment.{step}", subject=f"{record.service}/{record.environment}@{record.sha[:12]}",
                                       payload=record.event(), recorded_at=self.parts.clock())
