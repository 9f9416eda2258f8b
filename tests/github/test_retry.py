"""The retry schedule and GitHub's rate-limit rules, as pure functions."""

from __future__ import annotations

import email.utils

import pytest

from changegate.adapters.github.retry import (
    RetryPolicy,
    backoff_delay,
    network_retry_delay,
    rate_limit_wait,
    response_retry_delay,
)

POLICY = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_cap=8.0, max_wait=60)
NOW = 1_700_000_000.0


def test_backoff_doubles_with_jitter_within_half_to_full_and_is_capped() -> None:
    assert [backoff_delay(POLICY, n, 0.0) for n in (1, 2, 3, 4)] == [0.25, 0.5, 1.0, 2.0]
    assert [backoff_delay(POLICY, n, 0.999999) for n in (1, 2, 3)] == pytest.approx([0.5, 1.0, 2.0])
    assert backoff_delay(POLICY, 20, 0.0) == 4.0  # capped at 8, half of it fixed


def test_5xx_retried_until_attempts_run_out_but_never_a_post() -> None:
    assert response_retry_delay(POLICY, method="GET", status=502, attempt=1, jitter=0) == 0.25
    assert response_retry_delay(POLICY, method="PATCH", status=503, attempt=3, jitter=0) == 1.0
    assert response_retry_delay(POLICY, method="GET", status=502, attempt=4, jitter=0) is None
    assert response_retry_delay(POLICY, method="POST", status=502, attempt=1, jitter=0) is None
    assert response_retry_delay(POLICY, method="GET", status=404, attempt=1, jitter=0) is None


def test_network_errors_retry_a_post_only_when_it_was_never_sent() -> None:
    assert network_retry_delay(POLICY, method="POST", sent=False, attempt=1, jitter=0) == 0.25
    assert network_retry_delay(POLICY, method="POST", sent=True, attempt=1, jitter=0) is None
    assert network_retry_delay(POLICY, method="GET", sent=True, attempt=2, jitter=0) == 0.5
    assert network_retry_delay(POLICY, method="GET", sent=True, attempt=4, jitter=0) is None


def test_secondary_limit_waits_retry_after_seconds_or_until_the_http_date() -> None:
    wait = rate_limit_wait(403, {"retry-after": "7"}, now=NOW)
    assert wait is not None and (wait.seconds, wait.kind) == (7.0, "secondary")
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    wait = rate_limit_wait(429, {"retry-after": date}, now=NOW)
    assert wait is not None and wait.seconds == pytest.approx(30)


def test_primary_limit_waits_until_reset_plus_a_second() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 42))}
    wait = rate_limit_wait(403, headers, now=NOW)
    assert wait is not None and (wait.seconds, wait.kind) == (43.0, "primary")
    past = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW - 5))}
    wait = rate_limit_wait(429, past, now=NOW)
    assert wait is not None and wait.seconds == 1.0


def test_a_plain_403_is_not_a_rate_limit_but_a_bare_429_waits_a_minute() -> None:
    assert rate_limit_wait(403, {"x-ratelimit-remaining": "4999"}, now=NOW) is None
    assert rate_limit_wait(500, {"retry-after": "1"}, now=NOW) is None
    wait = rate_limit_wait(429, {}, now=NOW)
    assert wait is not None and wait.seconds == 60.0
