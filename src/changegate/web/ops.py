"""Operations endpoints (`/healthz`, `/readyz`, `/metrics`) and the Metrics object.

`Metrics` owns a private CollectorRegistry (never prometheus_client's global one), so several
apps in one process (tests) do not collide. The worker reports through it (WorkerObserver), and
the processor may report its GitHub use through it (ProcessorMetrics).
"""

from __future__ import annotations

import logging

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from changegate.services.inbox import PENDING, PROCESSING, Inbox
from changegate.web.envelope import error_response

log = logging.getLogger("changegate.web")
READY_TIMEOUT_SECONDS = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """Prometheus metrics of one app (or one worker process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter("changegate_webhook_deliveries_received", "Webhook deliveries accepted into the inbox (new), by event.", ["event"], registry=r)
        self.duplicates = Counter("changegate_webhook_deliveries_duplicate", "Redeliveries of a delivery id already in the inbox, by event.", ["event"], registry=r)
        self.rejected = Counter("changegate_webhook_requests_rejected", "Webhook requests refused, by HTTP status.", ["status"], registry=r)
        self.processed = Counter("changegate_webhook_deliveries_processed", "Deliveries processed successfully, by event.", ["event"], registry=r)
        self.failed = Counter("changegate_webhook_deliveries_failed", "Failed processing attempts, by event; final=true when given up.", ["event", "final"], registry=r)
        self.latency = Histogram("changegate_webhook_processing_seconds", "Time the processor took per delivery.", ["event"], buckets=LATENCY_BUCKETS, registry=r)
        self.inbox_depth = Gauge("changegate_inbox_depth", "Deliveries waiting or being processed (pending + processing).", registry=r)
        self.inbox = Gauge("changegate_inbox_deliveries", "Deliveries in the inbox, by state.", ["state"], registry=r)
        self.github_calls = Counter("changegate_github_api_calls", "GitHub API requests made by the processor.", registry=r)
        self.rate_remaining = Gauge("changegate_github_rate_limit_remaining", "GitHub API requests left in the current rate-limit window.", registry=r)
        self.rate_limit = Gauge("changegate_github_rate_limit", "GitHub API rate limit per window.", registry=r)

    # The web endpoint
    def delivery_received(self, event: str) -> None:
        self.received.labels(event=event).inc()

    def delivery_duplicate(self, event: str) -> None:
        self.duplicates.labels(event=event).inc()

    def request_rejected(self, status: int) -> None:
        self.rejected.labels(status=str(status)).inc()

    # services.inbox.WorkerObserver
    def delivery_processed(self, event: str, seconds: float) -> None:
        self.processed.labels(event=event).inc()
        self.latency.labels(event=event).observe(seconds)

    def delivery_failed(self, event: str, *, final: bool) -> None:
        self.failed.labels(event=event, final="true" if final else "false").inc()

    # services.inbox.ProcessorMetrics
    def add_github_api_calls(self, count: int = 1) -> None:
        self.github_calls.inc(count)

    def set_github_rate_limit(self, remaining: int, *, limit: int | None = None) -> None:
        self.rate_remaining.set(remaining)
        if limit is not None:
            self.rate_limit.set(limit)

    def set_inbox_counts(self, counts: dict[str, int]) -> None:
        for state, count in counts.items():
            self.inbox.labels(state=state).set(count)
        self.inbox_depth.set(counts.get(PENDING, 0) + counts.get(PROCESSING, 0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


async def healthz(_request: Request) -> Response:
    """The process is up (no dependency checked)."""
    return JSONResponse({"ok": True, "status": 200})


async def readyz(request: Request) -> Response:
    """Ready when the database answers `SELECT 1` within 5 s; else 503 with the reason."""
    inbox: Inbox = request.app.state.inbox
    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            await anyio.to_thread.run_sync(inbox.ping, abandon_on_cancel=True)
    except TimeoutError:
        return error_response(503, f"database did not answer SELECT 1 within {READY_TIMEOUT_SECONDS:g} s")
    except Exception as error:  # noqa: BLE001 - any failure means not ready; say why
        log.warning("readiness check failed", extra={"error": str(error)})
        return error_response(503, f"database unavailable: {error}")
    return JSONResponse({"ok": True, "status": 200, "database": "ok"})


async def metrics(request: Request) -> Response:
    """Prometheus text exposition; inbox gauges are read from the database at scrape time."""
    state = request.app.state
    try:
        state.metrics.set_inbox_counts(await run_in_threadpool(state.inbox.counts))
    except Exception as error:  # noqa: BLE001 - still expose the counters
        log.warning("inbox counts unavailable for /metrics", extra={"error": str(error)})
    body = await run_in_threadpool(state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
