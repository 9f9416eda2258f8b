"""Where the policy comes from, and what happens when it is broken or changes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from changegate.cli import main
from changegate.core.snapshot import parse_snapshot
from changegate.policy_source import default_policy_text
from changegate.services.gate import Gate
from changegate.services.snapshots import SnapshotSource
from tests.gate.story import (
    BUSINESS_HOURS,
    GOOD_BODY,
    REPO,
    changegate_conclusion,
    event,
    green,
    seed,
)
from tests.github.conftest import make_client
from tests.github_emulator import Emulator

TWO_APPROVALS = default_policy_text().replace("approvals: {count: 1}", "approvals: {count: 2}")
NO_APPROVALS = default_policy_text().replace("approvals: {count: 1}", "approvals: {count: 0}")


def one_approval_pr(emulator: Emulator, number: int = 5, files: tuple[str, ...] = ("src/app.ts",)) -> str:
    pull = emulator.state.open_pull(REPO, number=number, title="Retry payment webhooks", body=GOOD_BODY, files=files)
    green(emulator, pull.head_sha)
    emulator.state.submit_review(REPO, number, user="hubot")
    return str(pull.head_sha)


def process(emulator: Emulator, *events: tuple[str, str | None, dict[str, Any]]) -> None:
    async def scenario() -> None:
        async with make_client(emulator) as client:
            gate = Gate(SnapshotSource(client, clock=lambda: BUSINESS_HOURS), clock=lambda: BUSINESS_HOURS)
            for index, (name, action, payload) in enumerate(events):
                await gate.process(name, action, payload, delivery_id=f"d-{index}")

    asyncio.run(scenario())


def test_the_base_branch_policy_applies_not_the_prs_own(github_emulator: Emulator) -> None:
    seed(github_emulator)
    github_emulator.state.set_file(REPO, "changegate.yml", TWO_APPROVALS, ref="main")
    head = one_approval_pr(github_emulator)
    github_emulator.state.set_file(REPO, "changegate.yml", NO_APPROVALS, ref="feature-5")  # the PR's branch
    process(github_emulator, event(github_emulator, "pull_request", "opened", 5))
    assert changegate_conclusion(github_emulator, head) == "action_required"


def test_the_organisation_policy_is_used_when_the_repository_has_none(github_emulator: Emulator) -> None:
    seed(github_emulator)
    github_emulator.state.add_repo("octocat/.github", default_branch="main")
    github_emulator.state.set_file("octocat/.github", "changegate.yml", TWO_APPROVALS)
    head = one_approval_pr(github_emulator)
    process(github_emulator, event(github_emulator, "pull_request", "opened", 5))
    assert changegate_conclusion(github_emulator, head) == "action_required"


def test_an_invalid_policy_fails_the_check_run_and_says_what_to_fix(github_emulator: Emulator) -> None:
    seed(github_emulator)
    github_emulator.state.set_file(REPO, "changegate.yml", default_policy_text().replace("window: business_hours", "window: office"), ref="main")
    head = one_approval_pr(github_emulator)
    process(github_emulator, event(github_emulator, "pull_request", "opened", 5))
    with github_emulator.client() as http:
        [run] = http.get(f"/repos/{REPO}/commits/{head}/check-runs", params={"check_name": "changegate"}).json()["check_runs"]
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("Invalid policy in octocat/Hello-World@main")
    assert "unknown window 'office'" in run["output"]["summary"]


def test_a_push_changing_the_policy_re_evaluates_open_prs(github_emulator: Emulator) -> None:
    seed(github_emulator)
    head = one_approval_pr(github_emulator)
    seen = []
    push = ("push", None, {"ref": "refs/heads/main", "repository": {"full_name": REPO, "default_branch": "main"},
                           "commits": [{"added": ["changegate.yml"], "modified": [], "removed": []}]})

    async def scenario() -> None:
        async with make_client(github_emulator) as client:
            gate = Gate(SnapshotSource(client, clock=lambda: BUSINESS_HOURS), clock=lambda: BUSINESS_HOURS)
            await gate.process(*event(github_emulator, "pull_request", "opened", 5), delivery_id="d-1")
            seen.append(changegate_conclusion(github_emulator, head))
            github_emulator.state.set_file(REPO, "changegate.yml", TWO_APPROVALS, ref="main")
            await gate.process(*push, delivery_id="d-2")
            seen.append(changegate_conclusion(github_emulator, head))

    asyncio.run(scenario())
    assert seen == ["success", "action_required"]


def test_snapshot_command_writes_a_valid_snapshot(github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(github_emulator)
    github_emulator.state.set_file(REPO, ".github/CODEOWNERS", "* @octocat/security-lead\n", ref="main")
    one_approval_pr(github_emulator)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("CHANGEGATE_GITHUB_API_URL", github_emulator.base_url)
    out = tmp_path / "pr.json"
    assert main(["snapshot", f"{REPO}#5", "-o", str(out)]) == 0
    snapshot = parse_snapshot(json.loads(out.read_text("utf-8")))
    assert snapshot.codeowners == "* @octocat/security-lead\n"
    assert snapshot.teams["octocat/security-lead"] == ["sec-lead"]
    assert [review.user.login for review in snapshot.reviews if review.user] == ["hubot"]
    assert {run.name for run in snapshot.check_runs} == {"lint", "test", "build"}
    assert main(["check", "--snapshot", str(out), "--format", "json"]) == 1  # CODEOWNERS: the Security Lead must approve
