"""`changegate db upgrade|current` on empty databases, and the migrated schema matches tables.py."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import create_store_engine
from changegate.adapters.store.tables import metadata
from tests.store.helpers import Database, RunCli


def test_db_upgrade_migrates_an_empty_database_and_is_idempotent(
    database: Database, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", database.url)
    before = run_cli("db", "current")
    assert before.exit_code == 1
    assert "none (empty database)" in before.out and "changegate db upgrade" in before.out

    first = run_cli("db", "upgrade")
    assert first.exit_code == 0, first.err
    head = migrations.head_revision()
    assert f"revision: {head} (head; upgraded from an empty database)" in first.out

    again = run_cli("db", "upgrade")
    assert again.exit_code == 0, again.err
    assert f"revision: {head} (head; already up to date)" in again.out

    current = run_cli("db", "current")
    assert (current.exit_code, current.out.splitlines()[-1]) == (0, f"revision: {head} (head)")
    assert run_cli("ledger", "verify").exit_code == 0


def test_the_migrated_schema_is_exactly_tables_py(migrated: Database) -> None:
    engine = create_store_engine(migrated.url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_downgrade_then_upgrade_round_trips(migrated: Database) -> None:
    from alembic import command

    engine = create_store_engine(migrated.url)
    try:
        with engine.begin() as connection:
            command.downgrade(migrations.alembic_config(connection), "base")
        with engine.connect() as connection:
            assert migrations.current_revision(connection) is None
        assert migrations.upgrade(engine) == (None, migrations.head_revision())
    finally:
        engine.dispose()


def test_db_upgrade_prints_the_url_without_its_password(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", "postgresql://alice:hunter2@127.0.0.1:1/nowhere")
    result = run_cli("db", "upgrade")
    assert result.exit_code == 2
    assert "postgresql+psycopg://alice:***@127.0.0.1:1/nowhere" in result.err
    assert "hunter2" not in result.err + result.out


def test_a_database_from_a_newer_changegate_is_refused(migrated: Database, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_store_engine(migrated.url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    finally:
        engine.dispose()
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", migrated.url)
    result = run_cli("ledger", "verify")
    assert result.exit_code == 2
    assert "revision 9999, which this changegate does not know" in result.err
