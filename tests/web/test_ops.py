"""/healthz, /readyz, /metrics, and structured logs without secrets."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from changegate.adapters.store.engine import create_store_engine
from changegate.adapters.store.inbox import SqlInbox
from changegate.services.inbox import RetryPolicy
from changegate.web.logs import REDACTED, JsonFormatter
from changegate.web.ops import Metrics
from tests.web.conftest import SECRET, MakeServer
from tests.web.payloads import body_of, example, github_headers
from tests.web.recording import RecordingProcessor
from tests.web.server import wait_for

UNREACHABLE = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nowhere?connect_timeout=2"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_and_readyz_when_the_database_answers(make_server: MakeServer) -> None:
    server = make_server()
    assert httpx.get(f"{server.url}/healthz").json() == {"ok": True, "status": 200}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


def test_readyz_is_503_with_the_reason_when_the_database_is_down(make_server: MakeServer) -> None:
    down = SqlInbox(create_store_engine(UNREACHABLE), owns_engine=True)
    try:
        server = make_server(store=down)
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        ready = httpx.get(f"{server.url}/readyz", timeout=15)
    finally:
        down.close()
    assert ready.status_code == 503
    envelope = ready.json()
    assert envelope["ok"] is False and envelope["status"] == 503
    assert "database unavailable" in envelope["error"] and "127.0.0.1:1" in envelope["error"]
    assert "hunter2" not in envelope["error"]


def test_metrics_count_deliveries_duplicates_processing_and_github_use(make_server: MakeServer) -> None:
    metrics = Metrics()
    recorder = RecordingProcessor(fail_times=1)
    server = make_server(recorder, metrics=metrics, retry=_fast_retry())
    body, delivery = body_of(example("push")), str(uuid.uuid4())
    url = f"{server.url}/webhooks/github"
    for _ in range(2):  # one new, one duplicate
        httpx.post(url, content=body, headers=github_headers("push", delivery, body, SECRET))
    httpx.post(url, content=body, headers=github_headers("push", str(uuid.uuid4()), body, "wrong"))
    wait_for(lambda: metrics.processed.labels(event="push")._value.get() == 1, what="processing")
    metrics.add_github_api_calls(3)
    metrics.set_github_rate_limit(4990, limit=5000)
    response = httpx.get(f"{server.url}/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("changegate_webhook_deliveries_received_total", (("event", "push"),))] == 1
    assert found[("changegate_webhook_deliveries_duplicate_total", (("event", "push"),))] == 1
    assert found[("changegate_webhook_requests_rejected_total", (("status", "401"),))] == 1
    assert found[("changegate_webhook_deliveries_processed_total", (("event", "push"),))] == 1
    assert found[("changegate_webhook_deliveries_failed_total", (("event", "push"), ("final", "false")))] == 1
    assert found[("changegate_webhook_processing_seconds_count", (("event", "push"),))] == 1
    assert found[("changegate_inbox_depth", ())] == 0
    assert found[("changegate_inbox_deliveries", (("state", "done"),))] == 1
    assert found[("changegate_github_api_calls_total", ())] == 3
    assert found[("changegate_github_rate_limit_remaining", ())] == 4990
    assert found[("changegate_github_rate_limit", ())] == 5000
    assert "python_gc_objects_collected_total" not in response.text  # a private registry


def _fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=3, base=timedelta(0))


def test_logs_are_json_and_never_hold_the_secret_signature_or_tokens(
    make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = RecordingProcessor(fail_times=1)
    server = make_server(recorder, retry=_fast_retry())
    body = body_of(example("pull_request", "opened"))
    headers = github_headers("pull_request", str(uuid.uuid4()), body, SECRET)
    token = "ghp_" + "A1b2" * 9
    url = f"{server.url}/webhooks/github"
    extra = {"Authorization": f"token {token}"}
    httpx.post(url, content=body, headers={**headers, **extra})
    httpx.post(url, content=body + b"\n", headers={**headers, **extra, "X-GitHub-Delivery": "x-1"})
    wait_for(lambda: len(recorder.calls) == 2, what="a failed then a successful attempt")
    wait_for(lambda: any(r.getMessage() == "delivery processed" for r in caplog.records), what="log")
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    messages = {record.getMessage() for record in caplog.records}
    assert {"webhook accepted", "webhook rejected", "delivery will be retried", "delivery processed"} <= messages
    for text in [caplog.text, *lines]:
        for secret in (SECRET, headers["X-Hub-Signature-256"], headers["X-Hub-Signature-256"][7:], token):
            assert secret not in text
    accepted = next(json.loads(line) for line in lines if '"webhook accepted"' in line)
    assert accepted["status"] == 202 and accepted["event"] == "pull_request" and accepted["level"] == "info"


def test_the_formatter_redacts_registered_secrets_and_secret_named_fields() -> None:
    formatter = JsonFormatter(secrets=(SECRET,))
    record = logging.makeLogRecord({"msg": f"oops {SECRET}", "signature": "sha256=abc", "token": "t"})
    line = formatter.format(record)
    assert SECRET not in line and "sha256=abc" not in line and line.count(REDACTED) == 3
