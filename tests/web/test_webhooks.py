"""POST /webhooks/github over real HTTP with real, schema-validated GitHub payloads."""

from __future__ import annotations

import json
import socket
import uuid

import httpx
import pytest

from changegate.adapters.store.inbox import SqlInbox
from tests.web.conftest import SECRET, MakeServer
from tests.web.payloads import (
    body_of,
    derived_deliveries,
    example,
    github_headers,
    real_deliveries,
    sign,
)
from tests.web.recording import RecordingProcessor
from tests.web.server import wait_for

LIMIT = 25 * 1024 * 1024


def post(url: str, event: str, body: bytes, *, delivery: str | None = None,
         secret: str | None = SECRET, **extra: str) -> httpx.Response:
    headers = {**github_headers(event, delivery or str(uuid.uuid4()), body, secret), **extra}
    return httpx.post(f"{url}/webhooks/github", content=body, headers=headers, timeout=30)


def test_every_real_and_derived_payload_is_accepted_and_processed(
    make_server: MakeServer, sqlite_inbox: SqlInbox
) -> None:
    recorder = RecordingProcessor()
    server = make_server(recorder)
    sent: dict[str, tuple[str, dict[str, object]]] = {}
    deliveries = real_deliveries() + derived_deliveries()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for event, payload in deliveries:
            delivery = str(uuid.uuid4())
            body = body_of(payload)
            response = client.post("/webhooks/github", content=body,
                                   headers=github_headers(event, delivery, body, SECRET))
            assert response.status_code == 202, response.text
            assert response.json() == {"ok": True, "status": 202, "delivery": delivery, "duplicate": False}
            sent[delivery] = (event, payload)
    wait_for(lambda: len(recorder.calls) >= len(sent), what="every delivery processed")
    assert {call.delivery_id for call in recorder.calls} == set(sent)
    for call in recorder.calls:
        event, payload = sent[call.delivery_id]
        assert (call.event, call.action, call.payload) == (event, payload.get("action"), payload)
    assert sqlite_inbox.counts()["done"] == len(sent)
    covered = {(event, payload.get("action")) for event, payload in deliveries}
    assert ("pull_request", "edited") in covered and ("deployment_protection_rule", "requested") in covered


def test_ping_is_answered_200_and_not_stored(make_server: MakeServer, sqlite_inbox: SqlInbox) -> None:
    server = make_server()
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1}).encode()
    response = post(server.url, "ping", body)
    assert response.status_code == 200 and response.json()["event"] == "ping"
    assert sum(sqlite_inbox.counts().values()) == 0


@pytest.mark.parametrize(("signature", "why"), [
    (None, "missing X-Hub-Signature-256"),
    ("sha256=" + "0" * 64, "does not match"),
    (sign("another secret", b"x"), "does not match"),
    ("sha1=0123", "does not match"),
    ("sha256=\u00e9", "does not match"),
])
def test_bad_or_missing_signature_is_401(make_server: MakeServer, sqlite_inbox: SqlInbox,
                                         signature: str | None, why: str) -> None:
    server = make_server()
    body = body_of(example("push"))
    headers = github_headers("push", str(uuid.uuid4()), body, secret=None)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = httpx.post(f"{server.url}/webhooks/github", content=body,
                          headers={k: v.encode("latin-1") for k, v in headers.items()})
    assert response.status_code == 401
    envelope = response.json()
    assert envelope["ok"] is False and envelope["status"] == 401 and why in envelope["error"]
    assert sum(sqlite_inbox.counts().values()) == 0


def test_signature_over_a_different_body_is_401(make_server: MakeServer) -> None:
    server = make_server()
    body = body_of(example("push"))
    headers = github_headers("push", str(uuid.uuid4()), body, SECRET)
    response = httpx.post(f"{server.url}/webhooks/github", content=body + b" ", headers=headers)
    assert response.status_code == 401


def test_replayed_delivery_is_stored_once_and_processed_once(
    make_server: MakeServer, sqlite_inbox: SqlInbox
) -> None:
    recorder = RecordingProcessor()
    server = make_server(recorder)
    body, delivery = body_of(example("pull_request", "opened")), str(uuid.uuid4())
    first = post(server.url, "pull_request", body, delivery=delivery)
    wait_for(lambda: recorder.calls, what="the first delivery processed")
    second = post(server.url, "pull_request", body, delivery=delivery)
    third = post(server.url, "pull_request", body, delivery=delivery)
    assert first.status_code == 202 and first.json()["duplicate"] is False
    assert second.status_code == third.status_code == 200 and second.json()["duplicate"] is True
    wait_for(lambda: sqlite_inbox.counts()["pending"] == 0, what="an empty inbox")
    assert recorder.delivery_ids() == [delivery]
    assert sum(sqlite_inbox.counts().values()) == 1


@pytest.mark.parametrize(("headers", "body", "why"), [
    ({}, b"{not json", "not valid UTF-8 JSON"),
    ({}, b"[1, 2]", "not an object"),
    ({}, b"\xff\xfe{}", "not valid UTF-8 JSON"),
    ({"X-GitHub-Event": ""}, b"{}", "missing X-GitHub-Event"),
    ({"X-GitHub-Delivery": ""}, b"{}", "missing X-GitHub-Delivery"),
    ({"X-GitHub-Delivery": "x" * 101}, b"{}", "not a delivery id"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"payload=%7B%7D", "application/json"),
])
def test_malformed_requests_are_400(make_server: MakeServer, headers: dict[str, str], body: bytes, why: str) -> None:
    server = make_server()
    response = post(server.url, "push", body, **headers)
    assert response.status_code == 400, response.text
    assert response.json() == {"ok": False, "error": response.json()["error"], "status": 400}
    assert why in response.json()["error"]


def test_unknown_paths_and_methods_use_the_envelope(make_server: MakeServer) -> None:
    server = make_server()
    missing = httpx.get(f"{server.url}/nope")
    wrong = httpx.get(f"{server.url}/webhooks/github")
    assert (missing.status_code, missing.json()["ok"], missing.json()["status"]) == (404, False, 404)
    assert (wrong.status_code, wrong.json()["status"]) == (405, 405)


def _raw_request(url: str, head: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    connection.sendall(head.encode("latin-1"))
    return connection


def _read_response(connection: socket.socket) -> tuple[int, bytes]:
    """(status, JSON body) of the response on a raw connection."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _head(url: str, body_headers: str, *, body_sample: bytes = b"{}") -> str:
    signature = sign(SECRET, body_sample)
    return (f"POST /webhooks/github HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\n"
            f"Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
            f"X-GitHub-Delivery: {uuid.uuid4()}\r\nX-Hub-Signature-256: {signature}\r\n{body_headers}\r\n")


def test_oversized_content_length_is_413_before_the_body_is_sent(make_server: MakeServer) -> None:
    server = make_server()
    connection = _raw_request(server.url, _head(server.url, f"Content-Length: {LIMIT + 1}\r\n"))
    with connection:
        connection.sendall(b"{" * 1024)  # 1 KB of 25 MB: the answer comes anyway
        status, data = _read_response(connection)
    assert status == 413, data
    assert json.loads(data)["status"] == 413


def test_oversized_chunked_body_is_413_after_the_limit_not_the_end(make_server: MakeServer) -> None:
    server = make_server()
    connection = _raw_request(server.url, _head(server.url, "Transfer-Encoding: chunked\r\n"))
    chunk = b"x" * (1024 * 1024)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    status = 0
    with connection:
        connection.settimeout(0.5)
        try:
            while sent < 60 * len(chunk):  # up to 60 MB; the server must stop us near 25 MB
                connection.sendall(framed)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        connection.settimeout(10)
        status, _data = _read_response(connection)
    assert status == 413
    assert sent < 40 * len(chunk), f"sent {sent} bytes before the server refused"
