"""The one place that chooses real adapters from settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from changegate.adapters.github.client import GitHubClient
from changegate.adapters.github.factory import github_from_env
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.errors import ChangegateError
from changegate.services.gate import Gate
from changegate.services.inbox import ProcessorMetrics
from changegate.services.snapshots import SnapshotSource
from changegate.settings import database_url


def open_store() -> SqlStore:
    return SqlStore(database_url())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def emergency_store(store: SqlStore) -> EmergencyStore:
    return EmergencyStore(store.engine)


def github_client(*, repo: str | None = None) -> GitHubClient:
    """The GitHub client from the environment; use as `async with github_client(repo=...) as gh`."""
    return github_from_env(repo=repo)


class MeteredGate:
    """The gate as the inbox's processor, reporting GitHub API use to the metrics."""

    def __init__(self, gate: Gate, client: GitHubClient, metrics: ProcessorMetrics | None) -> None:
        self._gate = gate
        self._client = client
        self._metrics = metrics

    async def process(self, event: str, action: str | None, payload: dict[str, Any], delivery_id: str) -> None:
        before = self._client.calls
        try:
            await self._gate.process(event, action, payload, delivery_id)
        finally:
            if self._metrics is not None:
                self._metrics.add_github_api_calls(self._client.calls - before)
                if self._client.rate_limit_remaining is not None:
                    self._metrics.set_github_rate_limit(self._client.rate_limit_remaining)


def build_processor(*, metrics: ProcessorMetrics | None = None) -> MeteredGate:
    """The real webhook processor: GitHub client from the environment, the store for evidence
    (verdicts, ledger events) and emergency records."""
    client = github_from_env()
    store = open_store()
    source = SnapshotSource(client, clock=utc_now, emergencies=emergency_store(store))
    return MeteredGate(Gate(source, clock=utc_now, recorder=store, events=store), client, metrics)


def github_login() -> str | None:
    """The login of the GitHub token in the environment (None without a token)."""
    import os

    import httpx

    token = os.environ.get("CHANGEGATE_GITHUB_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not token:
        return None
    base = os.environ.get("CHANGEGATE_GITHUB_API_URL", "https://api.github.com").rstrip("/")
    answer = httpx.get(f"{base}/user", headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}, timeout=30)
    if answer.status_code != 200:
        raise ChangegateError(f"GitHub did not say who the token belongs to (GET /user: {answer.status_code}): check GITHUB_TOKEN")
    return str(answer.json()["login"])
