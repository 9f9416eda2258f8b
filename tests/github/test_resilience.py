"""Failing closed and riding out GitHub's bad moments: the 3,000-file cap, ETag revalidation,
5xx and network retries, both rate limits, bad credentials."""

from __future__ import annotations

import asyncio
import socket

import pytest

from changegate.adapters.github import (
    GitHubClient,
    GitHubError,
    RateLimitError,
    TokenAuth,
    TruncatedError,
)
from changegate.errors import ChangegateError
from tests.github.conftest import FakeSleep, run
from tests.github_emulator import Emulator

REPO = "octo-org/service"


def test_a_file_list_at_githubs_cap_fails_closed(github_emulator: Emulator) -> None:
    count = 3001  # GitHub lists 3,000 and counts 3,001; exactly 3,000 listed fails closed too
    number = github_emulator.state.open_pull(REPO, files=[f"f{i}.txt" for i in range(count)]).number

    async def scenario(client: GitHubClient) -> object:
        return await client.list_pull_files(REPO, number)

    with pytest.raises(TruncatedError, match=f"listed 3,000 of the {count:,} files changed by {REPO}#{number}"):
        run(github_emulator, scenario)


def test_fewer_files_than_the_pull_request_counts_fails_closed(github_emulator: Emulator) -> None:
    number = github_emulator.state.open_pull(REPO, files=["a.py", "b.py"]).number

    async def scenario(client: GitHubClient) -> tuple[int, int]:
        listed = await client.list_pull_files(REPO, number, changed_files=2)
        with pytest.raises(TruncatedError, match="no verdict can be trusted"):
            await client.list_pull_files(REPO, number, changed_files=3)
        return len(listed), client.calls

    assert run(github_emulator, scenario) == (2, 2)  # changed_files given: no GET of the PR


def test_unchanged_data_is_revalidated_with_a_304_and_reused(github_emulator: Emulator) -> None:
    state = github_emulator.state
    number = state.open_pull(REPO, files=["a.py"]).number

    async def scenario(client: GitHubClient) -> tuple[object, ...]:
        first = await client.get_pull(REPO, number)
        first["title"] = "mutated by a caller"
        second = await client.get_pull(REPO, number)
        hits = client.not_modified
        new_head = state.push(REPO, number)
        third = await client.get_pull(REPO, number)
        return second, hits, third["head"]["sha"] == new_head, client.calls, client.not_modified

    second, hits, refreshed, calls, not_modified = run(github_emulator, scenario)
    assert second["title"] == "Amazing new feature" and hits == 1
    assert refreshed and (calls, not_modified) == (3, 1)
    assert [call.status for call in state.requests] == [200, 304, 200]


def test_a_502_is_retried_with_backoff(github_emulator: Emulator, sleep: FakeSleep) -> None:
    number = github_emulator.state.open_pull(REPO).number
    github_emulator.knobs.fail_next(2, status=502)

    async def scenario(client: GitHubClient) -> int:
        return int((await client.get_pull(REPO, number))["number"])

    assert run(github_emulator, scenario, sleep=sleep) == number
    assert sleep.waits == [0.25, 0.5] and github_emulator.calls == 3


def test_persistent_5xx_gives_up_after_the_attempts_and_posts_are_not_repeated(
    github_emulator: Emulator, sleep: FakeSleep
) -> None:
    number = github_emulator.state.open_pull(REPO).number
    github_emulator.knobs.fail_next(5, status=503)

    async def scenario(client: GitHubClient) -> None:
        with pytest.raises(GitHubError, match=rf"get_pull: GET {client.base_url}/repos/{REPO}/pulls/{number} returned 503 Service Unavailable: Service Unavailable") as caught:
            await client.get_pull(REPO, number)
        assert caught.value.status == 503
        with pytest.raises(GitHubError, match="create_check_run: POST .* returned 503"):
            await client.create_check_run(REPO, {"name": "changegate", "head_sha": "0" * 40})

    run(github_emulator, scenario, sleep=sleep)
    assert sleep.waits == [0.25, 0.5, 1.0] and github_emulator.calls == 5


def test_secondary_rate_limit_waits_retry_after(github_emulator: Emulator, sleep: FakeSleep) -> None:
    number = github_emulator.state.open_pull(REPO).number
    github_emulator.knobs.secondary_limit(1, status=403, retry_after=7)
    github_emulator.knobs.secondary_limit(1, status=429, retry_after=2)

    async def scenario(client: GitHubClient) -> int:
        return int((await client.get_pull(REPO, number))["number"])

    assert run(github_emulator, scenario, sleep=sleep) == number
    assert sleep.waits == [7.0, 2.0]


def test_primary_rate_limit_waits_for_the_reset_when_it_is_soon(github_emulator: Emulator, sleep: FakeSleep) -> None:
    number = github_emulator.state.open_pull(REPO).number
    github_emulator.knobs.primary_limit(1, status=429, reset_in=5)

    async def scenario(client: GitHubClient) -> int | None:
        await client.get_pull(REPO, number)
        return client.rate_limit_remaining

    assert run(github_emulator, scenario, sleep=sleep) == github_emulator.knobs.remaining
    assert len(sleep.waits) == 1 and 4 <= sleep.waits[0] <= 7


def test_exhausted_primary_rate_limit_raises_without_waiting_an_hour(github_emulator: Emulator, sleep: FakeSleep) -> None:
    number = github_emulator.state.open_pull(REPO).number
    github_emulator.knobs.set_rate_limit(remaining=0, reset_in=3600)

    async def scenario(client: GitHubClient) -> int | None:
        with pytest.raises(RateLimitError, match="primary rate limit exhausted: API rate limit exceeded.*CHANGEGATE_GITHUB_MAX_RATE_LIMIT_WAIT"):
            await client.get_pull(REPO, number)
        return client.rate_limit_remaining

    assert run(github_emulator, scenario, sleep=sleep) == 0
    assert sleep.waits == [] and github_emulator.calls == 1


def test_bad_credentials_say_so(github_emulator: Emulator) -> None:
    async def scenario() -> None:
        async with GitHubClient(TokenAuth("ghp_wrong"), base_url=github_emulator.base_url) as client:
            await client.list_reviews(REPO, 1)

    with pytest.raises(GitHubError, match=r"list_reviews: GET http://127\.0\.0\.1:\d+/repos/octo-org/service/pulls/1/reviews\?per_page=100 returned 401 Unauthorized: Bad credentials \(check the credentials") as caught:
        asyncio.run(scenario())
    assert caught.value.status == 401 and "ghp_wrong" not in str(caught.value)


def test_network_errors_are_retried_then_reported(sleep: FakeSleep) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> None:
        client = GitHubClient(TokenAuth("t"), base_url=f"http://127.0.0.1:{port}", sleep=sleep, jitter=lambda: 0.0)
        async with client:
            await client.get_pull(REPO, 1)

    with pytest.raises(GitHubError, match=r"get_pull: GET .* failed after 4 attempt\(s\): ConnectError"):
        asyncio.run(scenario())
    assert sleep.waits == [0.25, 0.5, 1.0]


def test_unknown_repository_names_are_refused(github_emulator: Emulator) -> None:
    async def scenario(client: GitHubClient) -> None:
        with pytest.raises(ChangegateError, match="'service' is not a repository name: use OWNER/NAME"):
            await client.get_pull("service", 1)

    run(github_emulator, scenario)
    assert github_emulator.calls == 0
