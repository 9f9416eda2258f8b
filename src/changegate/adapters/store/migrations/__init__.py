"""Alembic migrations, run in code: no alembic.ini is needed at run time.

`upgrade` migrates to head; `ensure_migrated` is what opening a store does (SQLite upgrades
itself, PostgreSQL must be upgraded explicitly with `changegate db upgrade`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from changegate.adapters.store.engine import write_connection
from changegate.errors import StoreError

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing into this package; migrations run on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest migration this version of changegate knows."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError(f"no migrations found in {SCRIPT_LOCATION}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to head in one transaction; returns (revision before, revision after)."""
    with write_connection(engine) as connection:
        before = current_revision(connection)
        _check_known(before, engine)
        if before != head_revision():
            command.upgrade(alembic_config(connection), "head")
        return before, head_revision()


def ensure_migrated(engine: Engine, *, auto_upgrade: bool) -> None:
    """Upgrade (if `auto_upgrade`) or refuse a database that is not at head."""
    with engine.connect() as connection:
        current = current_revision(connection)
    if current == head_revision():
        return
    _check_known(current, engine)
    if auto_upgrade:
        upgrade(engine)
        return
    where = engine.url.render_as_string(hide_password=True)
    state = "empty" if current is None else f"at revision {current}, not {head_revision()}"
    raise StoreError(
        f"database at {where} is not migrated: run `changegate db upgrade` ({state})"
    )


def _check_known(revision: str | None, engine: Engine) -> None:
    if revision is None:
        return
    try:
        _scripts().get_revision(revision)
    except Exception as error:  # alembic raises several types for an unknown revision
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError(
            f"database at {where} is at revision {revision}, which this changegate does not "
            "know: it was migrated by a newer changegate; upgrade changegate"
        ) from error
