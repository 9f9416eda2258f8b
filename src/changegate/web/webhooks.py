"""`POST /webhooks/github`: verify, bound, parse, and commit the delivery to the inbox.

Order of checks: signature header present (401) -> size (413, from Content-Length before
reading, and counted while streaming, so at most the limit is ever buffered) -> HMAC-SHA256 of
the raw body (401) -> X-GitHub-Event / X-GitHub-Delivery (400) -> JSON object (400). A `ping`
is answered 200 and not stored. Anything else is committed to the inbox before the answer:
202 for a new delivery, 200 for a redelivery of a stored one (not stored or processed again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from changegate.web.envelope import error_response

log = logging.getLogger("changegate.web")
DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
EVENT = re.compile(r"[a-z][a-z0-9_]{0,99}")
FORM = "application/x-www-form-urlencoded"


class Rejected(Exception):
    """A refused request; `unread`: the body was not (all) read, so the connection is closed
    after the answer rather than drained."""

    def __init__(self, status: int, error: str, *, unread: bool = False) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.unread = unread


def signature_of(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    expected = signature_of(secret, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("latin-1"))


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Rejected(400, f"Content-Length {declared[:40]!r} is not a number")
        if int(declared) > limit:
            raise Rejected(413, f"the body ({int(declared)} bytes) exceeds the {limit} byte limit", unread=True)
    body = bytearray()
    try:
        async for chunk in request.stream():
            if len(body) + len(chunk) > limit:
                raise Rejected(413, f"the body exceeds the {limit} byte limit", unread=True)
            body += chunk
    except ClientDisconnect:
        raise Rejected(400, "the client disconnected before sending the whole body") from None
    return bytes(body)


def _headers(request: Request) -> tuple[str, str]:
    event = request.headers.get("x-github-event", "").strip()
    delivery = request.headers.get("x-github-delivery", "").strip()
    if not event or not delivery:
        missing = [name for name, value in (("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery)) if not value]
        raise Rejected(400, f"missing {' and '.join(missing)} header: is this a GitHub webhook?")
    if not EVENT.fullmatch(event):
        raise Rejected(400, f"X-GitHub-Event {event[:100]!r} is not an event name")
    if not DELIVERY_ID.fullmatch(delivery):
        raise Rejected(400, f"X-GitHub-Delivery {delivery[:100]!r} is not a delivery id (a GUID)")
    return event, delivery


def _payload(request: Request, body: bytes) -> tuple[str, dict[str, Any]]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM:
        raise Rejected(400, "the webhook sends form-encoded bodies: set its content type to application/json")
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Rejected(400, f"the body is not valid UTF-8 JSON: {error}") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "the body is JSON but not an object")
    return text, payload


async def github_webhook(request: Request) -> Response:
    state = request.app.state
    fields: dict[str, Any] = {"delivery": request.headers.get("x-github-delivery", "")[:100],
                              "event": request.headers.get("x-github-event", "")[:100]}
    try:
        signature = request.headers.get("x-hub-signature-256")
        if not signature:
            raise Rejected(401, "missing X-Hub-Signature-256 header: give the GitHub webhook a secret (the value of CHANGEGATE_WEBHOOK_SECRET)", unread=True)
        body = await read_limited(request, state.settings.max_body_bytes)
        if not signature_matches(state.settings.webhook_secret, body, signature):
            raise Rejected(401, "X-Hub-Signature-256 does not match the body: the webhook's secret differs from CHANGEGATE_WEBHOOK_SECRET")
        event, delivery = _headers(request)
        text, payload = _payload(request, body)
    except Rejected as rejected:
        state.metrics.request_rejected(rejected.status)
        log.warning("webhook rejected", extra={**fields, "status": rejected.status, "reason": rejected.error})
        close = {"Connection": "close"} if rejected.unread else None
        return error_response(rejected.status, rejected.error, close)
    if event == "ping":
        log.info("webhook ping", extra={**fields, "status": 200})
        return JSONResponse({"ok": True, "status": 200, "event": "ping", "delivery": delivery})
    return await _store(request, event=event, delivery=delivery, text=text, payload=payload)


async def _store(
    request: Request, *, event: str, delivery: str, text: str, payload: dict[str, Any]
) -> Response:
    state = request.app.state
    raw_action = payload.get("action")
    action = raw_action if isinstance(raw_action, str) else None
    fields = {"delivery": delivery, "event": event, "action": action, "bytes": len(text)}
    try:
        new = await run_in_threadpool(state.inbox.accept, delivery, event, action, text, state.clock())
    except Exception as error:  # noqa: BLE001 - not stored: GitHub must see a failure
        state.metrics.request_rejected(503)
        log.error("webhook not stored", extra={**fields, "status": 503, "error": str(error)})
        return error_response(503, "the delivery could not be stored; redeliver it later")
    status = 202 if new else 200
    if new:
        state.metrics.delivery_received(event)
        state.wake.set()
    else:
        state.metrics.delivery_duplicate(event)
    log.info("webhook accepted" if new else "webhook redelivered", extra={**fields, "status": status})
    return JSONResponse({"ok": True, "status": status, "delivery": delivery, "duplicate": not new},
                        status_code=status)


routes = [Route("/webhooks/github", github_webhook, methods=["POST"])]
