"""HttpProber against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from changegate.adapters.probes import HttpProber, resolve_pointer, same_json
from changegate.core.policy import Endpoint

from .loopback import Loopback, Reply, free_port, json_reply, serve, text_reply


def slow() -> Reply:
    time.sleep(0.6)
    return 200, "text/plain", b"ok"


def hung() -> Reply:
    time.sleep(2.5)
    return 200, "text/plain", b"late"


@pytest.fixture(scope="module")
def app() -> Iterator[Loopback]:
    routes = {
        "GET /health": json_reply({"ok": True, "build": {"sha": "abc", "a/b": 1, "t~": [10, 20]}, "n": None}),
        "GET /down": json_reply({"ok": False}),
        "GET /boom": text_reply("internal error", 500),
        "GET /text": text_reply("all systems ok"),
        "GET /slow": slow,
        "GET /hung": hung,
        "POST /echo": text_reply("created", 201),
    }
    with serve(routes) as loopback:
        yield loopback


@pytest.fixture(scope="module")
def prober() -> Iterator[HttpProber]:
    with HttpProber() as prober:
        yield prober


def endpoint(app: Loopback, path: str, **fields: Any) -> Endpoint:
    return Endpoint(name=path.strip("/") or "root", url=app.url + path, **fields)


def test_a_healthy_endpoint_passes(app: Loopback, prober: HttpProber) -> None:
    result = prober.probe(endpoint(app, "/health", body_contains='"ok"', json_pointer="/ok", json_value=True))
    assert result.ok, result.detail
    assert result.status == 200
    assert result.detail.startswith("200 in ")
    assert result.latency_ms < 2000


def test_a_wrong_status_says_what_it_expected(app: Loopback, prober: HttpProber) -> None:
    result = prober.probe(endpoint(app, "/boom"))
    assert not result.ok
    assert result.status == 500
    assert result.detail == "expected 200, got 500"


def test_body_contains(app: Loopback, prober: HttpProber) -> None:
    assert prober.probe(endpoint(app, "/text", body_contains="systems ok")).ok
    result = prober.probe(endpoint(app, "/text", body_contains="healthy"))
    assert (result.ok, result.detail) == (False, "body lacks 'healthy'")


def test_json_pointer_value(app: Loopback, prober: HttpProber) -> None:
    result = prober.probe(endpoint(app, "/down", json_pointer="/ok", json_value=True))
    assert (result.ok, result.detail) == (False, "/ok is false, expected true")
    assert prober.probe(endpoint(app, "/health", json_pointer="/build/sha", json_value="abc")).ok
    assert prober.probe(endpoint(app, "/health", json_pointer="/build/a~1b", json_value=1)).ok
    assert prober.probe(endpoint(app, "/health", json_pointer="/build/t~0/1", json_value=20)).ok
    assert prober.probe(endpoint(app, "/health", json_pointer="/n", json_value=None)).ok  # explicit null
    assert prober.probe(endpoint(app, "/health", json_pointer="/build")).ok  # exists, any value


def test_json_pointer_failures(app: Loopback, prober: HttpProber) -> None:
    assert prober.probe(endpoint(app, "/health", json_pointer="/missing")).detail == "/missing is missing"
    assert prober.probe(endpoint(app, "/health", json_pointer="/build/a~1b", json_value=True)).detail == "/build/a~1b is 1, expected true"
    assert prober.probe(endpoint(app, "/text", json_pointer="/ok", json_value=True)).detail == "body is not JSON (expected /ok in it)"


def test_several_problems_are_all_reported(app: Loopback, prober: HttpProber) -> None:
    result = prober.probe(endpoint(app, "/boom", body_contains="fine"))
    assert result.detail == "expected 200, got 500; body lacks 'fine'"


def test_latency_budget(app: Loopback, prober: HttpProber) -> None:
    result = prober.probe(endpoint(app, "/slow", latency_ms=300))
    assert not result.ok
    assert result.status == 200
    assert result.latency_ms >= 600
    assert result.detail.startswith("took ") and result.detail.endswith(" ms > 300 ms")


def test_a_hung_endpoint_times_out_quickly(app: Loopback, prober: HttpProber) -> None:
    started = time.perf_counter()
    result = prober.probe(endpoint(app, "/hung", latency_ms=100))  # waits at most 2 x 100 ms + 1 s
    assert time.perf_counter() - started < 2.0
    assert (result.ok, result.status) == (False, None)
    assert result.detail.startswith("no answer within ") and result.detail.endswith(" ms (budget 100 ms)")


def test_method_and_headers_are_sent(app: Loopback, prober: HttpProber) -> None:
    result = prober.probe(endpoint(app, "/echo", method="POST", status=201, headers={"X-Probe": "yes"}))
    assert result.ok, result.detail
    sent = app.requests[-1]
    assert (sent["method"], sent["headers"]["X-Probe"]) == ("POST", "yes")


def test_connection_refused_is_a_failed_probe(prober: HttpProber) -> None:
    result = prober.probe(Endpoint(name="gone", url=f"http://127.0.0.1:{free_port()}/health", headers={"Authorization": "Bearer s3cret"}))
    assert (result.ok, result.status) == (False, None)
    assert result.detail == "request failed: connection refused"


def test_pointer_and_equality_rules() -> None:
    doc = {"a": [1, {"": "empty"}], "0": "zero"}
    assert resolve_pointer(doc, "") == doc
    assert resolve_pointer(doc, "/a/1/") == "empty"
    assert resolve_pointer(doc, "/0") == "zero"
    assert resolve_pointer(doc, "/a/01") is not resolve_pointer(doc, "/a/1")  # leading zeros are not indexes
    assert same_json(1, 1.0) and not same_json(True, 1) and not same_json(0, False) and not same_json("1", 1)
