from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from changegate.core.policy import Policy
from changegate.core.policy_check import parse_policy

DEFAULT_POLICY_FILE = Path(__file__).parent.parent / "src" / "changegate" / "data" / "default-policy.yml"


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return parse_policy(yaml.safe_load(DEFAULT_POLICY_FILE.read_text("utf-8")))

pytest_plugins = ["tests.github_emulator.fixtures", "tests.cloudflare_emulator.fixtures"]
