"""The GitHub emulator fixtures (tests/github_emulator/API.md) and a client wired to it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from changegate.adapters.github import GitHubClient, RetryPolicy, TokenAuth
from tests.github_emulator import Emulator
from tests.github_emulator.fixtures import GITHUB_TOKEN, github_emulator, github_validator

__all__ = ["FakeSleep", "github_emulator", "github_validator", "make_client", "run"]


class FakeSleep:
    """An async sleep that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(emulator: Emulator, *, sleep: FakeSleep | None = None, **options: Any) -> GitHubClient:
    options.setdefault("retry", RetryPolicy(max_attempts=4, max_wait=60))
    return GitHubClient(
        TokenAuth(GITHUB_TOKEN), base_url=emulator.base_url, sleep=sleep or FakeSleep(),
        jitter=lambda: 0.0, **options,
    )


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def run(emulator: Emulator, scenario: Callable[[GitHubClient], Awaitable[Any]], **options: Any) -> Any:
    """Run `scenario(client)` with a fresh client on the emulator, closing it afterwards."""

    async def main() -> Any:
        async with make_client(emulator, **options) as client:
            return await scenario(client)

    return asyncio.run(main())
