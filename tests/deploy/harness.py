"""A deploy rig: a real git repository with a bare remote, the test Worker, the Cloudflare
emulator, the real wrangler and workerd, and a SQLite store with recorded verdicts."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from changegate.adapters.cloudflare import CloudflareClient
from changegate.adapters.git import GitRepo
from changegate.adapters.notify import NullNotifier
from changegate.adapters.probes import HttpProber
from changegate.adapters.store.deployments import DeploymentStore
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.adapters.store.verdict_index import VerdictIndex
from changegate.adapters.wrangler import WranglerRunner
from changegate.core.evaluate import evaluate
from changegate.core.snapshot import parse_snapshot
from changegate.policy_source import default_policy_text, parse_policy_text
from changegate.services.deploy import Change, Deployer, DeployParts
from changegate.services.deploy_change import change_for
from tests import builders as b
from tests.cloudflare_emulator import CloudflareEmulator
from tests.cloudflare_emulator.wrangler import OFFLINE, copy_worker

SCRIPT = "changegate-ts-worker"
REPO = b.REPO
TUESDAY_NOON = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # 12:00 AEDT
SATURDAY = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
SUNDAY_3AM = dt.datetime(2026, 11, 28, 16, 0, tzinfo=dt.UTC)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Rig:
    root: Path
    cf: CloudflareEmulator
    wrangler_bin: Path
    store: SqlStore
    start: dt.datetime
    base_time: dt.datetime | None = None  # None: the emulator's own clock (analytics line up)
    endpoint: str = "http://127.0.0.1:9/health"
    sleeps: list[Callable[[], None]] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    teams: dict[str, list[str]] = field(default_factory=lambda: {"octocat/security-lead": ["sec-lead"], "octocat/isms-owner": ["isms-owner"]})

    @property
    def worker(self) -> Path:
        return self.root / "ts-worker"

    def now(self) -> dt.datetime:
        return self.cf.now() if self.base_time is None else self.base_time + (self.cf.now() - self.start)

    def sleep(self, seconds: float) -> None:
        if self.sleeps:
            self.sleeps.pop(0)()
        self.cf.advance(seconds)

    def commit(self, subject: str) -> str:
        (self.root / "CHANGELOG").write_text(subject + "\n", "utf-8")
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", subject)
        git(self.root, "push", "-q", "origin", "main")
        return git(self.root, "rev-parse", "HEAD")

    def policy_text(self, *, minutes: float = 30, rollout: list[int] | None = None, probes: bool = True) -> str:
        service = {"name": "api", "kind": "ts-worker", "scripts": {"sandbox": f"{SCRIPT}-sandbox", "production": SCRIPT}, "directory": "ts-worker",
                   "endpoints": {"production": [{"name": "health", "url": self.endpoint, "body_contains": "ok"}],
                                 "sandbox": [{"name": "health", "url": self.endpoint}]},
                   "error_rate": {"max": 0.05, "max_increase": 0.02, "min_requests": 10},
                   "monitoring": {"standard": minutes, "significant": minutes * 4, "emergency": minutes, "poll_seconds": 60, "lag_seconds": 0}}
        if rollout:
            service["rollout"] = rollout
        if not probes:
            service["endpoints"] = {}
        return default_policy_text() + "\n" + yaml.safe_dump({"services": [service]})

    def deployer(self, **policy_options: Any) -> Deployer:
        policy = parse_policy_text(self.policy_text(**policy_options), source="test").policy
        environ = {**os.environ, **self.cf.env(), **OFFLINE, "XDG_CONFIG_HOME": str(self.root.parent / "wrangler-home")}
        cloudflare, prober = CloudflareClient.from_env(environ), HttpProber()
        self.closers += [cloudflare.close, prober.close]
        parts = DeployParts(deployments=DeploymentStore(self.store.engine), events=self.store,
                            cloudflare=cloudflare, wrangler=WranglerRunner(str(self.wrangler_bin), root=self.root, environ=environ),
                            prober=prober, git=GitRepo(self.root), notifier=NullNotifier(), clock=self.now, sleep=self.sleep, emergencies=EmergencyStore(self.store.engine))
        return Deployer(policy, parts)

    def close(self) -> None:
        for close in self.closers:
            close()
        self.store.close()

    def record_verdict(self, number: int, data: dict[str, Any]) -> str:
        data["pull_request"]["number"] = number
        verdict = evaluate(parse_snapshot(data), self.deployer().policy, at=self.now())
        self.store.record_verdict(repository=REPO, pr_number=number, head_sha=verdict.head_sha, change_type=verdict.change_type.value,
                                  state=verdict.state.value, verdict=verdict.as_dict(), snapshot=data, policy_sha256="0" * 64,
                                  changegate_version="test", recorded_at=self.now())
        return verdict.state.value

    def change(self, deployer: Deployer, sha: str) -> Change:
        return change_for(sha, policy=deployer.policy, git=deployer.parts.git, verdicts=VerdictIndex(self.store.engine),
                          emergencies=EmergencyStore(self.store.engine), repository=REPO, teams=self.teams, at=self.now())

    def live(self) -> str | None:
        current = self.cf.current(SCRIPT)
        return current.versions[0][0] if current and len(current.versions) == 1 else None


def make_rig(tmp_path: Path, cf: CloudflareEmulator, wrangler_bin: Path) -> Rig:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", str(remote))
    copy_worker("ts-worker", root)
    (root / ".gitignore").write_text(".wrangler/\n", "utf-8")
    store = SqlStore(f"sqlite:///{tmp_path / 'changegate.db'}")
    rig = Rig(root=root, cf=cf, wrangler_bin=wrangler_bin, store=store, start=cf.now())
    rig.commit("Initial commit (#1)")
    first = cf.add_version(SCRIPT, message="first")
    cf.deploy(SCRIPT, [(first, 100)], message="first")
    cf.set_traffic(SCRIPT, requests_per_minute=100, error_rate=0.001)
    cf.advance(3600)
    rig.start = cf.now()
    return rig
