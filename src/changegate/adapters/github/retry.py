"""When to retry a GitHub request and how long to wait: pure functions of the response.

GitHub's rules (docs "Rate limits for the REST API"): a 403/429 with `retry-after` is a
secondary limit, wait that many seconds; a 403/429 with `x-ratelimit-remaining: 0` is the
primary limit, wait until `x-ratelimit-reset`; a 429 with neither, wait a minute. 5xx answers
and network errors are retried with exponential backoff and jitter, a bounded number of times.
POST creates things, so it is retried only when GitHub provably did not act on it (a rate-limit
rejection, or a connection that never opened).
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass

RATE_LIMIT_STATUSES = (403, 429)
_NO_HEADER_429_WAIT = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try; `max_wait` bounds one rate-limit wait (seconds)."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_wait: float = 60.0


@dataclass(frozen=True)
class RateLimitWait:
    seconds: float
    kind: str  # "secondary" | "primary"


def backoff_delay(policy: RetryPolicy, attempt: int, jitter: float) -> float:
    """Seconds before retry number `attempt` (1-based): exponential, capped, with "equal
    jitter" (half fixed, half random; `jitter` in [0, 1))."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
    return float(ceiling / 2 + ceiling / 2 * jitter)


def rate_limit_wait(status: int, headers: Mapping[str, str], *, now: float) -> RateLimitWait | None:
    """How long GitHub asks us to wait, if this response is a rate-limit rejection."""
    if status not in RATE_LIMIT_STATUSES:
        return None
    retry_after = _retry_after(headers.get("retry-after"), now=now)
    if retry_after is not None:
        return RateLimitWait(retry_after, "secondary")
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        try:
            reset = float(headers.get("x-ratelimit-reset", ""))
        except ValueError:
            reset = now + _NO_HEADER_429_WAIT
        return RateLimitWait(max(0.0, reset - now) + 1.0, "primary")
    if status == 429:
        return RateLimitWait(_NO_HEADER_429_WAIT, "secondary")
    return None


def response_retry_delay(
    policy: RetryPolicy, *, method: str, status: int, attempt: int, jitter: float
) -> float | None:
    """Backoff before retrying a 5xx answer, or None when the answer stands."""
    if attempt >= policy.max_attempts or status < 500 or method == "POST":
        return None
    return backoff_delay(policy, attempt, jitter)


def network_retry_delay(
    policy: RetryPolicy, *, method: str, sent: bool, attempt: int, jitter: float
) -> float | None:
    """Backoff before retrying after a network error, or None to give up. `sent`: the request
    may have reached GitHub (a POST is then not repeated)."""
    if attempt >= policy.max_attempts or (sent and method == "POST"):
        return None
    return backoff_delay(policy, attempt, jitter)


def _retry_after(value: str | None, *, now: float) -> float | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return _NO_HEADER_429_WAIT
    return max(0.0, when.timestamp() - now)
