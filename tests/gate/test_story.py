"""One PR story end to end against the GitHub emulator: open, review, push, re-review, checks, merge.

The same story runs through the webhook processor (GitHub App mode) and through
`changegate check --github-event` (Actions mode); the check run's conclusion must agree at every step.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from changegate.cli import main
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

Step = tuple[str, Callable[[Emulator], tuple[str, str | None, dict[str, Any]]], str]


def story() -> list[Step]:
    """(what happens, the event it sends, the check run's expected conclusion)."""

    def opened(e: Emulator) -> Any:
        e.state.open_pull(REPO, number=7, title="Retry payment webhooks", body=GOOD_BODY, author="octocat", files=("src/webhooks/payment.ts",))
        return event(e, "pull_request", "opened", 7)

    def reviewed(e: Emulator) -> Any:
        e.state.submit_review(REPO, 7, user="hubot")
        return event(e, "pull_request_review", "submitted", 7)

    def checks(e: Emulator) -> Any:
        head = e.state.pull(REPO, 7).head_sha
        green(e, head)
        return event(e, "check_suite", "completed", 7, check_suite={"head_sha": head, "pull_requests": [{"number": 7}]})

    def pushed(e: Emulator) -> Any:
        e.state.push(REPO, 7, files=("src/webhooks/payment.ts", "src/webhooks/retry.ts"), message="Address review")
        return event(e, "pull_request", "synchronize", 7)

    def rereviewed(e: Emulator) -> Any:
        e.state.submit_review(REPO, 7, user="hubot")
        return event(e, "pull_request_review", "submitted", 7)

    def merged(e: Emulator) -> Any:
        e.state.merge_pull(REPO, 7, merged_by="hubot")
        return event(e, "pull_request", "closed", 7)

    return [
        ("opened: no approval, no checks", opened, "action_required"),
        ("approved, checks not run yet", reviewed, "action_required"),
        ("checks green", checks, "success"),
        ("new push: approval is stale, checks missing", pushed, "action_required"),
        ("checks green on the new head", checks, "action_required"),
        ("re-approved on the new head", rereviewed, "success"),
        ("merged", merged, "success"),
    ]


def test_story_as_a_github_app(github_emulator: Emulator) -> None:
    seed(github_emulator)
    seen: list[tuple[str, str | None]] = []

    async def scenario() -> None:
        async with make_client(github_emulator) as client:
            gate = Gate(SnapshotSource(client, clock=lambda: BUSINESS_HOURS), clock=lambda: BUSINESS_HOURS)
            for index, (what, act, _expected) in enumerate(story()):
                name, action, payload = act(github_emulator)
                await gate.process(name, action, payload, delivery_id=f"d-{index}")
                seen.append((what, changegate_conclusion(github_emulator, github_emulator.state.pull(REPO, 7).head_sha)))

    asyncio.run(scenario())
    assert seen == [(what, expected) for what, _act, expected in story()]


def test_story_in_actions_mode(github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seed(github_emulator)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("CHANGEGATE_GITHUB_API_URL", github_emulator.base_url)
    for name in ("CHANGEGATE_GITHUB_APP_ID", "CHANGEGATE_GITHUB_PRIVATE_KEY", "CHANGEGATE_GITHUB_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(name, raising=False)
    seen = []
    for index, (what, act, _expected) in enumerate(story()):
        _name, _action, payload = act(github_emulator)
        if "pull_request" not in payload:
            payload["pull_request"] = {"number": 7}
        path = tmp_path / f"event-{index}.json"
        path.write_text(json.dumps(payload), "utf-8")
        code = main(["check", "--github-event", str(path), "--format", "json"])
        verdict = json.loads(capsys.readouterr().out)
        conclusion = changegate_conclusion(github_emulator, github_emulator.state.pull(REPO, 7).head_sha)
        seen.append((what, conclusion))
        assert code == (0 if verdict["state"] == "pass" else 1), what
    assert seen == [(what, expected) for what, _act, expected in story()]
