"""The webhook inbox worker: claim a stored delivery, hand it to the processor, record the outcome.

Delivery guarantee. The web endpoint commits each delivery to the inbox (keyed by GitHub's
`X-GitHub-Delivery`, so a redelivery is not stored twice) *before* it answers 2xx. Workers claim
rows under a lease (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on
SQLite) and mark them done only after `Processor.process` returned. A worker that dies mid-way
leaves its row `processing`; when the lease expires another worker reclaims it. So every
acknowledged delivery reaches the processor **at least once**, and never twice at the same time.
The processor is idempotent in effect (it re-publishes the same check run for the same head,
upserts keyed by stable ids), so at-least-once delivery + idempotent processing = exactly once in
effect.

A failing delivery is retried with exponential backoff (`RetryPolicy`); after `max_attempts` it is
left `failed`, with its error, for inspection. A delivery whose lease expired `max_attempts` times
(a worker crashing on it each time) is failed without being processed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger("changegate.worker")

PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
STATES = (PENDING, PROCESSING, DONE, FAILED)


@dataclass(frozen=True)
class Delivery:
    """One claimed delivery. `attempts` counts claims, this one included (a fencing token)."""

    id: int
    delivery_id: str
    event: str
    action: str | None
    body: str
    attempts: int
    received_at: datetime


class Processor(Protocol):
    """Acts on one webhook delivery. Must be idempotent in effect: it may be called again for a
    delivery it already handled (after a crash), and must then change nothing new."""

    async def process(
        self, event: str, action: str | None, payload: dict[str, Any], delivery_id: str
    ) -> None: ...


class Inbox(Protocol):
    """The durable delivery inbox (adapters.store.inbox.SqlInbox)."""

    def accept(
        self, delivery_id: str, event: str, action: str | None, body: str, received_at: datetime
    ) -> bool: ...
    def claim(self, worker_id: str, now: datetime, lease: timedelta) -> Delivery | None: ...
    def complete(self, id: int, now: datetime, *, attempt: int | None = None) -> bool: ...
    def fail(
        self,
        id: int,
        now: datetime,
        error: str,
        retry_at: datetime | None,
        *,
        attempt: int | None = None,
    ) -> bool: ...
    def counts(self) -> Mapping[str, int]: ...
    def ping(self) -> None: ...


class WorkerObserver(Protocol):
    """What the worker reports (web.ops.Metrics implements it)."""

    def delivery_processed(self, event: str, seconds: float) -> None: ...
    def delivery_failed(self, event: str, *, final: bool) -> None: ...


class ProcessorMetrics(Protocol):
    """What a processor may report about its GitHub use (web.ops.Metrics implements it)."""

    def add_github_api_calls(self, count: int = 1) -> None: ...
    def set_github_rate_limit(self, remaining: int, *, limit: int | None = None) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base, 2*base, 4*base, ... capped; `max_attempts` tries in all."""

    max_attempts: int = 5
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=15)

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed tries, or None: give up."""
        if attempts >= self.max_attempts:
            return None
        delay: timedelta = min(self.base * (2 ** max(attempts - 1, 0)), self.cap)
        return now + delay


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_worker(
    inbox: Inbox,
    processor: Processor,
    *,
    clock: Callable[[], datetime],
    stop_event: asyncio.Event,
    poll_interval: float = 1.0,
    lease: timedelta = timedelta(seconds=60),
    retry: RetryPolicy | None = None,
    worker_id: str | None = None,
    observer: WorkerObserver | None = None,
    wake: asyncio.Event | None = None,
) -> int:
    """Process deliveries until `stop_event` is set; returns how many were processed.

    Sleeps `poll_interval` seconds when the inbox is empty (or until `wake` is set, e.g. by the
    web endpoint after it accepted a delivery). Processing is cancelled after 80% of the lease,
    so a live worker never holds a delivery past its lease.
    """
    job = _Job(inbox, processor, clock, lease, retry or RetryPolicy(), observer)
    name = worker_id or default_worker_id()
    processed = 0
    while not stop_event.is_set():
        try:
            delivery = await asyncio.to_thread(inbox.claim, name, clock(), lease)
        except Exception as error:  # noqa: BLE001 - a database outage must not end the worker
            log.error("inbox claim failed", extra={"worker": name, "error": str(error)})
            delivery = None
        if delivery is None:
            await _idle(stop_event, wake, poll_interval)
            continue
        processed += await job.run(delivery, name)
    return processed


async def _idle(stop_event: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop_event.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        if wake is not None:
            wake.clear()


@dataclass
class _Job:
    inbox: Inbox
    processor: Processor
    clock: Callable[[], datetime]
    lease: timedelta
    retry: RetryPolicy
    observer: WorkerObserver | None

    async def run(self, delivery: Delivery, worker: str) -> int:
        """Process one claimed delivery and record the outcome; 1 if it succeeded."""
        fields = {"delivery": delivery.delivery_id, "event": delivery.event, "worker": worker,
                  "attempt": delivery.attempts}
        if delivery.attempts > self.retry.max_attempts:  # its lease expired too often: a crasher
            reason = f"abandoned: the lease expired after {delivery.attempts - 1} attempts"
            await self._fail(delivery, reason, final=True, fields=fields)
            return 0
        started = time.perf_counter()
        try:
            payload = json.loads(delivery.body)
            if not isinstance(payload, dict):
                raise ValueError("the stored body is not a JSON object")
            timeout = self.lease.total_seconds() * 0.8
            async with asyncio.timeout(timeout):
                await self.processor.process(
                    delivery.event, delivery.action, payload, delivery.delivery_id
                )
        except asyncio.CancelledError:  # shutting down: hand it back now, not at lease expiry
            with contextlib.suppress(Exception):
                self.inbox.fail(delivery.id, self.clock(), "interrupted: the worker stopped",
                                self.clock(), attempt=delivery.attempts)
            raise
        except Exception as error:  # noqa: BLE001 - any processor failure is retried
            reason = _describe(error)
            retry_at = self.retry.retry_at(delivery.attempts, self.clock())
            await self._fail(delivery, reason, final=retry_at is None, fields=fields,
                             retry_at=retry_at)
            return 0
        seconds = time.perf_counter() - started
        with contextlib.suppress(Exception):  # not recorded: the lease expires, it is redone
            await asyncio.to_thread(
                self.inbox.complete, delivery.id, self.clock(), attempt=delivery.attempts
            )
        if self.observer is not None:
            self.observer.delivery_processed(delivery.event, seconds)
        log.info("delivery processed", extra={**fields, "seconds": round(seconds, 6)})
        return 1

    async def _fail(
        self,
        delivery: Delivery,
        reason: str,
        *,
        final: bool,
        fields: dict[str, Any],
        retry_at: datetime | None = None,
    ) -> None:
        try:
            await asyncio.to_thread(
                self.inbox.fail, delivery.id, self.clock(), reason, retry_at,
                attempt=delivery.attempts,
            )
        except Exception as error:  # noqa: BLE001 - the lease expires and it is retried
            log.error("recording a failure failed", extra={**fields, "error": str(error)})
        if self.observer is not None:
            self.observer.delivery_failed(delivery.event, final=final)
        extra = {**fields, "error": reason, "retry_at": retry_at.isoformat() if retry_at else None}
        log.warning("delivery failed" if final else "delivery will be retried", extra=extra)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "processing took longer than 80% of the lease and was cancelled"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
