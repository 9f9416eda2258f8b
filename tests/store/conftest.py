"""Store fixtures: every store test runs on an SQLite file and on the real PostgreSQL server.

PostgreSQL: one fresh database `changegate_test_<random>` per session (dropped at the end), and
one fresh schema per test inside it (selected with `options=-csearch_path=...` in the URL), so
tests never see each other's rows and `changegate db upgrade` always starts from empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import create_store_engine
from changegate.adapters.store.sql import SqlStore
from changegate.cli import main
from tests.postgres import fresh_database, fresh_schema
from tests.store.helpers import CliResult, Database, RunCli


@pytest.fixture(scope="session")
def pg_dbname() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    with fresh_database("changegate_test") as name:
        yield name


def _pg_database(dbname: str) -> Database:
    url, schema = fresh_schema(dbname)
    return Database("postgresql", url, dbname=dbname, schema=schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """An empty database on each backend (not migrated)."""
    if request.param == "sqlite":
        path = tmp_path / "changegate.db"
        return Database("sqlite", f"sqlite:///{path}", path=path)
    return _pg_database(request.getfixturevalue("pg_dbname"))


@pytest.fixture
def migrated(database: Database) -> Database:
    """The database, migrated to head."""
    engine = create_store_engine(database.url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    return database


@pytest.fixture
def store(migrated: Database) -> Iterator[SqlStore]:
    with SqlStore(migrated.url) as opened:
        yield opened


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run the real `changegate` entry point and capture what it prints."""

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
