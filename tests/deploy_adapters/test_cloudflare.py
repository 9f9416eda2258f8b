"""CloudflareClient against the loopback Cloudflare API emulator."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest

from changegate.adapters.cloudflare import (
    CloudflareAPIError,
    CloudflareClient,
    Retry,
    changed_secrets,
    truncate_message,
)
from changegate.errors import ChangegateError
from changegate.settings import CloudflareSettings, SettingsError, cloudflare_settings
from tests.cloudflare_emulator import CloudflareEmulator

from .loopback import free_port

TOKEN = "test-token"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(cloudflare: CloudflareEmulator, sleeps: list[float]) -> Iterator[CloudflareClient]:
    with CloudflareClient.from_env(cloudflare.env(), sleep=sleeps.append) as client:
        yield client


def test_settings_name_missing_variables_and_never_show_the_token() -> None:
    with pytest.raises(SettingsError, match="CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID not set"):
        cloudflare_settings({})
    with pytest.raises(SettingsError, match="^CLOUDFLARE_ACCOUNT_ID not set"):
        cloudflare_settings({"CLOUDFLARE_API_TOKEN": "s3cret-token"})
    settings = cloudflare_settings({"CLOUDFLARE_API_TOKEN": "s3cret-token", "CLOUDFLARE_ACCOUNT_ID": "acc"})
    assert settings.api_base_url == "https://api.cloudflare.com/client/v4"
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(CloudflareClient(settings))
    slashed = cloudflare_settings({"CLOUDFLARE_API_TOKEN": "t", "CLOUDFLARE_ACCOUNT_ID": "a", "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:9/client/v4/"})
    assert slashed.api_base_url == "http://127.0.0.1:9/client/v4"
    with pytest.raises(SettingsError, match="CLOUDFLARE_API_BASE_URL"):
        cloudflare_settings({"CLOUDFLARE_API_TOKEN": "t", "CLOUDFLARE_ACCOUNT_ID": "a", "CLOUDFLARE_API_BASE_URL": "api.cloudflare.com"})


def test_deployments_versions_and_the_current_version(cloudflare: CloudflareEmulator, client: CloudflareClient) -> None:
    v1, v2, v3 = (cloudflare.add_version("w", message=f"v{n}") for n in (1, 2, 3))
    cloudflare.deploy("w", [(v1, 100)])
    cloudflare.deploy("w", [(v2, 100)])
    cloudflare.deploy("w", [(v3, 10), (v2, 90)])
    deployments = client.list_deployments("w")
    assert [d["versions"] for d in deployments][0] == [{"version_id": v3, "percentage": 10}, {"version_id": v2, "percentage": 90}]
    assert len(deployments) == 3
    assert client.current_version("w") is None  # a split: nothing at 100%
    assert client.previous_full_version("w") == v2
    cloudflare.deploy("w", [(v3, 100)])
    assert client.current_version("w") == v3
    assert client.previous_full_version("w") == v2  # the split is skipped, as wrangler rollback does
    assert client.get_version("w", v1)["annotations"]["workers/message"] == "v1"


def test_a_worker_that_does_not_exist(client: CloudflareClient) -> None:
    assert client.current_version("nope") is None
    assert client.previous_full_version("nope") is None
    with pytest.raises(CloudflareAPIError) as raised:
        client.list_deployments("nope")
    assert raised.value.code == 10007 and raised.value.worker_not_found and raised.value.status == 404
    assert "check the script name" in str(raised.value)


def test_create_deployment_sends_wranglers_body(cloudflare: CloudflareEmulator, client: CloudflareClient) -> None:
    old, new = cloudflare.add_version("w"), cloudflare.add_version("w")
    cloudflare.deploy("w", [(old, 100)])
    message = "changegate canary 10%: " + "é" * 60  # 23 + 120 bytes: cut to 99, not inside an é
    deployment = client.create_deployment("w", versions=[(new, 10.0), (old, 90.0)], message=message)
    [call] = cloudflare.calls("POST", "/deployments")
    assert call.query == ""
    assert call.body == {"strategy": "percentage",
                         "versions": [{"version_id": new, "percentage": 10}, {"version_id": old, "percentage": 90}],
                         "annotations": {"workers/message": truncate_message(message)}}
    assert len(call.body["annotations"]["workers/message"].encode()) == 99
    assert deployment["versions"] == call.body["versions"]
    assert cloudflare.current("w").versions == [(new, 10), (old, 90)]  # type: ignore[union-attr]
    client.create_deployment("w", versions=[(new, 12.5), (old, 87.5)], message="m")
    assert cloudflare.calls("POST", "/deployments")[-1].body["versions"][0]["percentage"] == 12.5


def test_bad_splits_are_refused_before_any_call(cloudflare: CloudflareEmulator, client: CloudflareClient) -> None:
    for versions in ([], [("a", 50.0)], [("a", 50.0), ("b", 30.0)], [("a", 40.0), ("b", 40.0), ("c", 20.0)]):
        with pytest.raises(ChangegateError, match="add up to 100"):
            client.create_deployment("w", versions=versions, message="m")
    assert cloudflare.calls("POST") == []


def test_changed_secrets_carry_the_code_and_names_and_force_deploys(cloudflare: CloudflareEmulator, client: CloudflareClient) -> None:
    old, new = cloudflare.add_version("w"), cloudflare.add_version("w")
    cloudflare.deploy("w", [(new, 100)])
    cloudflare.secrets_changed("w", old, ["API_KEY", "DB_PASSWORD"])
    with pytest.raises(CloudflareAPIError) as raised:
        client.create_deployment("w", versions=[(old, 100.0)], message="rollback")
    error = raised.value
    assert (error.code, error.codes, error.status, error.secrets_changed) == (10220, (10220,), 400, True)
    assert error.changed_secrets == ("API_KEY", "DB_PASSWORD")
    assert "[code: 10220]" in str(error) and TOKEN not in str(error)
    client.create_deployment("w", versions=[(old, 100.0)], message="rollback", force=True)
    assert cloudflare.calls("POST", "/deployments")[-1].query == "force=true"
    assert client.current_version("w") == old


def test_server_errors_are_retried_with_backoff(cloudflare: CloudflareEmulator, client: CloudflareClient, sleeps: list[float]) -> None:
    v1 = cloudflare.add_version("w")
    cloudflare.deploy("w", [(v1, 100)])
    cloudflare.fail_next(2, status=503)
    assert client.current_version("w") == v1
    assert sleeps == [0.5, 1.0]
    cloudflare.fail_next(9, status=500)
    with pytest.raises(CloudflareAPIError, match=r"HTTP 500.*\[code: 10013\]") as raised:
        client.list_deployments("w")
    assert raised.value.status == 500 and sleeps[2:] == [0.5, 1.0, 2.0]


def test_network_errors_are_retried_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []
    settings = CloudflareSettings(account_id="acc", token="s3cret-token", api_base_url=f"http://127.0.0.1:{free_port()}/client/v4")
    with CloudflareClient(settings, sleep=sleeps.append, retry=Retry(attempts=3)) as client, \
            pytest.raises(CloudflareAPIError, match="failed after 3 attempt") as raised:
        client.list_deployments("w")
    assert sleeps == [0.5, 1.0] and raised.value.status is None
    assert "s3cret" not in str(raised.value) and "s3cret" not in caplog.text


def test_a_wrong_token_is_an_auth_error(cloudflare: CloudflareEmulator) -> None:
    env = {**cloudflare.env(), "CLOUDFLARE_API_TOKEN": "wrong-s3cret"}
    with CloudflareClient.from_env(env) as client, pytest.raises(CloudflareAPIError, match="check that CLOUDFLARE_API_TOKEN") as raised:
        client.list_deployments("w")
    assert raised.value.status == 401 and "wrong-s3cret" not in str(raised.value)


def test_traffic_sums_the_graphql_rows(cloudflare: CloudflareEmulator, client: CloudflareClient) -> None:
    v1 = cloudflare.add_version("w")
    cloudflare.deploy("w", [(v1, 100)])
    cloudflare.set_traffic("w", requests_per_minute=100, error_rate=0.3)
    cloudflare.advance(600)
    end = cloudflare.now()
    traffic = client.traffic("w", start=end - dt.timedelta(minutes=10), end=end)
    assert (traffic.requests, traffic.errors) == (1000, 300)
    quiet = client.traffic("other", start=end - dt.timedelta(minutes=10), end=end)
    assert (quiet.requests, quiet.errors) == (0, 0)
    [call] = cloudflare.calls("POST", "/graphql")[:1]
    assert call.body["variables"]["accountTag"] == "acc"
    assert call.body["variables"]["datetimeStart"].endswith("Z")
    naive = client.traffic("w", start=(end - dt.timedelta(minutes=5)).replace(tzinfo=None), end=end.replace(tzinfo=None))
    assert naive.requests == 500  # naive datetimes are UTC


def test_graphql_errors_fail_closed(cloudflare: CloudflareEmulator, sleeps: list[float]) -> None:
    env = {**cloudflare.env(), "CLOUDFLARE_ACCOUNT_ID": "someone-else"}
    end = cloudflare.now()
    with CloudflareClient.from_env(env, sleep=sleeps.append) as client, pytest.raises(CloudflareAPIError, match="GraphQL analytics for w: .*not authorized"):
        client.traffic("w", start=end - dt.timedelta(minutes=5), end=end)
    with CloudflareClient.from_env(cloudflare.env(), sleep=sleeps.append) as client:
        cloudflare.fail_next(1, status=502, path="/graphql")
        assert client.traffic("w", start=end - dt.timedelta(minutes=5), end=end).requests == 0
    assert sleeps == [0.5]


def test_secret_names_are_parsed_as_wrangler_does() -> None:
    assert changed_secrets("The following secrets have changed: A, B [code: 10220]") == ("A", "B")
    assert changed_secrets("Cannot rollback. The following secrets have changed: TOKEN") == ("TOKEN",)
    assert changed_secrets("something else") == ()
    assert truncate_message("a" * 99 + "€") == "a" * 99
