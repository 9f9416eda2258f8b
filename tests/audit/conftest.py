"""Audit tests see no GitHub or Cloudflare credentials unless a test sets them (the API joins
would otherwise reach whatever the developer's environment points at)."""

from __future__ import annotations

import pytest

CREDENTIALS = ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "CHANGEGATE_GITHUB_TOKEN", "CHANGEGATE_GITHUB_APP_ID", "CHANGEGATE_GITHUB_PRIVATE_KEY",
               "CHANGEGATE_GITHUB_PRIVATE_KEY_PATH", "CHANGEGATE_GITHUB_INSTALLATION_ID", "CHANGEGATE_GITHUB_API_URL",
               "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_BASE_URL")


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
