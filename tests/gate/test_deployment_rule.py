"""The deployment protection rule against the GitHub emulator: approve or reject, with reasons."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from pathlib import Path
from typing import Any

from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.services.gate import Gate
from changegate.services.snapshots import SnapshotSource
from tests import builders as b
from tests.gate.story import BUSINESS_HOURS, REPO, SIGNIFICANT_BODY, green, seed
from tests.github.conftest import make_client
from tests.github_emulator import Emulator
from tests.web import payloads

SATURDAY = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)  # Saturday 11:00 AEDT
SUNDAY_3AM = dt.datetime(2026, 11, 28, 16, 0, tzinfo=dt.UTC)  # Sunday 03:00 AEDT
RUN_ID = 4242


def request(sha: str, *, environment: str = "production", pulls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(payloads.deployment_protection_rule_requested())
    payload["deployment"] = {**payload["deployment"], "sha": sha, "ref": "main", "environment": environment}
    payload.update(environment=environment,
                   deployment_callback_url=f"https://api.github.com/repos/{REPO}/actions/runs/{RUN_ID}/deployment_protection_rule")
    payload["repository"] = {**payload["repository"], "full_name": REPO, "default_branch": "main"}
    payload["pull_requests"] = pulls or []
    return payloads.validate("deployment_protection_rule", payload)


def merged_significant(emulator: Emulator, *, approvers: tuple[str, ...] = ("hubot", "sec-lead")) -> str:
    pull = emulator.state.open_pull(REPO, number=9, title="ci: cache wrangler builds", body=SIGNIFICANT_BODY, files=(".github/workflows/deploy.yml",))
    green(emulator, pull.head_sha)
    for login in approvers:
        emulator.state.submit_review(REPO, 9, user=login)
    return emulator.state.merge_pull(REPO, 9, merged_by="hubot")


def decide(emulator: Emulator, payload: dict[str, Any], *, at: dt.datetime, store: EmergencyStore | None = None) -> dict[str, Any]:
    async def scenario() -> None:
        async with make_client(emulator) as client:
            gate = Gate(SnapshotSource(client, clock=lambda: at, emergencies=store), clock=lambda: at)
            await gate.process("deployment_protection_rule", "requested", payload, delivery_id="dpr-1")

    asyncio.run(scenario())
    [review] = emulator.state.protection_rule_reviews
    assert review["run_id"] in (RUN_ID, str(RUN_ID))
    body: dict[str, Any] = review["body"]
    assert body["environment_name"] == payload["environment"]
    return body


def test_significant_outside_its_window_is_rejected_with_the_next_open_time(github_emulator: Emulator) -> None:
    seed(github_emulator)
    sha = merged_significant(github_emulator)
    body = decide(github_emulator, request(sha), at=SATURDAY)
    assert body["state"] == "rejected"
    assert "outside them" in body["comment"] and "Next open: Monday 30 Nov 2026 09:00 AEDT" in body["comment"]


def test_significant_in_its_window_is_approved(github_emulator: Emulator) -> None:
    seed(github_emulator)
    sha = merged_significant(github_emulator)
    body = decide(github_emulator, request(sha), at=BUSINESS_HOURS)
    assert body["state"] == "approved"
    assert "#9 (significant) passes" in body["comment"]


def test_a_change_that_does_not_pass_is_rejected(github_emulator: Emulator) -> None:
    seed(github_emulator)
    sha = merged_significant(github_emulator, approvers=("hubot",))
    body = decide(github_emulator, request(sha), at=BUSINESS_HOURS)
    assert body["state"] == "rejected"
    assert "approvals.security_lead" in body["comment"] and "is pending" in body["comment"]


def test_an_emergency_with_a_record_is_approved_at_3am_on_sunday(github_emulator: Emulator, tmp_path: Path) -> None:
    seed(github_emulator)
    sha = github_emulator.state.set_branch(REPO, "main")
    with SqlStore(f"sqlite:///{tmp_path / 'cg.db'}") as store:
        emergencies = EmergencyStore(store.engine)
        emergencies.add(repository=REPO, record=b.emergency_record(approved_by="sec-lead", deployed_at=None), sha=sha)
        body = decide(github_emulator, request(sha), at=SUNDAY_3AM, store=emergencies)
    assert body["state"] == "approved"
    assert "emergency EMG-7 has a valid verbal approval" in body["comment"]


def test_a_direct_push_without_a_record_is_rejected(github_emulator: Emulator) -> None:
    seed(github_emulator)
    sha = github_emulator.state.set_branch(REPO, "main")
    body = decide(github_emulator, request(sha), at=BUSINESS_HOURS)
    assert body["state"] == "rejected"
    assert "direct push cannot deploy to production" in body["comment"]


def test_an_emergency_approved_by_someone_outside_the_roles_is_rejected(github_emulator: Emulator, tmp_path: Path) -> None:
    seed(github_emulator)
    sha = github_emulator.state.set_branch(REPO, "main")
    with SqlStore(f"sqlite:///{tmp_path / 'cg.db'}") as store:
        emergencies = EmergencyStore(store.engine)
        emergencies.add(repository=REPO, record=b.emergency_record(approved_by="hubot", deployed_at=None), sha=sha)
        body = decide(github_emulator, request(sha), at=SUNDAY_3AM, store=emergencies)
    assert body["state"] == "rejected"
    assert "hubot is not the ISMS Owner or Security Lead" in body["comment"]
