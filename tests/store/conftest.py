"""Store fixtures: every store test runs on an SQLite file and on the real PostgreSQL server.

PostgreSQL: one fresh database `changegate_test_<random>` per session (dropped at the end), and
one fresh schema per test inside it (selected with `options=-csearch_path=...` in the URL), so
tests never see each other's rows and `changegate db upgrade` always starts from empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import create_store_engine
from changegate.adapters.store.sql import SqlStore
from changegate.cli import main
from tests.store.helpers import PG_HOST, CliResult, Database, RunCli

PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:5432/postgres"


@pytest.fixture(scope="session")
def pg_dbname() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"changegate_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - say what to do, then fail
        admin.dispose()
        pytest.fail(f"PostgreSQL on {PG_HOST}:5432 is not usable ({error}); run scripts/ensure-postgres")
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_database(dbname: str) -> Database:
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(f"postgresql+psycopg://postgres@{PG_HOST}:5432/{dbname}")
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    options = quote(f"-csearch_path={schema}", safe="")
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{dbname}?options={options}"
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
