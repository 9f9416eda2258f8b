"""Alembic environment. Runs on the connection the caller passes in `config.attributes`;
otherwise (the `alembic` command line, for writing new migrations) on changegate's own
database setting."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from changegate.adapters.store.engine import create_store_engine, write_connection
from changegate.adapters.store.tables import metadata
from changegate.settings import database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if context.is_offline_mode():
        context.configure(url=database_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_store_engine(database_url())
    try:
        with write_connection(engine) as connection:
            _run(connection)
    finally:
        engine.dispose()


_main()
