"""The real PostgreSQL server (127.0.0.1:5432) for tests: one fresh database per test session,
dropped at the end, and one fresh schema per test inside it, selected with `options=-csearch_path=`
in the URL, so tests never see each other's rows."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

PG_HOST = "127.0.0.1"
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:5432/postgres"


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new database named `<prefix>_<random>`; fails the test with what to do when PostgreSQL is down."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(6)}"
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


def fresh_schema(dbname: str) -> tuple[str, str]:
    """(url, schema): a new, empty schema in `dbname` and the URL that selects it."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(f"postgresql+psycopg://postgres@{PG_HOST}:5432/{dbname}")
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    options = quote(f"-csearch_path={schema}", safe="")
    return f"postgresql+psycopg://postgres@{PG_HOST}:5432/{dbname}?options={options}", schema
