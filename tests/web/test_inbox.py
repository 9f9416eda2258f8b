"""The inbox adapter on SQLite and PostgreSQL, and the worker loop over it."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from changegate.adapters.store.inbox import SqlInbox
from changegate.services.inbox import RetryPolicy, run_worker
from tests.web.recording import RecordingProcessor

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def fill(inbox: SqlInbox, count: int, *, event: str = "push") -> list[str]:
    ids = [f"d-{n:04d}" for n in range(count)]
    for n, delivery in enumerate(ids):
        assert inbox.accept(delivery, event, None, f'{{"n": {n}}}', T0 + timedelta(seconds=n))
    return ids


def test_accept_is_idempotent_per_delivery_id(inbox: SqlInbox) -> None:
    assert inbox.accept("abc", "pull_request", "opened", "{}", T0) is True
    assert inbox.accept("abc", "pull_request", "opened", '{"other": 1}', T0) is False
    row = inbox.get("abc")
    assert row is not None and row["body"] == "{}" and row["state"] == "pending"
    assert row["received_at"] == T0 and row["attempts"] == 0
    assert inbox.counts() == {"pending": 1, "processing": 0, "done": 0, "failed": 0}


def test_claim_takes_the_oldest_under_a_lease_and_complete_finishes_it(inbox: SqlInbox) -> None:
    fill(inbox, 2)
    first = inbox.claim("w1", T0, LEASE)
    second = inbox.claim("w2", T0, LEASE)
    assert first is not None and second is not None
    assert (first.delivery_id, first.attempts, second.delivery_id) == ("d-0000", 1, "d-0001")
    assert inbox.claim("w3", T0, LEASE) is None  # both leased
    assert inbox.complete(first.id, T0 + timedelta(seconds=1), attempt=1) is True
    assert inbox.complete(first.id, T0 + timedelta(seconds=2), attempt=1) is False  # already done
    row = inbox.get("d-0000")
    assert row is not None and row["state"] == "done" and row["processed_at"] == T0 + timedelta(seconds=1)
    assert row["locked_until"] is None


def test_an_expired_lease_is_reclaimed_and_the_old_holder_is_fenced_off(inbox: SqlInbox) -> None:
    fill(inbox, 1)
    crashed = inbox.claim("w1", T0, LEASE)
    assert crashed is not None
    assert inbox.claim("w2", T0 + LEASE - timedelta(seconds=1), LEASE) is None
    again = inbox.claim("w2", T0 + LEASE, LEASE)
    assert again is not None and again.id == crashed.id and again.attempts == 2
    assert inbox.complete(crashed.id, T0 + LEASE, attempt=crashed.attempts) is False
    assert inbox.fail(crashed.id, T0 + LEASE, "late", None, attempt=crashed.attempts) is False
    assert inbox.complete(again.id, T0 + LEASE, attempt=again.attempts) is True


def test_fail_with_retry_waits_until_then_and_fail_without_is_final(inbox: SqlInbox) -> None:
    fill(inbox, 1)
    claimed = inbox.claim("w", T0, LEASE)
    assert claimed is not None
    retry_at = T0 + timedelta(minutes=1)
    assert inbox.fail(claimed.id, T0, "boom", retry_at, attempt=1) is True
    assert inbox.claim("w", retry_at - timedelta(seconds=1), LEASE) is None
    retried = inbox.claim("w", retry_at, LEASE)
    assert retried is not None and retried.attempts == 2
    assert inbox.fail(retried.id, retry_at, "x" * 10_000, None, attempt=2) is True
    row = inbox.get("d-0000")
    assert row is not None and row["state"] == "failed" and len(row["error"]) == 4000
    assert inbox.claim("w", retry_at + timedelta(days=1), LEASE) is None
    assert inbox.counts()["failed"] == 1


def test_concurrent_claims_never_share_a_delivery(inbox: SqlInbox) -> None:
    ids = fill(inbox, 40)
    claimed: list[list[str]] = [[] for _ in range(4)]

    def work(slot: int) -> None:
        while (delivery := inbox.claim(f"w{slot}", T0, LEASE)) is not None:
            claimed[slot].append(delivery.delivery_id)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [delivery for slot in claimed for delivery in slot]
    assert sorted(everything) == ids  # each exactly once


def test_ping_and_counts(inbox: SqlInbox) -> None:
    inbox.ping()
    assert inbox.counts() == {"pending": 0, "processing": 0, "done": 0, "failed": 0}


def _run(inbox: SqlInbox, processor: RecordingProcessor, *, retry: RetryPolicy, until: int) -> int:
    async def main() -> int:
        stop = asyncio.Event()

        async def stopper() -> None:
            while len(processor.calls) < until or inbox.counts()["pending"] + inbox.counts()["processing"]:
                await asyncio.sleep(0.01)
            stop.set()

        watcher = asyncio.create_task(stopper())
        processed = await asyncio.wait_for(run_worker(
            inbox, processor, clock=lambda: datetime.now(UTC), stop_event=stop,
            poll_interval=0.01, lease=LEASE, retry=retry), timeout=30)
        await watcher
        return processed

    return asyncio.run(main())


def test_the_worker_retries_with_backoff_then_gives_up(sqlite_inbox: SqlInbox) -> None:
    fill(sqlite_inbox, 1)
    processor = RecordingProcessor(fail_times=10)
    processed = _run(sqlite_inbox, processor, retry=RetryPolicy(max_attempts=3, base=timedelta(0)), until=3)
    assert processed == 0 and len(processor.calls) == 3
    row = sqlite_inbox.get("d-0000")
    assert row is not None and row["state"] == "failed" and row["attempts"] == 3
    assert "RuntimeError: induced failure 3" in row["error"]


def test_the_worker_processes_in_order_and_recovers_from_failures(sqlite_inbox: SqlInbox) -> None:
    ids = fill(sqlite_inbox, 5)
    processor = RecordingProcessor(fail_times=1)
    processed = _run(sqlite_inbox, processor, retry=RetryPolicy(base=timedelta(0)), until=6)
    assert processed == 5
    assert processor.delivery_ids() == [ids[0], *ids]  # the first failed once, then was retried
    assert sqlite_inbox.counts()["done"] == 5


def test_a_delivery_whose_lease_expired_too_often_is_failed_unprocessed(sqlite_inbox: SqlInbox) -> None:
    fill(sqlite_inbox, 1)
    now = datetime.now(UTC) - LEASE * 10
    for attempt in range(3):  # three workers "crashed" on it
        assert sqlite_inbox.claim("crasher", now + LEASE * attempt, LEASE) is not None
    processor = RecordingProcessor()
    retry = RetryPolicy(max_attempts=3)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(sqlite_inbox, processor, clock=lambda: datetime.now(UTC),
                                              stop_event=stop, poll_interval=0.01, lease=LEASE, retry=retry))
        while sqlite_inbox.counts()["failed"] == 0:
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(main())
    row = sqlite_inbox.get("d-0000")
    assert processor.calls == [] and row is not None and "lease expired after 3 attempts" in row["error"]


@pytest.mark.parametrize(("attempts", "expected"), [(1, 10), (2, 20), (3, 40), (10, 900)])
def test_retry_policy_backs_off_exponentially_with_a_cap(attempts: int, expected: int) -> None:
    policy = RetryPolicy(max_attempts=20)
    assert policy.retry_at(attempts, T0) == T0 + timedelta(seconds=expected)
    assert RetryPolicy(max_attempts=3).retry_at(3, T0) is None
