"""A real git repository plus changegate's store, for audit tests."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from changegate.adapters.store.deployments import DeploymentStore
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.cli import main
from changegate.core.deploy_record import DeploymentRecord
from changegate.policy_source import default_policy_text
from tests import builders as b
from tests.deploy.harness import git

SERVICES = """
services:
  - name: api
    kind: ts-worker
    scripts: {sandbox: api-sandbox, production: api}
"""
POLICY = default_policy_text().replace('isms_owner: ["@{org}/isms-owner"]', 'isms_owner: ["@isms-owner"]').replace(
    'security_lead: ["@{org}/security-lead"]', 'security_lead: ["@sec-lead"]') + SERVICES
TUESDAY = dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC)  # 12:00 AEDT
SATURDAY = dt.datetime(2026, 11, 14, 1, 0, tzinfo=dt.UTC)


@dataclass
class World:
    root: Path
    store: SqlStore
    clock: int = 0

    def commit(self, subject: str, *, body: str = "", merge: bool = False) -> str:
        self.clock += 1
        when = f"2026-11-01T00:{self.clock:02d}:00+00:00"
        env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        if merge:
            git(self.root, "checkout", "-q", "-b", f"side-{self.clock}")
            (self.root / f"side-{self.clock}").write_text("x", "utf-8")
            git(self.root, "add", "-A")
            git(self.root, "commit", "-q", "-m", "work on a branch")
            git(self.root, "checkout", "-q", "main")
            _git_env(self.root, env, "merge", "-q", "--no-ff", f"side-{self.clock}", "-m", subject)
        else:
            (self.root / "log").write_text(subject, "utf-8")
            git(self.root, "add", "-A")
            _git_env(self.root, env, "commit", "-q", "-m", subject + (f"\n\n{body}" if body else ""))
        return git(self.root, "rev-parse", "HEAD")

    def snapshot(self, pr: int, data: dict[str, Any]) -> None:
        data["pull_request"]["number"] = pr
        self.store.record_verdict(repository=b.REPO, pr_number=pr, head_sha=data["pull_request"]["head"]["sha"], change_type="recorded", state="recorded",
                                  verdict={}, snapshot=data, policy_sha256="0" * 64, changegate_version="test", recorded_at=TUESDAY)

    def deploy(self, sha: str, *, state: str = "verified", environment: str = "production", at: dt.datetime = TUESDAY, minutes: float = 30, change_type: str = "standard") -> None:
        record = DeploymentRecord(id=f"dep-{uuid.uuid4().hex[:12]}", service="api", environment=environment, sha=sha, state=state, started_at=at,
                                  updated_at=at + dt.timedelta(minutes=minutes), change_type=change_type, deployed_at=at, monitor_until=at + dt.timedelta(minutes=minutes))
        DeploymentStore(self.store.engine).create(record)

    def emergency(self, sha: str, **changes: Any) -> str:
        record = {**b.emergency_record(approved_by="sec-lead", deployed_at="2026-11-10T16:00:00Z"), "declared_at": "2026-11-10T15:50:00Z", "approved_at": "2026-11-10T15:55:00Z", **changes}
        EmergencyStore(self.store.engine).add(repository=b.REPO, record=record, sha=sha)
        return str(record["id"])

    def event(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        self.store.append_event(kind=kind, subject=subject, payload=payload, recorded_at=TUESDAY)

    def audit(self, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        assert main(["audit", "--repo", str(self.root), "--github", b.REPO, "--format", "json"]) == 0
        result: dict[str, Any] = json.loads(capsys.readouterr().out)
        return result


def _git_env(root: Path, env: dict[str, str], *args: str) -> None:
    import os
    import subprocess

    full = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", **env}
    subprocess.run(["git", *args], cwd=root, env=full, check=True, capture_output=True)


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "changegate.yml").write_text(POLICY, "utf-8")
    url = f"sqlite:///{tmp_path / 'changegate.db'}"
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", url)
    world = World(root, SqlStore(url))
    world.commit("Adopt changegate (#1)")
    return world
