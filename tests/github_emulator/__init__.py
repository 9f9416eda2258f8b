"""A faithful, stateful GitHub REST API emulator for tests, validated against GitHub's OpenAPI
description. See API.md beside this file."""

from __future__ import annotations

from .auth import app_jwt, app_keypair
from .knobs import Knobs
from .openapi import ResponseValidator, load_spec, spec_path
from .records import (
    Call,
    CheckRun,
    Commit,
    Installation,
    IssuedToken,
    PullRequest,
    Repo,
    Review,
    Status,
)
from .server import Emulator
from .state import GitHubState

__all__ = [
    "Call", "CheckRun", "Commit", "Emulator", "GitHubState", "Installation", "IssuedToken", "Knobs",
    "PullRequest", "Repo", "ResponseValidator", "Review", "Status", "app_jwt", "app_keypair", "load_spec",
    "spec_path",
]
