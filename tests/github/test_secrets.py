"""No token or private key ever reaches a log line, a repr or an error message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from changegate.adapters.github import GitHubClient, GitHubError, TokenAuth, github_from_env
from changegate.settings import github_settings
from tests.github.conftest import FakeSleep
from tests.github_emulator import Emulator, ResponseValidator

TOKEN = "ghp_SuperSecretToken0123456789"
REPO = "octo-org/service"


@pytest.fixture
def secret_emulator(github_validator: ResponseValidator) -> Iterator[Emulator]:
    with Emulator(tokens={TOKEN: "octocat"}, validator=github_validator) as emulator:
        yield emulator


def test_tokens_stay_out_of_logs_reprs_and_errors(secret_emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    number = secret_emulator.state.open_pull(REPO).number
    secret_emulator.knobs.fail_next(1, status=502)
    secret_emulator.knobs.secondary_limit(1, retry_after=1)
    env = {"CHANGEGATE_GITHUB_TOKEN": TOKEN, "CHANGEGATE_GITHUB_API_URL": secret_emulator.base_url}
    texts: list[str] = [repr(github_settings(env))]

    async def scenario() -> None:
        async with github_from_env(environ=env, sleep=FakeSleep()) as client:
            await client.get_pull(REPO, number)
            await client.get_pull(REPO, number)
            with pytest.raises(GitHubError) as caught:
                await client.get_pull(REPO, number + 1)
            texts.extend([repr(client), repr(client.auth), repr(client.transport), str(caught.value), str(client.counters())])

    asyncio.run(scenario())
    assert "retrying" in caplog.text and "rate limit" in caplog.text  # the waits were logged
    for text in [caplog.text, *texts]:
        assert TOKEN not in text


def test_private_keys_stay_out_of_reprs() -> None:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env = {"CHANGEGATE_GITHUB_APP_ID": "9", "CHANGEGATE_GITHUB_PRIVATE_KEY": pem}
    client = github_from_env(environ=env)
    body = pem.splitlines()[1]
    assert body not in repr(client) and body not in repr(github_settings(env)) and body not in repr(client.auth)
    assert repr(client).startswith("GitHubClient(base_url='https://api.github.com', auth=AppAuth(app_id='9'")
    asyncio.run(client.aclose())


def test_a_client_handed_an_httpx_client_leaves_it_open(secret_emulator: Emulator) -> None:
    secret_emulator.state.add_repo(REPO)

    async def scenario() -> bool:
        async with httpx.AsyncClient() as http:
            async with GitHubClient(TokenAuth(TOKEN), base_url=secret_emulator.base_url, http=http) as client:
                await client.list_open_pulls(REPO)
            return http.is_closed

    assert asyncio.run(scenario()) is False
