"""Deploy fixtures shared by the scenario modules (each module defines its own `rig`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.deploy.harness import Rig


@pytest.fixture
def healthy(worker_dev: Callable[..., Any], rig: Rig) -> Iterator[Rig]:
    """The module's rig, probing a healthy Worker."""
    with worker_dev(mode="healthy") as url:
        rig.endpoint = f"{url}/health"
        yield rig
