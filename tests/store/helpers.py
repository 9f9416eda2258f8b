"""Shared helpers for the store tests: databases, real SQL clients, fixed instants, samples."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from changegate.adapters.store.sql import SqlStore
from tests.postgres import PG_HOST

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Database:
    """A fresh, empty database the test may use however it likes."""

    backend: str  # sqlite | postgresql
    url: str
    path: Path | None = None  # SQLite file
    dbname: str = ""  # PostgreSQL database
    schema: str = ""  # PostgreSQL schema

    def run_sql(self, sql: str) -> subprocess.CompletedProcess[str]:
        """Run `sql` with the real command-line client (sqlite3 or psql), as an attacker would."""
        if self.backend == "sqlite":
            binary = _binary("sqlite3")
            command = [binary, "-bail", str(self.path), sql]
        else:
            binary = _binary("psql")
            script = f"SET search_path TO {self.schema}; {sql}"
            command = [binary, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-U", "postgres"]
            command += ["-d", self.dbname, "-c", script]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"the {name} command-line client is missing: run scripts/ensure-postgres")
    return found


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    out: str
    err: str


RunCli = Callable[..., CliResult]


def at(minutes: int) -> datetime:
    """A fixed instant `minutes` after T0 (tests never read the clock)."""
    return T0 + timedelta(minutes=minutes)


def record_sample_verdict(store: SqlStore, *, pr_number: int, state: str = "pass", minutes: int = 0) -> int:
    return store.record_verdict(
        repository="acme/api",
        pr_number=pr_number,
        head_sha=f"{pr_number:040x}",
        change_type="standard",
        state=state,
        verdict={"state": state, "requirements": [{"id": "approvals.count", "state": "satisfied"}]},
        snapshot={"repository": "acme/api", "pull_request": {"number": pr_number, "title": "Füß ✓"}},
        policy_sha256="a" * 64,
        changegate_version="0.1.0",
        recorded_at=at(minutes),
    )
