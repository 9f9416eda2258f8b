"""Shared set-up for gate tests: a repository on the GitHub emulator and event payload builders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests import builders as b
from tests.github_emulator import Emulator

REPO = "octocat/Hello-World"
BUSINESS_HOURS = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)  # Tuesday 11:30 AEDT


def seed(emulator: Emulator) -> None:
    state = emulator.state
    state.add_repo(REPO, default_branch="main")
    state.add_team_members("octocat", "security-lead", ["sec-lead"])
    state.add_team_members("octocat", "isms-owner", ["isms-owner"])


def pull_json(emulator: Emulator, number: int) -> dict[str, Any]:
    with emulator.client() as http:
        response = http.get(f"/repos/{REPO}/pulls/{number}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def event(emulator: Emulator, name: str, action: str | None, number: int, **extra: Any) -> tuple[str, str | None, dict[str, Any]]:
    payload: dict[str, Any] = {"repository": {"full_name": REPO, "default_branch": "main"}, **extra}
    if action is not None:
        payload["action"] = action
    if name in {"pull_request", "pull_request_review"}:
        payload["pull_request"] = pull_json(emulator, number)
    return name, action, payload


def changegate_conclusion(emulator: Emulator, sha: str) -> str | None:
    with emulator.client() as http:
        runs = http.get(f"/repos/{REPO}/commits/{sha}/check-runs", params={"check_name": "changegate"}).json()["check_runs"]
    return runs[0]["conclusion"] if runs else None


def green(emulator: Emulator, sha: str) -> None:
    for name in ("lint", "test", "build"):
        emulator.state.add_check_run(REPO, sha, name=name)


SIGNIFICANT_BODY = b.SIGNIFICANT_BODY
GOOD_BODY = b.GOOD_BODY
