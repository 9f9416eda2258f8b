"""The GitHub App end to end: `changegate serve` (real process, real processor, SQLite) receives a
signed delivery, evaluates the PR on the GitHub emulator and publishes the check run."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from changegate.adapters.store.sql import SqlStore
from tests.gate.story import GOOD_BODY, REPO, changegate_conclusion, event, green, seed
from tests.github_emulator import Emulator
from tests.web.payloads import body_of, github_headers
from tests.web.server import ChangegateProcess, wait_for

SECRET = "it's a secret to everybody"


def test_a_signed_delivery_publishes_a_check_run(github_emulator: Emulator, tmp_path: Path) -> None:
    seed(github_emulator)
    pull = github_emulator.state.open_pull(REPO, number=3, title="Retry payment webhooks", body=GOOD_BODY, files=("src/app.ts",))
    green(github_emulator, pull.head_sha)
    github_emulator.state.submit_review(REPO, 3, user="hubot")
    database = f"sqlite:///{tmp_path / 'changegate.db'}"
    env = {"CHANGEGATE_WEBHOOK_SECRET": SECRET, "CHANGEGATE_DATABASE_URL": database, "GITHUB_TOKEN": "test-token",
           "CHANGEGATE_GITHUB_API_URL": github_emulator.base_url, "CHANGEGATE_TEST_PROCESSOR": ""}
    server = ChangegateProcess(["serve", "--host", "127.0.0.1", "--port", "0"], env=env, log_path=tmp_path / "serve.log")
    try:
        url = server.wait_for_port()
        _name, _action, payload = event(github_emulator, "pull_request", "opened", 3)
        body = body_of(payload)
        answer = httpx.post(f"{url}/webhooks/github", content=body, headers=github_headers("pull_request", "delivery-1", body, SECRET))
        assert answer.status_code == 202, answer.text
        wait_for(lambda: changegate_conclusion(github_emulator, pull.head_sha), what="the check run", timeout=20)
        assert changegate_conclusion(github_emulator, pull.head_sha) == "success"
    finally:
        server.stop()
    with SqlStore(database) as store:  # the verdict is evidence: stored, and chained in the ledger
        assert store.verify().ok
        assert [e.kind for e in store.iter_ledger()] == ["verdict.recorded"]
        stored = store.get_verdict(1)
        assert stored is not None and (stored.repository, stored.pr_number, stored.state) == (REPO, 3, "pass")
        assert json.loads(stored.snapshot_json)["pull_request"]["number"] == 3
