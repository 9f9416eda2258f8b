"""pytest fixtures for the emulator. Register with `pytest_plugins = ["tests.github_emulator.fixtures"]`
in tests/conftest.py (or import the fixtures by name into a test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .openapi import ResponseValidator, load_spec
from .server import Emulator

GITHUB_TOKEN = "test-token"  # accepted by `github_emulator`; any login: "octocat"
GITHUB_APP_ID = 1


@pytest.fixture(scope="session")
def github_validator() -> ResponseValidator:
    """GitHub's OpenAPI description, loaded once per session (fetched with npm if missing)."""
    return ResponseValidator(load_spec())


@pytest.fixture
def github_emulator(github_validator: ResponseValidator) -> Iterator[Emulator]:
    """A running emulator (fresh state); fails the test if any response broke GitHub's schemas."""
    emulator = Emulator(tokens={GITHUB_TOKEN: "octocat"}, app_id=GITHUB_APP_ID, validator=github_validator)
    with emulator:
        yield emulator
    assert emulator.validation_errors == [], "the emulator answered off-spec:\n" + "\n".join(emulator.validation_errors)
