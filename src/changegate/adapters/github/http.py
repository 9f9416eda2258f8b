"""The HTTP layer: gidgethub's httpx GitHubAPI with retries, rate-limit waits and counters.

Why gidgethub: it is sans-I/O (request headers, response decoding, Link pagination, ETag
conditional requests and error classes are pure functions in `gidgethub.sansio`) and is kept by
CPython's core developers for their own bots. Its `abc.GitHubAPI` drives one `_request(method,
url, headers, body)` hook per HTTP exchange, so we override just that hook: around
`gidgethub.httpx.GitHubAPI._request` we count every request, follow the rate-limit headers, wait
(through an injectable `sleep`) and retry, and turn a final non-2xx answer into a `GitHubError`
naming the operation, method, URL and GitHub's message. gidgethub itself then only ever sees
2xx and 304 answers; its own cache (handed our bounded `ETagCache`) sends `If-None-Match` and
reuses the stored body on 304.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import gidgethub.httpx
import httpx

from changegate.adapters.github.cache import ETagCache
from changegate.adapters.github.errors import GitHubError, RateLimitError, response_error
from changegate.adapters.github.retry import (
    RetryPolicy,
    network_retry_delay,
    rate_limit_wait,
    response_retry_delay,
)

log = logging.getLogger("changegate.github")

API_VERSION = "2022-11-28"
Response = tuple[int, Mapping[str, str], bytes]
Sleep = Callable[[float], Awaitable[None]]

_operation: contextvars.ContextVar[str] = contextvars.ContextVar("github_operation", default="request")
_endpoint: contextvars.ContextVar[str | None] = contextvars.ContextVar("github_endpoint", default=None)
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@contextlib.contextmanager
def labelled(*, endpoint: str, operation: str | None = None) -> Iterator[None]:
    """Name the requests made inside: `endpoint` ("GET /repos/{owner}/{repo}") for the
    per-endpoint counts, `operation` (the client method) for error messages."""
    endpoint_token = _endpoint.set(endpoint)
    operation_token = _operation.set(operation or _operation.get())
    try:
        yield
    finally:
        _operation.reset(operation_token)
        _endpoint.reset(endpoint_token)


class Transport(gidgethub.httpx.GitHubAPI):
    """One GitHub host. `calls`: every HTTP request sent (retries and 304s included);
    `not_modified`: 304 answers; `calls_by_endpoint`: `calls` split by endpoint template;
    `rate_limit_remaining`: GitHub's last `x-ratelimit-remaining` (None before any answer)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        requester: str,
        policy: RetryPolicy,
        cache: ETagCache,
        sleep: Sleep,
        clock: Callable[[], float],
        jitter: Callable[[], float],
    ) -> None:
        super().__init__(client, requester, cache=cache, base_url=base_url)
        self.policy = policy
        self.etag_cache = cache
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self.calls = 0
        self.not_modified = 0
        self.calls_by_endpoint: Counter[str] = Counter()
        self.rate_limit_remaining: int | None = None

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, calls={self.calls})"

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Response:
        sent_headers = {**headers, "x-github-api-version": API_VERSION}
        attempt = 0
        while True:
            attempt += 1
            response = await self._attempt(method, url, sent_headers, body, attempt)
            if response is None:
                continue  # a network error, already waited for
            delay = self._retry_delay(method, url, response, attempt)
            if delay is None:
                return self._accept(method, url, response)
            await self.sleep(delay)

    async def _attempt(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, attempt: int
    ) -> Response | None:
        self.calls += 1
        self.calls_by_endpoint[_endpoint.get() or f"{method} {url.split('?')[0]}"] += 1
        try:
            response: Response = await super()._request(method, url, headers, body)
        except httpx.TransportError as error:
            delay = network_retry_delay(
                self.policy, method=method, sent=not isinstance(error, _UNSENT),
                attempt=attempt, jitter=self._jitter(),
            )
            if delay is None:
                raise GitHubError(
                    f"GitHub {_operation.get()}: {method} {url} failed after {attempt} attempt(s): "
                    f"{type(error).__name__}: {error} (check the network and CHANGEGATE_GITHUB_API_URL)",
                    operation=_operation.get(), method=method, url=url,
                ) from error
            log.warning("GitHub %s %s: %s; retrying in %.1f s", method, url, type(error).__name__, delay)
            await self.sleep(delay)
            return None
        self._observe(response)
        return response

    def _observe(self, response: Response) -> None:
        status, headers, _ = response
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip().isdigit():
            self.rate_limit_remaining = int(remaining)
        if status == 304:
            self.not_modified += 1

    def _retry_delay(self, method: str, url: str, response: Response, attempt: int) -> float | None:
        status, headers, _ = response
        wait = rate_limit_wait(status, headers, now=self._clock())
        if wait is None:
            delay = response_retry_delay(
                self.policy, method=method, status=status, attempt=attempt, jitter=self._jitter()
            )
            if delay is not None:
                log.warning("GitHub %s %s returned %d; retrying in %.1f s", method, url, status, delay)
            return delay
        if wait.seconds > self.policy.max_wait or attempt >= self.policy.max_attempts:
            raise self._rate_limit_error(method, url, response, wait.seconds, wait.kind, attempt)
        log.warning("GitHub %s rate limit on %s %s; waiting %.1f s", wait.kind, method, url, wait.seconds)
        return wait.seconds

    def _rate_limit_error(
        self, method: str, url: str, response: Response, seconds: float, kind: str, attempt: int
    ) -> RateLimitError:
        status, headers, body = response
        base = response_error(
            operation=_operation.get(), method=method, url=url, status=status, headers=headers, body=body
        )
        why = (
            f"still limited after {attempt} attempts"
            if seconds <= self.policy.max_wait
            else f"it resets in {seconds:.0f} s, longer than the {self.policy.max_wait:.0f} s "
            "changegate may wait (CHANGEGATE_GITHUB_MAX_RATE_LIMIT_WAIT)"
        )
        return RateLimitError(
            f"GitHub {kind} rate limit exhausted: {base.github_message or status}; {why}. "
            f"Request: {method} {url}. Try again later or raise the limit (a GitHub App gets more).",
            operation=base.operation, method=method, url=url, status=status,
            github_message=base.github_message,
        )

    def _accept(self, method: str, url: str, response: Response) -> Response:
        status, headers, body = response
        if 200 <= status < 300 or status == 304:
            return response
        raise response_error(
            operation=_operation.get(), method=method, url=url, status=status, headers=headers, body=body
        )


def counters(transport: Transport) -> dict[str, Any]:
    """A diagnostics snapshot of the transport's counters."""
    return {
        "calls": transport.calls,
        "not_modified": transport.not_modified,
        "rate_limit_remaining": transport.rate_limit_remaining,
        "by_endpoint": dict(transport.calls_by_endpoint),
    }
