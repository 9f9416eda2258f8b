"""Deploy scenarios with the real wrangler 4.86.0 (deploying to the Cloudflare emulator), the real
workerd (`wrangler dev`) serving the Worker's endpoints, and a real git remote for reverts.

Monitoring runs on the emulator's clock (the deployer sleeps by advancing it), so a 30-minute
monitoring period takes seconds on exactly the code path of a real one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from changegate.adapters.store.emergencies import EmergencyStore
from tests import builders as b
from tests.cloudflare_emulator import CloudflareEmulator
from tests.deploy.harness import SATURDAY, SCRIPT, SUNDAY_3AM, Rig, git, make_rig
from tests.deploy.router import VersionRouter


@pytest.fixture
def rig(tmp_path: Path, cloudflare: CloudflareEmulator, wrangler_bin: Path) -> Iterator[Rig]:
    made = make_rig(tmp_path, cloudflare, wrangler_bin)
    yield made
    made.close()


@pytest.fixture
def broken(worker_dev: Callable[..., Any], rig: Rig) -> Iterator[Rig]:
    """The new version is broken: the live version (per the emulator) picks the workerd."""
    good = rig.live()
    with worker_dev(mode="healthy") as healthy_url, worker_dev(mode="broken") as broken_url, \
            VersionRouter(lambda: healthy_url if rig.live() == good else broken_url) as url:
        rig.endpoint = f"{url}/health"
        yield rig


def merged_standard(rig: Rig, number: int = 7) -> str:
    assert rig.record_verdict(number, b.standard_pass()) == "pass"
    return rig.commit(f"Retry payment webhooks (#{number})")


def kinds(rig: Rig) -> list[str]:
    return [entry.kind for entry in rig.store.iter_ledger() if entry.kind.startswith(("deployment.", "obligation."))]


def test_a_healthy_deploy_is_verified(healthy: Rig) -> None:
    rig = healthy
    before = rig.live()
    sha = merged_standard(rig)
    deployer = rig.deployer()
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "verified", record.detail
    assert record.previous_version_id == before and record.version_id == rig.live() != before
    assert "monitored 30 min" in (record.detail or "") and "error rate 0.10% (3/3000) within limits" in (record.detail or "")
    assert kinds(rig) == ["deployment.gate_passed", "deployment.deploying", "deployment.deployed", "deployment.monitoring", "deployment.verified"]
    assert rig.store.verify().ok
    again = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert again.state == "refused" and "already deployed" in (again.detail or "")


def test_an_endpoint_failure_rolls_back(broken: Rig) -> None:
    rig = broken
    before = rig.live()
    sha = merged_standard(rig)
    deployer = rig.deployer()
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "rolled_back", record.detail
    assert "endpoint check failed: health: expected 200, got 500" in (record.detail or "")
    assert rig.live() == before  # the previous version serves again
    assert "rolled back to" in (record.detail or "") and "1 endpoint(s) as expected" in (record.detail or "")


def test_an_error_rate_spike_rolls_back(healthy: Rig) -> None:
    rig = healthy
    before = rig.live()
    sha = merged_standard(rig)
    rig.sleeps.append(lambda: rig.cf.set_traffic(SCRIPT, requests_per_minute=100, error_rate=0.3))
    deployer = rig.deployer()
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "rolled_back", record.detail
    assert "error rate 30.00%" in (record.detail or "") and rig.live() == before
    posts = rig.cf.calls("POST", "/deployments")
    assert posts[-1].body["versions"] == [{"version_id": before, "percentage": 100}] and "force=true" not in posts[-1].query


def test_a_refused_rollback_reverts_the_commit_and_opens_an_obligation(broken: Rig) -> None:
    rig = broken
    sha = merged_standard(rig)
    rig.cf.secrets_changed(SCRIPT, rig.live() or "", ["API_KEY"])
    deployer = rig.deployer()
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "reverted", record.detail
    assert "10220" in (record.detail or "") and "allow_forced_rollback" in (record.detail or "")
    remote_head = git(rig.root.parent / "remote.git", "log", "-1", "--format=%s%n%b", "main")
    assert remote_head.startswith('Revert "Retry payment webhooks (#7)"') and record.id in remote_head
    assert kinds(rig)[-2:] == ["deployment.reverted", "obligation.opened"]


def test_significant_outside_the_window_is_refused_with_the_next_open_time(healthy: Rig) -> None:
    rig = healthy
    assert rig.record_verdict(9, b.significant()) == "pass"
    sha = rig.commit("ci: cache wrangler builds (#9)")
    rig.base_time = SATURDAY
    deployer = rig.deployer()
    sandbox = deployer.deploy("api", environment="sandbox", sha=sha, change=rig.change(deployer, sha))
    assert sandbox.state == "verified", sandbox.detail  # sandbox deploys any time: the staging step
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "refused"
    assert "Next open: Monday 30 Nov 2026 09:00 AEDT" in (record.detail or "")


def test_significant_without_sandbox_verification_is_refused(rig: Rig) -> None:
    assert rig.record_verdict(9, b.significant()) == "pass"
    sha = rig.commit("ci: cache wrangler builds (#9)")
    deployer = rig.deployer()
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "refused" and "sandbox first" in (record.detail or "")


def test_an_emergency_deploys_at_3am_on_a_sunday(healthy: Rig) -> None:
    rig = healthy
    rig.base_time = SUNDAY_3AM
    sha = rig.commit("hotfix: stop double charges")  # a direct push: no PR yet
    EmergencyStore(rig.store.engine).add(repository=b.REPO, record=b.emergency_record(approved_by="sec-lead", deployed_at=None), sha=sha)
    deployer = rig.deployer()
    change = rig.change(deployer, sha)
    assert change.problem is None and change.ref == "emergency EMG-7"
    record = deployer.deploy("api", environment="production", sha=sha, change=change)
    assert record.state == "verified", record.detail


def test_a_direct_push_without_an_emergency_is_refused(rig: Rig) -> None:
    sha = rig.commit("quick fix")
    deployer = rig.deployer()
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "refused" and "not merged from a pull request" in (record.detail or "")


def test_a_crash_during_monitoring_is_resumed_not_redeployed(healthy: Rig) -> None:
    rig = healthy
    sha = merged_standard(rig)
    deployer = rig.deployer()

    def crash() -> None:
        raise KeyboardInterrupt

    rig.sleeps.extend([lambda: None, crash])
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    [interrupted] = deployer.parts.deployments.find(service="api", sha=sha)
    assert interrupted.state == "monitoring"
    uploads = len(rig.cf.calls("POST", "/versions"))
    again = rig.deployer().deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert again.state == "refused" and f"--resume {interrupted.id}" in (again.detail or "")
    resumed = rig.deployer().resume(interrupted.id)
    assert resumed.state == "verified", resumed.detail
    assert len(rig.cf.calls("POST", "/versions")) == uploads  # no second deploy
    assert resumed.monitor_until == interrupted.monitor_until
