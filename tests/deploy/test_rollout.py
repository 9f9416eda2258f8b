"""Gradual rollout of a significant change (`rollout: [10, 50, 100]`) with the real wrangler
(`wrangler versions upload` to the Cloudflare emulator), traffic splits created through the API,
the real workerd serving the endpoints, and monitoring on the emulator's clock.

The emulator's clock starts on a Tuesday at noon in Sydney, so a significant change is inside its
business-hours window and the analytics line up with the deployer's clock."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from changegate.services.deploy import Deployer
from tests import builders as b
from tests.cloudflare_emulator import CloudflareEmulator
from tests.deploy.harness import SCRIPT, TUESDAY_NOON, Rig, make_rig
from tests.deploy.router import VersionRouter

ROLLOUT = [10, 50, 100]
MINUTES = 5  # standard 5, significant 20: steps of 20/3, 20/3 and 20 minutes


@pytest.fixture
def rig(tmp_path: Path, cloudflare: CloudflareEmulator, wrangler_bin: Path) -> Iterator[Rig]:
    cloudflare.set_clock(TUESDAY_NOON - dt.timedelta(hours=1))  # make_rig lets an hour of traffic pass
    made = make_rig(tmp_path, cloudflare, wrangler_bin)
    yield made
    made.close()


def new_share(rig: Rig, good: str | None) -> float:
    current = rig.cf.current(SCRIPT)
    return sum(pct for vid, pct in current.versions if vid != good) if current else 0.0


@pytest.fixture
def broken_at_half(worker_dev: Callable[..., Any], rig: Rig) -> Iterator[Rig]:
    """The new version is broken, and the probes reach it once it has half the traffic or more."""
    good = rig.live()
    with worker_dev(mode="healthy") as healthy_url, worker_dev(mode="broken") as broken_url, \
            VersionRouter(lambda: broken_url if new_share(rig, good) >= 50 else healthy_url) as url:
        rig.endpoint = f"{url}/health"
        yield rig


def verified_in_sandbox(rig: Rig, deployer: Deployer, number: int = 9) -> str:
    assert rig.record_verdict(number, b.significant()) == "pass"
    sha = rig.commit(f"feat: faster checkout (#{number})")
    sandbox = deployer.deploy("api", environment="sandbox", sha=sha, change=rig.change(deployer, sha))
    assert sandbox.state == "verified", sandbox.detail
    assert sandbox.rollout_steps == () and sandbox.rollout_step is None  # sandbox deploys at once
    return sha


def events(rig: Rig, sha: str) -> list[tuple[str, dict[str, Any]]]:
    """(kind, payload) of the production deployment's ledger events."""
    subject = f"api/production@{sha[:12]}"
    return [(e.kind, json.loads(e.payload_json)) for e in rig.store.iter_ledger() if e.subject == subject]


def posted_splits(rig: Rig, after: int) -> list[list[dict[str, Any]]]:
    return [call.body["versions"] for call in rig.cf.calls("POST", f"{SCRIPT}/deployments")[after:]]


def splits(new: str, old: str | None) -> list[list[dict[str, Any]]]:
    return [[{"version_id": new, "percentage": 10}, {"version_id": old, "percentage": 90}],
            [{"version_id": new, "percentage": 50}, {"version_id": old, "percentage": 50}],
            [{"version_id": new, "percentage": 100}]]


def test_a_significant_change_rolls_out_10_50_100_with_monitoring_at_each_step(healthy: Rig) -> None:
    rig = healthy
    before = rig.live()
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    sha = verified_in_sandbox(rig, deployer)
    uploads, posts = len(rig.cf.calls("POST", f"{SCRIPT}/versions")), len(rig.cf.calls("POST", f"{SCRIPT}/deployments"))
    deployments = len(rig.cf.deployments(SCRIPT))

    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))

    assert record.state == "verified", record.detail
    new = record.version_id
    assert new is not None and new != before and record.previous_version_id == before
    assert (record.rollout_steps, record.rollout_step, record.rollout_percent) == ((10, 50, 100), 3, 100)
    assert "rolled out 10/50/100%" in (record.detail or "") and "monitored 20 min" in (record.detail or "")
    assert len(rig.cf.calls("POST", f"{SCRIPT}/versions")) == uploads + 1  # uploaded once, not deployed by wrangler
    assert posted_splits(rig, posts) == splits(new, before)
    shown = [d.versions for d in reversed(rig.cf.deployments(SCRIPT)[: len(rig.cf.deployments(SCRIPT)) - deployments])]
    assert shown == [[(new, 10.0), (before, 90.0)], [(new, 50.0), (before, 50.0)], [(new, 100.0)]]
    assert rig.live() == new
    log = events(rig, sha)
    assert [kind for kind, _ in log] == ["deployment.gate_passed", "deployment.deploying", "deployment.uploaded",
                                         "deployment.rollout_step", "deployment.monitoring", "deployment.rollout_step", "deployment.monitoring",
                                         "deployment.rollout_step", "deployment.monitoring", "deployment.verified"]
    steps = [payload for kind, payload in log if kind == "deployment.rollout_step"]
    assert [(p["rollout_step"], p["rollout_steps"]) for p in steps] == [(1, ROLLOUT), (2, ROLLOUT), (3, ROLLOUT)]
    minutes = [(to(p["monitor_until"]) - to(p["deployed_at"])).total_seconds() / 60 for p in steps]
    assert [round(m, 2) for m in minutes] == [6.67, 6.67, 20.0]  # 20/3 per earlier step, the full 20 at 100%
    assert rig.store.verify().ok
    stored = deployer.parts.deployments.get(record.id)
    assert stored is not None and (stored.rollout_steps, stored.rollout_step) == ((10, 50, 100), 3)


def to(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_an_endpoint_failure_at_the_50_percent_step_rolls_back_to_the_previous_version(broken_at_half: Rig) -> None:
    rig = broken_at_half
    before = rig.live()
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    sha = verified_in_sandbox(rig, deployer)
    posts = len(rig.cf.calls("POST", f"{SCRIPT}/deployments"))

    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))

    assert record.state == "rolled_back", record.detail
    assert record.rollout_step == 2 and record.version_id is not None
    assert "rollout step 2/3 (50%): endpoint check failed: health: expected 200, got 500" in (record.detail or "")
    assert posted_splits(rig, posts) == [*splits(record.version_id, before)[:2], [{"version_id": before, "percentage": 100}]]
    assert rig.live() == before  # the previous version serves all traffic again; the rollout stopped
    assert [kind for kind, _ in events(rig, sha)][-6:] == ["deployment.rollout_step", "deployment.monitoring", "deployment.rollout_step",
                                                          "deployment.monitoring", "deployment.rolling_back", "deployment.rolled_back"]


def crash_when(rig: Rig, deployer: Deployer, condition: Callable[[], bool]) -> None:
    """The next sleep while `condition()` holds raises KeyboardInterrupt (Ctrl-C) once."""
    crashed: list[bool] = []

    def sleep(seconds: float) -> None:
        if not crashed and condition():
            crashed.append(True)
            raise KeyboardInterrupt
        rig.sleep(seconds)

    deployer.parts.sleep = sleep


def test_a_crash_while_monitoring_the_50_percent_step_resumes_there(healthy: Rig) -> None:
    rig = healthy
    before = rig.live()
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    sha = verified_in_sandbox(rig, deployer)
    uploads, posts = len(rig.cf.calls("POST", f"{SCRIPT}/versions")), len(rig.cf.calls("POST", f"{SCRIPT}/deployments"))
    crash_when(rig, deployer, lambda: new_share(rig, before) == 50)
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    [interrupted] = deployer.parts.deployments.find(service="api", environment="production", sha=sha)
    assert (interrupted.state, interrupted.rollout_step) == ("monitoring", 2)

    again = rig.deployer(minutes=MINUTES, rollout=ROLLOUT).deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert again.state == "refused" and f"--resume {interrupted.id}" in (again.detail or "")
    resumed = rig.deployer(minutes=MINUTES, rollout=ROLLOUT).resume(interrupted.id)

    assert resumed.state == "verified", resumed.detail
    assert len(rig.cf.calls("POST", f"{SCRIPT}/versions")) == uploads + 1  # no second upload
    assert posted_splits(rig, posts) == splits(interrupted.version_id or "", before)  # each step deployed once
    kinds = [kind for kind, _ in events(rig, sha)]
    assert kinds[kinds.index("deployment.resumed"):] == ["deployment.resumed", "deployment.rollout_step", "deployment.monitoring",
                                                         "deployment.verified"]  # step 2's monitoring continued, then step 3
    step_two = monitoring_of(rig, sha)
    assert step_two == [(interrupted.deployed_at, interrupted.monitor_until)]  # step 2 kept its monitoring period


def monitoring_of(rig: Rig, sha: str, step: int = 2) -> list[tuple[dt.datetime | None, dt.datetime | None]]:
    return sorted({(to(p["deployed_at"]), to(p["monitor_until"])) for kind, p in events(rig, sha)
                   if kind == "deployment.monitoring" and p["rollout_step"] == step})


def test_a_crash_after_a_step_went_live_unrecorded_resumes_at_that_step(healthy: Rig) -> None:
    """Killed between the POST that made the 50% split and saving the record: the record says
    step 1, Cloudflare serves step 2 (a split: no version at 100%). Resume monitors step 2 in
    full from then on and never posts it again."""
    rig = healthy
    before = rig.live()
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    sha = verified_in_sandbox(rig, deployer)
    uploads, posts = len(rig.cf.calls("POST", f"{SCRIPT}/versions")), len(rig.cf.calls("POST", f"{SCRIPT}/deployments"))
    create = deployer.parts.cloudflare.create_deployment

    def create_then_crash(script: str, **options: Any) -> dict[str, Any]:
        result = create(script, **options)
        if options["versions"][0][1] == 50:
            raise KeyboardInterrupt
        return result

    deployer.parts.cloudflare.create_deployment = create_then_crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    [interrupted] = deployer.parts.deployments.find(service="api", environment="production", sha=sha)
    assert (interrupted.state, interrupted.rollout_step) == ("monitoring", 1)
    assert rig.live() is None and new_share(rig, before) == 50  # a split: current_version() is None

    resumed = rig.deployer(minutes=MINUTES, rollout=ROLLOUT).resume(interrupted.id)

    assert resumed.state == "verified", resumed.detail
    assert len(rig.cf.calls("POST", f"{SCRIPT}/versions")) == uploads + 1
    assert posted_splits(rig, posts) == splits(interrupted.version_id or "", before)
    kinds = [kind for kind, _ in events(rig, sha)]
    assert kinds[kinds.index("deployment.resumed"):] == ["deployment.resumed", "deployment.rollout_step", "deployment.monitoring",
                                                         "deployment.rollout_step", "deployment.monitoring", "deployment.verified"]
    [(start, until)] = monitoring_of(rig, sha)
    assert (until - start).total_seconds() == pytest.approx(20 / 3 * 60)


def test_a_crash_after_the_upload_resumes_with_the_first_step(healthy: Rig) -> None:
    rig = healthy
    before = rig.live()
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    sha = verified_in_sandbox(rig, deployer)
    posts = len(rig.cf.calls("POST", f"{SCRIPT}/deployments"))

    def crash(*_args: Any, **_options: Any) -> dict[str, Any]:
        raise KeyboardInterrupt

    deployer.parts.cloudflare.create_deployment = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    [interrupted] = deployer.parts.deployments.find(service="api", environment="production", sha=sha)
    assert (interrupted.state, interrupted.rollout_step) == ("deploying", 0) and interrupted.version_id
    assert rig.live() == before

    resumed = rig.deployer(minutes=MINUTES, rollout=ROLLOUT).resume(interrupted.id)
    assert resumed.state == "verified", resumed.detail
    assert posted_splits(rig, posts) == splits(interrupted.version_id or "", before)


def test_a_standard_change_still_deploys_at_once(healthy: Rig) -> None:
    rig = healthy
    before = rig.live()
    assert rig.record_verdict(7, b.standard_pass()) == "pass"
    sha = rig.commit("Retry payment webhooks (#7)")
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    posts = len(rig.cf.calls("POST", f"{SCRIPT}/deployments"))
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "verified", record.detail
    assert (record.rollout_steps, record.rollout_step) == ((), None)
    assert record.version_id == rig.live() != before
    assert posted_splits(rig, posts) == [[{"version_id": record.version_id, "percentage": 100}]]  # `wrangler deploy`: 100% at once
    assert [kind for kind, _ in events(rig, sha)] == ["deployment.gate_passed", "deployment.deploying", "deployment.deployed",
                                                      "deployment.monitoring", "deployment.verified"]


def test_a_resume_after_the_split_was_changed_outside_changegate_rolls_back(healthy: Rig) -> None:
    """Interrupted at 50%, then someone put the previous version back at 100% by hand: the record
    and Cloudflare disagree, so resume does not carry on; it rolls back to the previous version."""
    rig = healthy
    before = rig.live()
    deployer = rig.deployer(minutes=MINUTES, rollout=ROLLOUT)
    sha = verified_in_sandbox(rig, deployer)
    crash_when(rig, deployer, lambda: new_share(rig, before) == 50)
    with pytest.raises(KeyboardInterrupt):
        deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    [interrupted] = deployer.parts.deployments.find(service="api", environment="production", sha=sha)
    rig.cf.deploy(SCRIPT, [(before or "", 100)], message="manual rollback", source="dash")

    resumed = rig.deployer(minutes=MINUTES, rollout=ROLLOUT).resume(interrupted.id)

    assert resumed.state == "rolled_back", resumed.detail
    assert "Cloudflare serves 0% of" in (resumed.detail or "") and "not step 2" in (resumed.detail or "")
    assert rig.live() == before
