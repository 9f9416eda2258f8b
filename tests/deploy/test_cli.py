"""`changegate deployments`, `rollback` and `record-release` through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from changegate.cli import main
from tests import builders as b
from tests.cloudflare_emulator import CloudflareEmulator
from tests.deploy.harness import SCRIPT, Rig, make_rig


@pytest.fixture
def rig(tmp_path: Path, cloudflare: CloudflareEmulator, wrangler_bin: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    made = make_rig(tmp_path, cloudflare, wrangler_bin)
    for name, value in cloudflare.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'changegate.db'}")
    yield made
    made.close()


def test_deployments_joins_the_api_with_the_ledger_and_marks_foreign_deploys(rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rig.record_verdict(7, b.standard_pass()) == "pass"
    sha = rig.commit("Retry payment webhooks (#7)")
    deployer = rig.deployer(minutes=0, probes=False)
    record = deployer.deploy("api", environment="production", sha=sha, change=rig.change(deployer, sha))
    assert record.state == "verified", record.detail
    manual = rig.cf.add_version(SCRIPT, message="edited in the dashboard")
    rig.cf.deploy(SCRIPT, [(manual, 100)], message="quick dashboard fix", source="dash")
    policy = tmp_path / "policy.yml"
    policy.write_text(rig.policy_text(minutes=0, probes=False), "utf-8")
    assert main(["deployments", "api", "--policy", str(policy), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["by_changegate"] for row in rows] == [False, True, False]  # dashboard, changegate, the first
    assert rows[1]["changegate_id"] == record.id and rows[1]["sha"] == sha and rows[1]["state"] == "verified"
    assert main(["deployments", "api", "--policy", str(policy)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].endswith("<-- not made by changegate") and record.id in text[1]


def test_manual_rollback_and_mobile_release(rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = rig.live()
    newer = rig.cf.add_version(SCRIPT, message="newer")
    rig.cf.deploy(SCRIPT, [(newer, 100)])
    policy = tmp_path / "policy.yml"
    policy.write_text(rig.policy_text() + "- {name: app, kind: mobile}\n", "utf-8")
    assert main(["rollback", "api", "--policy", str(policy)]) == 0
    assert rig.live() == before and f"rolled back to {before}" in capsys.readouterr().out
    assert main(["record-release", "app", "--version", "2.4.0", "--store", "ios", "--sha", "a" * 40, "--policy", str(policy)]) == 0
    assert "released" in capsys.readouterr().out
    kinds = [entry.kind for entry in rig.store.iter_ledger()]
    assert kinds[-2:] == ["deployment.manual_rollback", "deployment.released"]
