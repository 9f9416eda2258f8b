"""The gradual rollout of a significant Worker change: upload the new version without deploying
it, then for each of the service's `rollout` steps deploy a split [(new, p), (previous, 100 - p)]
(the last step: the new version at 100%) and monitor it with the Verifier before the next step
(timing: core/rollout.py). An unhealthy or failed step rolls back to the previous version at 100%
through the Verifier's rollback path. Every step moves the record (`rollout_step`) and appends a
`deployment.rollout_step` event, so `resume` continues at the step Cloudflare really serves."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from changegate.core.deploy_record import DeploymentRecord, monitoring_minutes
from changegate.core.policy import ChangeType, Service
from changegate.core.rollout import reached, share, split, step_minutes
from changegate.errors import ChangegateError

if TYPE_CHECKING:
    from changegate.services.deploy import Deployer
    from changegate.services.deploy_verify import Verifier

RESUMABLE = frozenset({"deploying", "deployed", "monitoring"})


class Rollout:
    def __init__(self, deployer: Deployer, verifier: Verifier, service: Service, script: str) -> None:
        self.deployer = deployer
        self.parts = deployer.parts
        self.verifier = verifier
        self.service = service
        self.script = script

    def start(self, record: DeploymentRecord) -> DeploymentRecord:
        """`record` is `deploying` at step 0 with its previous version: upload, then roll out."""
        try:
            version = self.parts.wrangler.upload_version(self.service, env=record.environment, tag=f"sha-{record.sha[:12]}",
                                                         message=f"changegate {record.id}: {record.sha[:12]}")
        except ChangegateError as error:
            return self.deployer.move(record, "failed", detail=f"version upload failed: {error}")
        record = self.deployer.move(record, "deploying", event="uploaded", version_id=version,
                                    detail=f"uploaded {version}; rollout {'/'.join(map(str, record.rollout_steps))}% from {record.previous_version_id}")
        return self.advance(record)

    def advance(self, record: DeploymentRecord) -> DeploymentRecord:
        """Monitor the live step (if any), then deploy and monitor each later step."""
        steps = record.rollout_steps
        while True:
            if record.state in {"deployed", "monitoring"}:
                if record.state == "deployed":
                    record = self.deployer.move(record, "monitoring")
                outcome = self.verifier.monitor(record)
                label = f"rollout step {record.rollout_step}/{len(steps)} ({record.rollout_percent}%)"
                if not outcome.healthy:
                    return self.verifier.roll_back(record, reason=f"{label}: {outcome.reason}")
                if (record.rollout_step or 0) >= len(steps):
                    done = self.deployer.move(record, "verified", detail=f"rolled out {'/'.join(map(str, steps))}%; {outcome.reason}")
                    self.parts.notifier.notify(f":white_check_mark: changegate verified {record.service} {record.sha[:7]} on {record.environment} after a gradual rollout: {outcome.reason}")
                    return done
            step = (record.rollout_step or 0) + 1
            percent = steps[step - 1]
            assert record.version_id is not None and record.previous_version_id is not None
            try:
                self.parts.cloudflare.create_deployment(self.script, versions=split(record.version_id, record.previous_version_id, percent),
                                                        message=f"changegate {record.id}: rollout {percent}%")
            except ChangegateError as error:
                problem = f"rollout step {step}/{len(steps)} ({percent}%) could not be deployed: {error}"
                if step == 1:
                    return self.deployer.move(record, "failed", detail=f"{problem}; nothing was deployed")
                return self.verifier.roll_back(record, reason=problem)
            record = self.went_live(record, step)

    def went_live(self, record: DeploymentRecord, step: int) -> DeploymentRecord:
        """Step `step` serves traffic from now: record it and its share of the monitoring time."""
        now = self.parts.clock()
        steps = record.rollout_steps
        minutes = step_minutes(monitoring_minutes(self.deployer.policy, self.service, ChangeType(record.change_type or "significant")), steps, step)
        percent = steps[step - 1]
        moved = self.deployer.move(record, "deployed", event="rollout_step", rollout_step=step, deployed_at=now,
                                   monitor_until=now + dt.timedelta(minutes=minutes),
                                   detail=f"rollout step {step}/{len(steps)}: {percent}% on {record.version_id}" + (f", {100 - percent}% on {record.previous_version_id}" if percent < 100 else ""))
        self.parts.notifier.notify(f":arrow_up_small: changegate rollout of {record.service} {record.sha[:7]} on {record.environment}: step {step}/{len(steps)}, {percent}% of traffic, monitored {minutes:g} min")
        return moved

    def resume(self, record: DeploymentRecord) -> DeploymentRecord:
        """Continue an interrupted rollout at the step Cloudflare's newest deployment serves:
        never deploy a step twice, never skip a step's monitoring."""
        self.deployer.event(record, "resumed")
        if record.version_id is None:
            return self.deployer.move(record, "failed", detail="interrupted before the new version was uploaded; nothing was deployed (run the deploy again)")
        deployments = self.parts.cloudflare.list_deployments(self.script)
        newest = deployments[0] if deployments else None
        live = share(newest, record.version_id)
        step, current = reached(record.rollout_steps, live), record.rollout_step or 0
        if step is not None and step == current + 1:
            return self.advance(self.went_live(record, step))  # the step went live unrecorded: monitor it in full from now
        if step != current:
            return self.verifier.roll_back(record, reason=f"resumed: Cloudflare serves {live:g}% of {record.version_id}, not step {current} of the rollout {list(record.rollout_steps)}")
        if step == 0 and share(newest, record.previous_version_id) != 100:
            return self.deployer.move(record, "failed", detail=f"interrupted before the first rollout step, and {record.previous_version_id} no longer serves 100%: nothing was deployed (run the deploy again)")
        return self.advance(record)
