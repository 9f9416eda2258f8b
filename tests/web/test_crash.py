"""SIGKILL the server in the middle of a burst of deliveries; nothing acknowledged is lost.

The real `changegate serve` runs as a subprocess with the test processor hook
(`CHANGEGATE_TEST_PROCESSOR=tests.web.recording:SqlRecorder`), which records every invocation
and applies an idempotent effect keyed by delivery id. A burst of signed deliveries (every tenth
signed with the wrong secret: never accepted) is fired from threads; the server is killed with
SIGKILL mid-burst, restarted, and every delivery that got no answer is redelivered, as GitHub
would. When the inbox has drained: every 2xx-acknowledged delivery has exactly one effect, no
refused one has any, and each was invoked at least once.
On PostgreSQL the same runs with `serve --no-worker` and two `changegate worker` processes (one
of them also SIGKILLed and restarted), and no delivery's invocations may overlap in time.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from changegate.adapters.store.inbox import SqlInbox
from tests.web.conftest import SECRET
from tests.web.payloads import body_of, github_headers, real_deliveries
from tests.web.recording import create_record_tables, effects, invocations
from tests.web.server import ChangegateProcess, wait_for

BURST = 300
KILL_AFTER = 100  # acknowledged deliveries
LEASE = 2.0
SENDERS = 12
STOPPED = (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown


@dataclass
class Burst:
    """Deliveries to send and what each got back (status, or None: no answer)."""

    items: list[tuple[str, str, bytes, bool]]  # delivery id, event, body, correctly signed
    answers: dict[str, int | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self) -> set[str]:
        return {d for d, status in self.answers.items() if status is not None and 200 <= status < 300}

    def unanswered(self) -> list[tuple[str, str, bytes, bool]]:
        return [item for item in self.items if item[3] and self.answers.get(item[0]) is None]


def make_burst() -> Burst:
    payloads = real_deliveries()
    items = []
    for n in range(BURST):
        event, payload = payloads[n % len(payloads)]
        items.append((str(uuid.uuid4()), event, body_of(payload), n % 10 != 9))
    return Burst(items)


def send(url: str, burst: Burst, items: list[tuple[str, str, bytes, bool]]) -> None:
    """POST `items` from SENDERS threads (one HTTP client each); record each answer."""
    clients: queue.Queue[httpx.Client] = queue.Queue()
    for _ in range(SENDERS):
        clients.put(httpx.Client(timeout=10))

    def one(item: tuple[str, str, bytes, bool]) -> None:
        delivery, event, body, good = item
        headers = github_headers(event, delivery, body, SECRET if good else "not the secret")
        client = clients.get()
        try:
            status: int | None = client.post(f"{url}/webhooks/github", content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = None
        finally:
            clients.put(client)
        with burst.lock:
            burst.answers[delivery] = status

    try:
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            list(pool.map(one, items))
    finally:
        while not clients.empty():
            clients.get().close()


def open_invocation(record_url: str, pid: int) -> Callable[[], bool]:
    """True while process `pid` is inside a `process` call (started, not ended)."""
    engine = create_engine(record_url)

    def check() -> bool:
        query = select(func.count()).select_from(invocations).where(
            invocations.c.pid == pid, invocations.c.ended.is_(None))
        with engine.connect() as connection:
            return bool(connection.execute(query).scalar_one())

    check.engine = engine  # type: ignore[attr-defined]
    return check


def kill_while_processing(process: ChangegateProcess, record_url: str) -> None:
    """SIGKILL `process` at a moment it is in the middle of processing a delivery."""
    busy = open_invocation(record_url, process.process.pid)
    try:
        wait_for(busy, what="the process to be processing a delivery", interval=0.002)
        process.kill()
    finally:
        busy.engine.dispose()  # type: ignore[attr-defined]


def burst_in_background(url: str, burst: Burst) -> threading.Thread:
    """Send the whole burst from a thread; returns once KILL_AFTER were acknowledged."""
    thread = threading.Thread(target=send, args=(url, burst, burst.items), daemon=True)
    thread.start()

    def enough() -> bool:
        with burst.lock:
            return len(burst.acknowledged()) >= KILL_AFTER

    wait_for(enough, what=f"{KILL_AFTER} acknowledged deliveries", interval=0.002)
    return thread


def check_outcome(record_url: str, burst: Burst, database_url: str) -> list[tuple[str, float, float | None]]:
    """Effects == acknowledged, exactly once each; returns every invocation."""
    refused = {d for d, _e, _b, good in burst.items if not good}
    acknowledged = burst.acknowledged()
    assert len(acknowledged) == BURST - len(refused)
    engine = create_engine(record_url)
    try:
        with engine.connect() as connection:
            effect_ids = [row[0] for row in connection.execute(select(effects.c.delivery_id))]
            calls = [(r.delivery_id, r.started, r.ended) for r in connection.execute(
                select(invocations.c.delivery_id, invocations.c.started, invocations.c.ended))]
    finally:
        engine.dispose()
    assert sorted(effect_ids) == sorted(acknowledged)  # exactly once, and nothing refused
    assert {d for d, _s, _e in calls} == acknowledged  # invoked at least once
    assert not refused & {d for d, _s, _e in calls}
    inbox = SqlInbox.open(database_url)
    try:
        assert inbox.counts() == {"pending": 0, "processing": 0, "done": len(acknowledged), "failed": 0}
    finally:
        inbox.close()
    return calls


def drained(record_url: str, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        engine = create_engine(record_url)
        try:
            with engine.connect() as connection:
                count = connection.execute(select(func.count()).select_from(effects)).scalar_one()
        finally:
            engine.dispose()
        return bool(count >= expected)

    return check


def all_done(database_url: str, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        inbox = SqlInbox.open(database_url)
        try:
            return inbox.counts()["done"] >= expected
        finally:
            inbox.close()

    return check


def environment(tmp_path: Path, database_url: str, record_url: str) -> dict[str, str]:
    return {
        "CHANGEGATE_DATABASE_URL": database_url,
        "CHANGEGATE_HOME": str(tmp_path / "home"),
        "CHANGEGATE_WEBHOOK_SECRET": SECRET,
        "CHANGEGATE_TEST_PROCESSOR": "tests.web.recording:SqlRecorder",
        "CHANGEGATE_TEST_RECORD_URL": record_url,
        "CHANGEGATE_TEST_PROCESS_DELAY": "0.02",
    }


def test_sigkill_mid_burst_loses_no_acknowledged_delivery_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    record_url = f"sqlite:///{tmp_path / 'record.db'}"
    create_record_tables(record_url)
    env = environment(tmp_path, sqlite_url, record_url)
    serve_args = ["serve", "--port", "0", "--lease", str(LEASE), "--poll-interval", "0.05"]
    burst = make_burst()
    first = ChangegateProcess(serve_args, env=env, log_path=tmp_path / "serve-1.log")
    try:
        sender = burst_in_background(first.wait_for_port(), burst)
        kill_while_processing(first, record_url)
        sender.join(timeout=60)
    finally:
        first.kill()
    assert burst.unanswered(), "every delivery was answered before the kill"
    assert not drained(record_url, len(burst.acknowledged()))(), "nothing was left in the inbox at the kill"
    second = ChangegateProcess(serve_args, env=env, log_path=tmp_path / "serve-2.log")
    try:
        send(second.wait_for_port(), burst, burst.unanswered())
        wait_for(drained(record_url, len(burst.acknowledged())), what="the inbox to drain", timeout=30)
        wait_for(all_done(sqlite_url, len(burst.acknowledged())), what="every delivery marked done")
    finally:
        assert second.stop() in STOPPED, second.log_text()[-3000:]
    calls = check_outcome(record_url, burst, sqlite_url)
    assert_never_concurrent(calls)


@pytest.mark.postgres
def test_sigkill_mid_burst_with_two_worker_processes_postgresql(tmp_path: Path, pg_url: str) -> None:
    create_record_tables(pg_url)
    env = environment(tmp_path, pg_url, pg_url)
    serve_args = ["serve", "--port", "0", "--no-worker"]
    worker_args = ["worker", "--concurrency", "2", "--lease", str(LEASE), "--poll-interval", "0.05"]
    workers = [ChangegateProcess(worker_args, env=env, log_path=tmp_path / f"worker-{n}.log") for n in range(2)]
    burst = make_burst()
    first = ChangegateProcess(serve_args, env=env, log_path=tmp_path / "serve-1.log")
    try:
        for worker in workers:
            worker.wait_for_log("worker started")
        sender = burst_in_background(first.wait_for_port(), burst)
        kill_while_processing(workers[0], pg_url)  # a worker dies holding a delivery under lease
        first.kill()
        sender.join(timeout=60)
        missed = burst.unanswered()
        assert missed, "every delivery was answered before the kill"
        workers.append(ChangegateProcess(worker_args, env=env, log_path=tmp_path / "worker-2.log"))
        second = ChangegateProcess(serve_args, env=env, log_path=tmp_path / "serve-2.log")
        send(second.wait_for_port(), burst, missed)
        wait_for(drained(pg_url, len(burst.acknowledged())), what="the inbox to drain", timeout=30)
        wait_for(all_done(pg_url, len(burst.acknowledged())), what="every delivery marked done")
        assert second.stop() in STOPPED
    finally:
        first.kill()
        for worker in workers:
            worker.stop()
    calls = check_outcome(pg_url, burst, pg_url)
    assert_never_concurrent(calls)
    assert len(set(pids(pg_url))) >= 2, "the worker processes shared the work"


def pids(record_url: str) -> list[int]:
    engine = create_engine(record_url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(select(invocations.c.pid))]
    finally:
        engine.dispose()


def assert_never_concurrent(calls: list[tuple[str, float, float | None]]) -> None:
    """No two invocations of one delivery overlap; one cut short by a kill (there is at least
    one) is retried, and only after its lease expired."""
    assert any(ended is None for _d, _s, ended in calls), "no processing was cut short by a kill"
    by_delivery: dict[str, list[tuple[float, float | None]]] = {}
    for delivery, started, ended in calls:
        by_delivery.setdefault(delivery, []).append((started, ended))
    for delivery, spans in by_delivery.items():
        spans.sort()
        assert spans[-1][1] is not None, f"{delivery} was never processed to the end"
        for (start, end), (next_start, _next_end) in zip(spans, spans[1:], strict=False):
            if end is None:  # killed mid-way: reclaimable only when the lease ran out
                assert next_start >= start + LEASE - 0.5, f"{delivery} reclaimed before its lease expired"
            else:
                assert next_start >= end, f"{delivery} processed twice at once"
