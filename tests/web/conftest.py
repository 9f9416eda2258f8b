"""Web fixtures: the npm webhook data, inboxes on SQLite and PostgreSQL, an app under uvicorn.

PostgreSQL: one fresh database per session (dropped at the end) and one fresh schema per test,
selected with `options=-csearch_path=...` in the URL.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import create_store_engine
from changegate.adapters.store.inbox import SqlInbox
from changegate.services.inbox import Processor
from changegate.web.app import WebSettings, create_app
from changegate.web.ops import Metrics
from tests.web.payloads import webhook_files
from tests.web.server import ThreadServer

PG_HOST = "127.0.0.1"
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:5432/postgres"
SECRET = "It's a Secret to Everybody"  # GitHub's own example secret

MakeServer = Callable[..., ThreadServer]


@pytest.fixture(scope="session", autouse=True)
def webhook_data() -> tuple[Path, Path]:
    """The npm examples and schemas, fetched by scripts/fetch-webhook-examples if missing."""
    return webhook_files()


@pytest.fixture(scope="session")
def web_pg_dbname() -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"changegate_web_{secrets.token_hex(6)}"
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


@pytest.fixture
def pg_url(web_pg_dbname: str) -> str:
    """A fresh, migrated schema in the session's PostgreSQL database."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(f"postgresql+psycopg://postgres@{PG_HOST}:5432/{web_pg_dbname}")
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    options = quote(f"-csearch_path={schema}", safe="")
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{web_pg_dbname}?options={options}"
    store_engine = create_store_engine(url)
    try:
        migrations.upgrade(store_engine)
    finally:
        store_engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'changegate.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def inbox(request: pytest.FixtureRequest) -> Iterator[SqlInbox]:
    """A migrated inbox on each backend."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    opened = SqlInbox.open(url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_inbox(sqlite_url: str) -> Iterator[SqlInbox]:
    opened = SqlInbox.open(sqlite_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def make_server(sqlite_inbox: SqlInbox) -> Iterator[MakeServer]:
    """Start the app under uvicorn on a free loopback port (stopped at the end of the test)."""
    started: list[ThreadServer] = []

    def make(processor: Processor | None = None, *, store: SqlInbox | None = None,
             metrics: Metrics | None = None, **settings: object) -> ThreadServer:
        options: dict[str, object] = {"poll_interval": 0.05, **settings}
        web_settings = WebSettings(webhook_secret=SECRET, **options)  # type: ignore[arg-type]
        app = create_app(web_settings, processor=processor, store=store or sqlite_inbox,
                         metrics=metrics)
        server = ThreadServer(app).__enter__()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.__exit__(None, None, None)
