"""`changegate serve`: the webhook endpoint and operations endpoints under uvicorn."""

from __future__ import annotations

import logging
from datetime import timedelta

import click
import uvicorn

from changegate.adapters.store.inbox import SqlInbox
from changegate.cli.worker import load_processor
from changegate.settings import database_url
from changegate.web.app import WebSettings, create_app, webhook_secret
from changegate.web.logs import configure_logging
from changegate.web.ops import Metrics

log = logging.getLogger("changegate.web")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on (0: any free port; the log names it).")
@click.option("--no-worker", is_flag=True, help="Only accept deliveries; `changegate worker` processes them.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="In-process worker tasks.")
@click.option("--poll-interval", type=click.FloatRange(0.01, 60), default=1.0, show_default=True, metavar="SECONDS", help="Worker wait between inbox polls when it is empty.")
@click.option("--lease", type=click.FloatRange(1, 3600), default=60.0, show_default=True, metavar="SECONDS", help="How long a claimed delivery is reserved; processing is cancelled at 80%.")
def command(
    host: str, port: int, no_worker: bool, concurrency: int, poll_interval: float, lease: float
) -> int:
    """Serve POST /webhooks/github, /healthz, /readyz and /metrics.

    Needs CHANGEGATE_WEBHOOK_SECRET. Deliveries are committed to the inbox in the database
    (CHANGEGATE_DATABASE_URL) before GitHub gets its 2xx, then processed by an in-process
    worker (unless --no-worker).
    """
    secret = webhook_secret()
    configure_logging(secrets=(secret,))
    inbox = SqlInbox.open(database_url())
    try:
        metrics = Metrics()
        processor = None if no_worker else load_processor(metrics)
        settings = WebSettings(webhook_secret=secret, workers=concurrency,
                               poll_interval=poll_interval, lease=timedelta(seconds=lease))
        app = create_app(settings, processor=processor, store=inbox, metrics=metrics)
        config = uvicorn.Config(app, host=host, port=port, log_config=None, ws="none",
                                lifespan="on", timeout_graceful_shutdown=15,
                                server_header=False)
        server = uvicorn.Server(config)
        server.run()
    finally:
        inbox.close()
    return 0 if server.started else 1
