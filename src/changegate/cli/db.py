"""`changegate db upgrade|current`: create and migrate the database."""

from __future__ import annotations

import click
from sqlalchemy.exc import DBAPIError

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import connection_error, create_store_engine
from changegate.settings import ENV_DATABASE_URL, database_url, redact_url


@click.group("db")
def command() -> None:
    """Create and migrate the database (CHANGEGATE_DATABASE_URL, default an SQLite file)."""


@command.command("upgrade")
def upgrade() -> int:
    """Migrate the database to the newest schema (safe to run again)."""
    url = database_url()
    engine = create_store_engine(url)
    try:
        before, after = migrations.upgrade(engine)
    except DBAPIError as error:
        raise connection_error(url, error) from error
    finally:
        engine.dispose()
    click.echo(f"database: {redact_url(url)}")
    if before == after:
        click.echo(f"revision: {after} (head; already up to date)")
    else:
        click.echo(f"revision: {after} (head; upgraded from {before or 'an empty database'})")
    return 0


@command.command("current")
def current() -> int:
    """Print the database's schema revision; exit 1 if it is not the newest."""
    url = database_url()
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            revision = migrations.current_revision(connection)
    except DBAPIError as error:
        raise connection_error(url, error) from error
    finally:
        engine.dispose()
    head = migrations.head_revision()
    click.echo(f"database: {redact_url(url)}")
    if revision == head:
        click.echo(f"revision: {revision} (head)")
        return 0
    click.echo(f"revision: {revision or 'none (empty database)'}; newest is {head}")
    click.echo(f"run `changegate db upgrade` (database chosen by {ENV_DATABASE_URL})")
    return 1
