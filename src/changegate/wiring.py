"""The one place that chooses real adapters from settings."""

from __future__ import annotations

import datetime as dt

from changegate.adapters.github.client import GitHubClient
from changegate.adapters.github.factory import github_from_env
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
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
