"""GitHub App auth end to end: a key made here, the emulator checking JWTs with its public half,
installation lookup, token reuse until shortly before expiry, refresh after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from changegate.adapters.github import AppAuth, GitHubClient, GitHubError, github_from_env
from tests.github.conftest import FakeSleep
from tests.github_emulator import Emulator, ResponseValidator

APP_ID = 4711
REPO = "octo-org/service"


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


@pytest.fixture
def app_emulator(github_validator: ResponseValidator, app_key: tuple[str, str]) -> Iterator[Emulator]:
    emulator = Emulator(tokens={}, app_id=APP_ID, app_public_key=app_key[1], validator=github_validator)
    with emulator:
        emulator.state.add_installation("octo-org", installation_id=31, app_id=APP_ID, repositories=[REPO])
        yield emulator
    assert emulator.validation_errors == []


def endpoint_counts(emulator: Emulator) -> dict[str, int]:
    counts = emulator.state.path_counts()
    return {
        "lookups": counts[f"/repos/{REPO}/installation"],
        "tokens": counts["/app/installations/31/access_tokens"],
    }


def test_installation_token_is_reused_until_shortly_before_expiry(app_emulator: Emulator, app_key: tuple[str, str]) -> None:
    state = app_emulator.state
    number = state.open_pull(REPO).number
    state.advance(-3500)  # the emulator's tokens (1 h) now expire 100 s from the real now
    offset = [0.0]
    auth = AppAuth(app_id=str(APP_ID), private_key=app_key[0], clock=lambda: time.time() + offset[0], refresh_margin=60)

    async def scenario() -> list[str]:
        async with GitHubClient(auth, base_url=app_emulator.base_url, sleep=FakeSleep()) as client:
            seen = []
            for _ in range(3):
                await client.get_pull(REPO, number)
                seen.append(await auth.token(client.transport, owner="octo-org", repo=REPO))
            offset[0] = 45  # within 60 s of expiry: time for a new token (good for an hour)
            state.advance(3500)
            await client.list_reviews(REPO, number)
            seen.append(await auth.token(client.transport, owner="octo-org", repo=REPO))
            return seen

    seen = asyncio.run(scenario())
    assert seen[0] == seen[1] == seen[2] != seen[3]
    assert auth.tokens_issued == 2
    assert endpoint_counts(app_emulator) == {"lookups": 1, "tokens": 2}


def test_factory_builds_an_app_client_that_reads_teams_through_the_repo(app_emulator: Emulator, app_key: tuple[str, str]) -> None:
    app_emulator.state.add_team_members("octo-org", "security", ["sec-lead"])
    env = {"CHANGEGATE_GITHUB_APP_ID": str(APP_ID), "CHANGEGATE_GITHUB_PRIVATE_KEY": app_key[0],
           "CHANGEGATE_GITHUB_API_URL": app_emulator.base_url + "/"}

    async def scenario() -> tuple[list[str] | None, dict[str, int]]:
        async with github_from_env(repo=REPO, environ=env, sleep=FakeSleep()) as client:
            members = await client.list_team_members("octo-org", "security")
            return members, client.calls_by_endpoint

    members, by_endpoint = asyncio.run(scenario())
    assert members == ["sec-lead"]
    assert by_endpoint == {
        "GET /repos/{owner}/{repo}/installation": 1,
        "POST /app/installations/{installation_id}/access_tokens": 1,
        "GET /orgs/{org}/teams/{team_slug}/members": 1,
    }


def test_a_configured_installation_needs_no_lookup(app_emulator: Emulator, app_key: tuple[str, str]) -> None:
    number = app_emulator.state.open_pull(REPO).number
    env = {"CHANGEGATE_GITHUB_APP_ID": str(APP_ID), "CHANGEGATE_GITHUB_PRIVATE_KEY": app_key[0],
           "CHANGEGATE_GITHUB_INSTALLATION_ID": "31", "CHANGEGATE_GITHUB_API_URL": app_emulator.base_url}

    async def scenario() -> int:
        async with github_from_env(environ=env) as client:
            return int((await client.get_pull(REPO, number))["number"])

    assert asyncio.run(scenario()) == number
    assert endpoint_counts(app_emulator) == {"lookups": 0, "tokens": 1}


def test_an_app_not_installed_on_the_repository_is_named(app_emulator: Emulator, app_key: tuple[str, str]) -> None:
    app_emulator.state.add_repo("elsewhere/service")
    auth = AppAuth(app_id=str(APP_ID), private_key=app_key[0], clock=time.time)

    async def scenario() -> None:
        async with GitHubClient(auth, base_url=app_emulator.base_url) as client:
            await client.get_pull("elsewhere/service", 1)

    with pytest.raises(GitHubError, match=r"get_pull: GET .*/repos/elsewhere/service/installation returned 404 Not Found: Not Found \(.*is the GitHub App installed on the repository\?\)"):
        asyncio.run(scenario())


def test_a_jwt_signed_with_another_key_is_refused(app_emulator: Emulator) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    auth = AppAuth(app_id=str(APP_ID), private_key=other, installation_id=31, clock=time.time)

    async def scenario() -> None:
        async with GitHubClient(auth, base_url=app_emulator.base_url) as client:
            await client.get_pull(REPO, 1)

    with pytest.raises(GitHubError, match=r"POST .*/app/installations/31/access_tokens returned 401 Unauthorized: A JSON web token could not be decoded"):
        asyncio.run(scenario())
