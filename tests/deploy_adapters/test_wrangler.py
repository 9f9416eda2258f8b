"""WranglerRunner: the real wrangler 4.86.0 deploying tests/workers/ts-worker to the emulator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from changegate.adapters.wrangler import (
    WranglerError,
    WranglerRunner,
    read_config,
    strip_jsonc,
    target_script,
)
from changegate.core.policy import Service
from changegate.errors import ChangegateError
from tests.cloudflare_emulator import CloudflareEmulator, wrangler_env
from tests.cloudflare_emulator.wrangler import copy_worker

PRODUCTION, SANDBOX = "changegate-ts-worker", "changegate-ts-worker-sandbox"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_worker("ts-worker", tmp_path)


@pytest.fixture
def runner(wrangler_bin: Path, cloudflare: CloudflareEmulator, tmp_path: Path) -> WranglerRunner:
    home = tmp_path / "home"
    home.mkdir()
    environ = {**wrangler_env(home, base_url=cloudflare.base_url), "CHANGEGATE_GITHUB_TOKEN": "ghs_not_for_builds"}
    return WranglerRunner.from_env({**environ, "CHANGEGATE_WRANGLER": str(wrangler_bin)}, timeout=120)


def service(project: Path, **fields: Any) -> Service:
    values: dict[str, Any] = {"name": "ts", "kind": "ts-worker", "directory": str(project),
                              "scripts": {"production": PRODUCTION, "sandbox": SANDBOX}}
    return Service(**{**values, **fields})


def test_deploy_creates_then_updates_the_production_worker(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    first = runner.deploy(service(project), env="production", message="changegate d-1: abc")
    assert cloudflare.current(PRODUCTION).versions == [(first, 100)]  # type: ignore[union-attr]
    second = runner.deploy(service(project), env="production", message="changegate d-2: def")
    assert second != first
    current = cloudflare.current(PRODUCTION)
    assert current is not None and current.versions == [(second, 100)] and current.message == "changegate d-2: def"
    with pytest.raises(Exception, match="10007"):
        cloudflare.current(SANDBOX)


def test_sandbox_deploys_to_its_own_worker(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    version = runner.deploy(service(project), env="sandbox", message="sandbox first")
    assert cloudflare.current(SANDBOX).versions == [(version, 100)]  # type: ignore[union-attr]


def test_upload_version_serves_no_traffic(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    live = runner.deploy(service(project), env="production", message="v1")
    uploaded = runner.upload_version(service(project), env="production", message="canary", tag="sha-abc1234")
    assert cloudflare.current(PRODUCTION).versions == [(live, 100)]  # type: ignore[union-attr]
    version = cloudflare.version(PRODUCTION, uploaded)
    assert (version.tag, version.message) == ("sha-abc1234", "canary")


def test_a_refused_deploy_is_a_wrangler_error(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    runner.deploy(service(project), env="production", message="v1")
    cloudflare.refuse_deployments(PRODUCTION, code=10215, message="Cannot deploy: a Durable Object migration happened")
    with pytest.raises(WranglerError) as raised:
        runner.deploy(service(project), env="production", message="v2")
    error = raised.value
    assert error.returncode == 1 and error.code == 10215
    assert "Cannot deploy: a Durable Object migration happened [code: 10215]" in error.output_tail
    assert "\x1b" not in error.output_tail
    assert str(error).startswith("`wrangler deploy --env '' --message v2` exited 1 in ")
    assert "test-token" not in str(error)


def test_a_failing_build_stops_before_wrangler(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    build = 'echo "token is $CLOUDFLARE_API_TOKEN, github ${CHANGEGATE_GITHUB_TOKEN:-unset}" >&2; exit 3'
    with pytest.raises(WranglerError, match="build of ts failed: .* exited 3") as raised:
        runner.deploy(service(project, build=build), env="production", message="m")
    assert raised.value.output_tail == "token is ***, github unset"  # masked, and changegate's own secrets withheld
    assert cloudflare.requests == []


def test_a_hung_build_is_stopped(wrangler_bin: Path, project: Path) -> None:
    runner = WranglerRunner(str(wrangler_bin), environ={"PATH": "/usr/bin:/bin"}, build_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(WranglerError, match="did not finish within 0.5 s"):
        runner.deploy(service(project, build="sleep 30 & sleep 30"), env="production", message="m")
    assert time.monotonic() - started < 5


def test_a_custom_deploy_command_gets_env_and_the_pinned_wrangler(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    custom = service(project, deploy="wrangler deploy --env {env} --message {message}")
    version = runner.deploy(custom, env="sandbox", message="it's custom")
    current = cloudflare.current(SANDBOX)
    assert current is not None and current.versions == [(version, 100)] and current.message == "it's custom"


def test_a_policy_that_names_another_worker_is_refused_before_deploying(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    wrong = service(project, scripts={"production": "api-prod"})
    with pytest.raises(ChangegateError, match="deploys production to Worker 'changegate-ts-worker', but the policy's scripts.production is 'api-prod'"):
        runner.deploy(wrong, env="production", message="m")
    assert cloudflare.requests == []


def test_missing_wrangler_and_directory_are_clear(project: Path) -> None:
    with pytest.raises(ChangegateError, match="wrangler not found: run scripts/install-wrangler and set CHANGEGATE_WRANGLER"):
        WranglerRunner(environ={"PATH": "/nonexistent"}).deploy(service(project), env="production", message="m")
    with pytest.raises(ChangegateError, match="directory .*/nope does not exist"):
        WranglerRunner("wrangler").deploy(service(project / "nope"), env="production", message="m")


def test_config_reading(tmp_path: Path) -> None:
    (tmp_path / "wrangler.jsonc").write_text('{\n  // the API\n  "name": "api", /* inline */ "url": "http://x//y",\n'
                                             '  "env": {"sandbox": {"name": "api-sb",}, // trailing\n },\n}\n')
    config = read_config(tmp_path)
    assert config == {"name": "api", "url": "http://x//y", "env": {"sandbox": {"name": "api-sb"}}}
    assert target_script(config, "sandbox") == "api-sb"
    assert target_script(config, "production") == "api"
    assert target_script({"name": "api", "env": {"production": {}}}, "production") == "api-production"
    assert target_script({"name": "api"}, "staging") == "api-staging"
    assert strip_jsonc('["a,]", 1,]') == '["a,]", 1]'


def test_a_config_without_environments_deploys_production_at_the_top_level(runner: WranglerRunner, cloudflare: CloudflareEmulator, project: Path) -> None:
    config = project / "wrangler.toml"
    config.write_text(config.read_text().split("[env.sandbox]")[0])
    version = runner.deploy(service(project), env="production", message="plain")
    assert cloudflare.current(PRODUCTION).versions == [(version, 100)]  # type: ignore[union-attr]
