"""The one place that chooses real adapters from settings."""

from __future__ import annotations

from changegate.adapters.store.sql import SqlStore
from changegate.settings import database_url


def open_store() -> SqlStore:
    return SqlStore(database_url())
