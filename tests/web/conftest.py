"""Web fixtures: the npm webhook data, inboxes on SQLite and PostgreSQL, an app under uvicorn.

PostgreSQL: one fresh database per session (dropped at the end) and one fresh schema per test,
selected with `options=-csearch_path=...` in the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from changegate.adapters.store import migrations
from changegate.adapters.store.engine import create_store_engine
from changegate.adapters.store.inbox import SqlInbox
from changegate.services.inbox import Processor
from changegate.web.app import WebSettings, create_app
from changegate.web.ops import Metrics
from tests.postgres import fresh_database, fresh_schema
from tests.web.payloads import webhook_files
from tests.web.server import ThreadServer

SECRET = "It's a Secret to Everybody"  # GitHub's own example secret

MakeServer = Callable[..., ThreadServer]


@pytest.fixture(scope="session", autouse=True)
def webhook_data() -> tuple[Path, Path]:
    """The npm examples and schemas, fetched by scripts/fetch-webhook-examples if missing."""
    return webhook_files()


@pytest.fixture(scope="session")
def web_pg_dbname() -> Iterator[str]:
    with fresh_database("changegate_web") as name:
        yield name


@pytest.fixture
def pg_url(web_pg_dbname: str) -> str:
    """A fresh, migrated schema in the session's PostgreSQL database."""
    url, _schema = fresh_schema(web_pg_dbname)
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
