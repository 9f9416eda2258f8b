"""Build a `GitHubClient` from the environment (see `changegate.settings.github_settings`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from changegate.adapters.github.auth import AppAuth, Credentials, TokenAuth
from changegate.adapters.github.client import GitHubClient
from changegate.adapters.github.retry import RetryPolicy
from changegate.settings import GitHubSettings, github_settings


def github_from_env(
    *, repo: str | None = None, environ: Mapping[str, str] | None = None, **options: Any
) -> GitHubClient:
    """A client configured from `CHANGEGATE_GITHUB_*` / `GITHUB_TOKEN`; use it as
    `async with github_from_env(repo="owner/name") as gh:`. With a GitHub App and no
    `CHANGEGATE_GITHUB_INSTALLATION_ID`, the installation is looked up through `repo` (else per
    account). `options` go to `GitHubClient` (e.g. `sleep`, `clock`, `http`). Raises
    SettingsError naming the missing or invalid variable."""
    return github_from_settings(github_settings(environ), repo=repo, **options)


def github_from_settings(settings: GitHubSettings, *, repo: str | None = None, **options: Any) -> GitHubClient:
    clock = options.get("clock", time.time)
    auth: Credentials
    if settings.app_id and settings.private_key:
        auth = AppAuth(
            app_id=settings.app_id, private_key=settings.private_key,
            installation_id=settings.installation_id, repo=repo, clock=clock,
        )
    else:
        auth = TokenAuth(settings.token or "")
    options.setdefault("retry", RetryPolicy(max_wait=settings.max_rate_limit_wait))
    options.setdefault("sleep", asyncio.sleep)
    return GitHubClient(auth, base_url=settings.api_url, **options)
