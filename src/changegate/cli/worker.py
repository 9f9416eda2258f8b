"""`changegate worker`: process webhook deliveries from the inbox, in a process of its own.

Run one or more beside `changegate serve --no-worker` (PostgreSQL: row locks keep workers off
each other's deliveries). Also home of `load_processor`, which `serve` uses too.

The processor is `changegate.wiring.build_processor()` (the gate over the GitHub client from the
environment). Test hook:
`CHANGEGATE_TEST_PROCESSOR=tests.module:attr` selects a test-only processor (an object with
`process`, or a factory called with no arguments); only modules under `tests.` are accepted, so a
production install (which ships no `tests` package) cannot be switched by it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
from datetime import UTC, datetime, timedelta

import click
from prometheus_client import start_http_server

from changegate.adapters.store.inbox import SqlInbox
from changegate.errors import ChangegateError
from changegate.services.inbox import Processor, ProcessorMetrics, default_worker_id, run_worker
from changegate.settings import database_url
from changegate.web.logs import configure_logging
from changegate.web.ops import Metrics

log = logging.getLogger("changegate.worker")
ENV_TEST_PROCESSOR = "CHANGEGATE_TEST_PROCESSOR"


def load_processor(metrics: ProcessorMetrics) -> Processor:
    """The test hook's processor if set, else the real one (`wiring.build_processor`)."""
    hook = os.environ.get(ENV_TEST_PROCESSOR, "").strip()
    if hook:
        return _test_processor(hook)
    from changegate.wiring import build_processor

    return build_processor(metrics=metrics)


def _test_processor(hook: str) -> Processor:
    module_name, _, attribute = hook.partition(":")
    if not module_name.startswith("tests.") or not attribute:
        raise ChangegateError(f"{ENV_TEST_PROCESSOR}={hook!r} is refused: it is a test hook and takes tests.MODULE:ATTRIBUTE; unset it outside the test suite")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ChangegateError(f"{ENV_TEST_PROCESSOR}={hook!r} cannot be loaded: {error}") from error
    is_factory = isinstance(found, type) or not hasattr(found, "process")
    processor: Processor = found() if is_factory else found
    log.warning("using a TEST processor from %s (test hook %s)", hook, ENV_TEST_PROCESSOR)
    return processor


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="Deliveries processed at once in this process.")
@click.option("--poll-interval", type=click.FloatRange(0.01, 60), default=1.0, show_default=True, metavar="SECONDS", help="Wait between inbox polls when it is empty.")
@click.option("--lease", type=click.FloatRange(1, 3600), default=60.0, show_default=True, metavar="SECONDS", help="How long a claimed delivery is reserved; processing is cancelled at 80%.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, help="Serve Prometheus metrics of this worker on 127.0.0.1:PORT.")
def command(concurrency: int, poll_interval: float, lease: float, metrics_port: int | None) -> int:
    """Process webhook deliveries from the inbox until SIGTERM or SIGINT.

    Database: CHANGEGATE_DATABASE_URL (PostgreSQL for several workers; it must be migrated).
    """
    configure_logging()
    inbox = SqlInbox.open(database_url())
    try:
        metrics = Metrics()
        if metrics_port is not None:
            start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
        processor = load_processor(metrics)
        asyncio.run(_run(inbox, processor, metrics, concurrency=concurrency,
                         poll_interval=poll_interval, lease=timedelta(seconds=lease)))
    finally:
        inbox.close()
    return 0


async def _run(
    inbox: SqlInbox,
    processor: Processor,
    metrics: Metrics,
    *,
    concurrency: int,
    poll_interval: float,
    lease: timedelta,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    name = default_worker_id()
    log.info("worker started", extra={"worker": name, "concurrency": concurrency})
    tasks = [
        asyncio.create_task(run_worker(
            inbox, processor, clock=_utc_now, stop_event=stop, poll_interval=poll_interval,
            lease=lease, worker_id=f"{name}/{number}", observer=metrics,
        ))
        for number in range(concurrency)
    ]
    processed = sum(await asyncio.gather(*tasks))
    log.info("worker stopped", extra={"worker": name, "processed": processed})


def _utc_now() -> datetime:
    return datetime.now(UTC)
