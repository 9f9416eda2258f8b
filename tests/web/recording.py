"""Test processors: an in-memory recorder, and a database recorder for server subprocesses.

`SqlRecorder` is what the test hook selects in a `changegate serve` / `changegate worker`
subprocess: `CHANGEGATE_TEST_PROCESSOR=tests.web.recording:SqlRecorder`. It writes to the
database at `CHANGEGATE_TEST_RECORD_URL` (tables made by `create_record_tables`):
- `invocations`: one row per call (delivery id, pid, started, ended; ended stays NULL when the
  process was killed mid-way), so raw at-least-once calls and their overlaps can be checked;
- `effects`: the processor's effect, an idempotent upsert keyed by delivery id, so a repeated
  call changes nothing: exactly once in effect.
`CHANGEGATE_TEST_PROCESS_DELAY` (seconds, default 0.02) is how long each call takes.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, create_engine
from sqlalchemy.dialects import postgresql, sqlite

record_metadata = MetaData()
invocations = Table(
    "test_invocations", record_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(100), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", Float, nullable=False),
    Column("ended", Float, nullable=True),
)
effects = Table(
    "test_effects", record_metadata,
    Column("delivery_id", String(100), primary_key=True),
    Column("event", String(100), nullable=False),
    Column("action", String(100), nullable=True),
)


def create_record_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        record_metadata.create_all(engine)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Call:
    event: str
    action: str | None
    payload: dict[str, Any]
    delivery_id: str


class RecordingProcessor:
    """In memory: every call, in order (thread-safe). `fail_times` makes the first N calls raise."""

    def __init__(self, *, fail_times: int = 0, delay: float = 0.0) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._fail_times = fail_times
        self._delay = delay

    async def process(self, event: str, action: str | None, payload: dict[str, Any], delivery_id: str) -> None:
        if self._delay:
            await asyncio.sleep(self._delay)
        with self._lock:
            self.calls.append(Call(event, action, payload, delivery_id))
            failing = len(self.calls) <= self._fail_times
        if failing:
            raise RuntimeError(f"induced failure {len(self.calls)}")

    def delivery_ids(self) -> list[str]:
        with self._lock:
            return [call.delivery_id for call in self.calls]


class SqlRecorder:
    """Records invocations and idempotent effects in CHANGEGATE_TEST_RECORD_URL."""

    def __init__(self) -> None:
        url = os.environ["CHANGEGATE_TEST_RECORD_URL"]
        self.engine: Engine = create_engine(url)
        self.delay = float(os.environ.get("CHANGEGATE_TEST_PROCESS_DELAY", "0.02"))
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    async def process(self, event: str, action: str | None, payload: dict[str, Any], delivery_id: str) -> None:  # noqa: ARG002
        call_id = await asyncio.to_thread(self._started, delivery_id)
        await asyncio.sleep(self.delay)
        await asyncio.to_thread(self._effect, delivery_id, event, action, call_id)

    def _started(self, delivery_id: str) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(invocations.insert().values(
                delivery_id=delivery_id, pid=os.getpid(), started=time.time()))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def _effect(self, delivery_id: str, event: str, action: str | None, call_id: int) -> None:
        upsert = self._insert(effects).values(delivery_id=delivery_id, event=event, action=action)
        with self.engine.begin() as connection:
            connection.execute(upsert.on_conflict_do_nothing(index_elements=[effects.c.delivery_id]))
            connection.execute(invocations.update().where(invocations.c.id == call_id)
                               .values(ended=time.time()))
