"""Key-endpoint probes: one HTTP request per endpoint, judged against what the policy expects.

Checks, all reported together: the status (redirects are not followed: a 301 is an answer),
`body_contains`, `json_pointer` (RFC 6901) equal to `json_value` (with no `json_value` given,
the pointer must merely exist; an explicit `json_value: null` expects JSON null; true is not 1),
and the `latency_ms` budget. The request waits at most twice the budget plus a second, so a
hung endpoint fails quickly. Details never contain the URL or headers (they may hold secrets).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from changegate import __version__
from changegate.core.policy import Endpoint
from changegate.core.verification import ProbeResult

_MISSING = object()


class HttpProber:
    """Probes endpoints with one shared httpx client (pass one in to control transport)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._owns_client = client is None
        self._http = client or httpx.Client(follow_redirects=False, headers={"User-Agent": f"changegate/{__version__}"})

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> HttpProber:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def probe(self, endpoint: Endpoint) -> ProbeResult:
        timeout = min(2 * endpoint.latency_ms / 1000 + 1, 300.0)
        started = time.perf_counter()
        try:
            response = self._http.request(endpoint.method, endpoint.url, headers=endpoint.headers, timeout=timeout)
        except httpx.TimeoutException:
            took = (time.perf_counter() - started) * 1000
            return ProbeResult(endpoint.name, False, None, took, f"no answer within {took:.0f} ms (budget {endpoint.latency_ms} ms)")
        except httpx.HTTPError as error:
            took = (time.perf_counter() - started) * 1000
            return ProbeResult(endpoint.name, False, None, took, f"request failed: {_reason(error)}")
        took = (time.perf_counter() - started) * 1000
        problems = judge(endpoint, response, took)
        detail = "; ".join(problems) if problems else f"{response.status_code} in {took:.0f} ms"
        return ProbeResult(endpoint.name, not problems, response.status_code, took, detail)


def _reason(error: httpx.HTTPError) -> str:
    cause = error.__cause__ or error.__context__
    text = str(error) or (str(cause) if cause else "")
    if "Connection refused" in text or "ECONNREFUSED" in text:
        return "connection refused"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def judge(endpoint: Endpoint, response: httpx.Response, took_ms: float) -> list[str]:
    """Every way `response` misses what `endpoint` expects, as human lines (empty: as expected)."""
    problems = []
    if response.status_code != endpoint.status:
        problems.append(f"expected {endpoint.status}, got {response.status_code}")
    if endpoint.body_contains is not None and endpoint.body_contains not in response.text:
        problems.append(f"body lacks {endpoint.body_contains!r}")
    if endpoint.json_pointer is not None:
        problem = check_pointer(endpoint, response.content)
        if problem:
            problems.append(problem)
    if took_ms > endpoint.latency_ms:
        problems.append(f"took {took_ms:.0f} ms > {endpoint.latency_ms} ms")
    return problems


def check_pointer(endpoint: Endpoint, body: bytes) -> str | None:
    pointer = endpoint.json_pointer or ""
    try:
        document = json.loads(body)
    except ValueError:
        return f"body is not JSON (expected {pointer or 'the document'} in it)"
    try:
        value = resolve_pointer(document, pointer)
    except ValueError as error:
        return f"{pointer} is invalid: {error}"
    if value is _MISSING:
        return f"{pointer} is missing"
    if "json_value" not in endpoint.model_fields_set:
        return None
    if not same_json(value, endpoint.json_value):
        return f"{pointer or 'the body'} is {_show(value)}, expected {_show(endpoint.json_value)}"
    return None


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: "" is the whole document; "/a/0/b~1c" walks keys and array indexes (~1 is "/",
    ~0 is "~"). Returns `_MISSING` when a step does not exist; ValueError for a bad pointer."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise ValueError("a JSON pointer starts with '/'")
    value = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                return _MISSING
            value = value[token]
        elif isinstance(value, list):
            if not (token.isdigit() and (token == "0" or not token.startswith("0"))) or int(token) >= len(value):
                return _MISSING
            value = value[int(token)]
        else:
            return _MISSING
    return value


def same_json(got: Any, expected: Any) -> bool:
    """JSON equality: booleans equal only booleans; 1 equals 1.0; strings and null exactly."""
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, int | float) and isinstance(expected, int | float):
        return float(got) == float(expected)
    return type(got) is type(expected) and bool(got == expected)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
