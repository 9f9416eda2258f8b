"""The ASGI app factory: webhook endpoint, operations endpoints, and the in-process worker.

Everything the app uses is passed in (no module globals): `create_app(settings, processor=...,
store=...)`. With a processor (and `settings.workers > 0`), the app's lifespan runs that many
worker tasks over the inbox; without one (`changegate serve --no-worker`), separate
`changegate worker` processes do the processing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from changegate.services.inbox import Inbox, Processor, RetryPolicy, default_worker_id, run_worker
from changegate.settings import SettingsError
from changegate.web import ops, webhooks
from changegate.web.envelope import http_exception, server_error
from changegate.web.ops import Metrics

log = logging.getLogger("changegate.web")

ENV_WEBHOOK_SECRET = "CHANGEGATE_WEBHOOK_SECRET"
MAX_BODY_BYTES = 25 * 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class WebSettings:
    """The web server's settings. The secret never appears in a repr or a log."""

    webhook_secret: str = field(repr=False)
    max_body_bytes: int = MAX_BODY_BYTES
    workers: int = 1  # in-process worker tasks when a processor is given
    poll_interval: float = 1.0
    lease: timedelta = timedelta(seconds=60)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def webhook_secret(environ: Mapping[str, str] | None = None) -> str:
    """`CHANGEGATE_WEBHOOK_SECRET`, refusing to go on without one."""
    env = os.environ if environ is None else environ
    secret = env.get(ENV_WEBHOOK_SECRET, "")
    if not secret.strip():
        raise SettingsError(
            f"{ENV_WEBHOOK_SECRET} is not set: set it to the secret of the GitHub webhook "
            "(App settings > Webhook secret); changegate does not accept unsigned webhooks"
        )
    return secret


def create_app(
    settings: WebSettings,
    *,
    processor: Processor | None,
    store: Inbox,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The app. `store` is the inbox; `processor` None means no in-process worker."""
    if not settings.webhook_secret.strip():
        raise SettingsError(f"{ENV_WEBHOOK_SECRET} is empty: set it to the GitHub webhook's secret")
    app = Starlette(
        routes=[*webhooks.routes, *ops.routes],
        exception_handlers={HTTPException: http_exception, Exception: server_error},
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.inbox = store
    app.state.processor = processor
    app.state.metrics = metrics if metrics is not None else Metrics()
    app.state.clock = clock or _utc_now
    app.state.wake = asyncio.Event()  # set on each new delivery: workers need not wait a poll
    return app


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    state = app.state
    stop = asyncio.Event()
    tasks: list[asyncio.Task[int]] = []
    settings: WebSettings = state.settings
    if state.processor is not None:
        for number in range(settings.workers):
            worker = run_worker(
                state.inbox, state.processor, clock=state.clock, stop_event=stop,
                poll_interval=settings.poll_interval, lease=settings.lease,
                retry=settings.retry, worker_id=f"{default_worker_id()}/{number}",
                observer=state.metrics, wake=state.wake,
            )
            tasks.append(asyncio.create_task(worker, name=f"changegate-worker-{number}"))
        log.info("in-process worker started", extra={"workers": len(tasks)})
    else:
        log.info("no in-process worker: run `changegate worker` to process deliveries")
    try:
        yield
    finally:
        await stop_workers(stop, tasks, grace=SHUTDOWN_GRACE_SECONDS)


async def stop_workers(stop: asyncio.Event, tasks: list[asyncio.Task[int]], *, grace: float) -> None:
    """Ask the workers to stop after their current delivery; cancel them after `grace` s."""
    stop.set()
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("worker ended with an error", extra={"error": repr(result)})
