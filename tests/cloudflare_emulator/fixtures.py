"""pytest fixtures: `cloudflare` (a running emulator), `wrangler_bin` (the real wrangler 4.86.0,
installed once per session), `wrangler` (a runner pointed at `cloudflare`) and `worker_dev`
(a factory for `wrangler dev` servers of tests/workers/*). Register with
`pytest_plugins = ["tests.cloudflare_emulator.fixtures"]` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .dev import WorkerDev
from .server import CloudflareEmulator
from .wrangler import Wrangler, install_wrangler

CLOUDFLARE_ACCOUNT_ID = "acc"
CLOUDFLARE_TOKEN = "test-token"


@pytest.fixture(scope="session")
def wrangler_bin() -> Path:
    """Absolute path of node_modules/.bin/wrangler (scripts/install-wrangler, run once)."""
    try:
        return install_wrangler()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def cloudflare() -> Iterator[CloudflareEmulator]:
    """A started emulator with fresh state: account "acc", token "test-token"."""
    with CloudflareEmulator(account_id=CLOUDFLARE_ACCOUNT_ID, tokens=[CLOUDFLARE_TOKEN]) as emulator:
        yield emulator


@pytest.fixture
def wrangler(wrangler_bin: Path, cloudflare: CloudflareEmulator, tmp_path: Path) -> Wrangler:
    """`wrangler.run(*args, cwd=...)`: the real wrangler against `cloudflare`, offline, stdin closed."""
    home = tmp_path / "wrangler-home"
    home.mkdir()
    return Wrangler(wrangler_bin, home, base_url=cloudflare.base_url, token=CLOUDFLARE_TOKEN,
                    account_id=CLOUDFLARE_ACCOUNT_ID)


WorkerDevFactory = Callable[..., WorkerDev]


@pytest.fixture
def worker_dev(wrangler_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerDevFactory]:
    """`with worker_dev(mode="broken") as base_url:` runs `wrangler dev` for tests/workers/ts-worker
    (keyword args: worker, mode, version, extra_vars). Anything still running is stopped at teardown."""
    started: list[WorkerDev] = []

    def factory(mode: str = "healthy", **options: object) -> WorkerDev:
        server = WorkerDev(wrangler_bin, tmp_path_factory.mktemp("worker-dev"), mode=mode, **options)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
