"""Verify a deployment (endpoints + error rate, for the whole monitoring period), roll it back
when it breaches, and when the rollback fails revert the change on the branch so CI redeploys
the last good version (the procedure's "If Rollback Fails")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from changegate.core.deploy_record import DeploymentRecord
from changegate.core.policy import Service
from changegate.core.verification import Judgement, Traffic, judge_error_rate, judge_probes
from changegate.errors import ChangegateError

if TYPE_CHECKING:
    from changegate.services.deploy import Deployer

SECRETS_CHANGED = 10220


@dataclass(frozen=True)
class Outcome:
    healthy: bool
    reason: str


class Verifier:
    def __init__(self, deployer: Deployer, service: Service, script: str) -> None:
        self.deployer = deployer
        self.parts = deployer.parts
        self.service = service
        self.script = script

    def baseline(self) -> Traffic | None:
        """The error rate before the deploy, over a window as long as the monitoring period."""
        if not self.script:
            return None
        end = self.parts.clock() - dt.timedelta(seconds=self.service.monitoring.lag_seconds)
        return self.parts.cloudflare.traffic(self.script, start=end - dt.timedelta(minutes=30), end=end)

    def check(self, record: DeploymentRecord) -> Judgement:
        endpoints = self.service.endpoints.get(record.environment, [])  # type: ignore[call-overload]
        probes = judge_probes([self.parts.prober.probe(endpoint) for endpoint in endpoints])
        if not probes.healthy or not self.script or record.deployed_at is None:
            return probes
        end = self.parts.clock() - dt.timedelta(seconds=self.service.monitoring.lag_seconds)
        if end <= record.deployed_at:
            return probes
        traffic = self.parts.cloudflare.traffic(self.script, start=record.deployed_at, end=end)
        rate = judge_error_rate(traffic, before=record.baseline, limits=self.service.error_rate)
        return Judgement(rate.healthy, f"{probes.reason}; {rate.reason}")

    def monitor(self, record: DeploymentRecord) -> Outcome:
        assert record.monitor_until is not None and record.deployed_at is not None
        total = max((record.monitor_until - record.deployed_at).total_seconds(), 0.0)
        while True:
            now = self.parts.clock()
            judgement = self.check(record)
            done = min(max((now - record.deployed_at).total_seconds(), 0.0), total)
            if self.deployer.progress is not None:
                self.deployer.progress(done, total, judgement.reason)
            if not judgement.healthy:
                return Outcome(False, judgement.reason)
            if now >= record.monitor_until:
                return Outcome(True, f"monitored {total / 60:g} min: {judgement.reason}")
            self.parts.sleep(min(self.service.monitoring.poll_seconds, (record.monitor_until - now).total_seconds()))

    def roll_back(self, record: DeploymentRecord, *, reason: str) -> DeploymentRecord:
        move = self.deployer.move
        record = move(record, "rolling_back", detail=reason)
        self.parts.notifier.notify(f":rotating_light: changegate rolling back {record.service} {record.sha[:7]} on {record.environment}: {reason}")
        problem = self._rollback(record)
        if problem is None:
            check = self.check(record.moved(record.state, at=record.updated_at, deployed_at=None))
            if check.healthy:
                rolled = move(record, "rolled_back", detail=f"{reason}; rolled back to {record.previous_version_id}: {check.reason}")
                self.parts.notifier.notify(f":leftwards_arrow_with_hook: changegate rolled back {record.service} on {record.environment} to {record.previous_version_id}")
                return rolled
            problem = f"after the rollback the endpoints still fail: {check.reason}"
        record = move(record, "rollback_failed", detail=f"{reason}; rollback failed: {problem}")
        return self._revert(record)

    def _rollback(self, record: DeploymentRecord) -> str | None:
        target = record.previous_version_id
        if not self.script:
            return "this service has no Worker script to roll back"
        if target is None:
            return "no previous version to roll back to (first deployment)"
        message = f"changegate rollback {record.id}"
        try:
            self.parts.cloudflare.create_deployment(self.script, versions=[(target, 100.0)], message=message)
            return None
        except ChangegateError as error:
            if getattr(error, "code", None) != SECRETS_CHANGED and SECRETS_CHANGED not in getattr(error, "codes", ()):
                return str(error)
            if not self.service.allow_forced_rollback:
                return f"{error} (secrets changed since {target}; the policy does not allow forcing past them: set allow_forced_rollback to permit it)"
        try:
            self.parts.cloudflare.create_deployment(self.script, versions=[(target, 100.0)], message=message + " (forced past changed secrets)", force=True)
        except ChangegateError as error:
            return str(error)
        self.parts.notifier.notify(f":warning: changegate forced the rollback of {record.service} past changed secrets (allow_forced_rollback)")
        return None

    def _revert(self, record: DeploymentRecord) -> DeploymentRecord:
        move = self.deployer.move
        try:
            revert_sha = self.parts.git.revert(record.sha, remote=self.service.revert_remote, branch=self.service.branch,
                                               message=f"changegate: revert {record.sha[:12]} after a failed rollback ({record.id})")
        except ChangegateError as error:
            failed = move(record, "revert_failed", detail=f"{record.detail}; revert failed: {error}")
            self.parts.notifier.notify(f":fire: changegate could not roll back or revert {record.service} {record.sha[:7]}: act now ({error})")
            return failed
        reverted = move(record, "reverted", detail=f"{record.detail}; reverted as {revert_sha[:12]} on {self.service.branch} (CI redeploys it)")
        self.parts.events.append_event(kind="obligation.opened", subject=f"root-cause/{record.service}@{record.sha[:12]}",
                                       payload={"kind": "root_cause_investigation", "deployment": record.id, "service": record.service, "sha": record.sha,
                                                "revert_sha": revert_sha, "reason": record.detail or "", "opened_at": self.parts.clock().isoformat()},
                                       recorded_at=self.parts.clock())
        self.parts.notifier.notify(f":rewind: changegate reverted {record.sha[:7]} on {self.service.branch}; investigate the root cause before re-attempting the change")
        return reverted
