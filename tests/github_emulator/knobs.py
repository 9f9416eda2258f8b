"""Realism knobs: rate-limit accounting and scripted failures (primary and secondary rate
limits, transient 502/503s). Uses the real clock: clients compare `x-ratelimit-reset` with it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class Refusal:
    status: int
    message: str
    headers: dict[str, str]


PRIMARY_MESSAGE = "API rate limit exceeded for installation ID 1. If you reach out to GitHub Support for help, please include the request ID."
SECONDARY_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."


class Knobs:
    def __init__(self, *, limit: int = 5000) -> None:
        self.lock = threading.Lock()
        self.limit = limit
        self.used = 0
        self.reset = int(time.time()) + 3600
        self._primary: list[tuple[int, float]] = []  # (status, reset_in) per scripted request
        self._secondary: list[tuple[int, int]] = []  # (status, retry_after)
        self._failures: list[tuple[str | None, int]] = []  # (path or None for any, status)

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def set_rate_limit(self, *, limit: int = 5000, remaining: int | None = None, reset_in: float = 3600) -> None:
        """Set the budget; once `remaining` reaches 0 every request is refused until `reset`."""
        with self.lock:
            self.limit = limit
            self.used = limit - (limit if remaining is None else remaining)
            self.reset = int(time.time() + reset_in)

    def primary_limit(self, count: int = 1, *, status: int = 403, reset_in: float = 1) -> None:
        """The next `count` requests hit the primary rate limit (403 or 429, remaining 0)."""
        with self.lock:
            self._primary.extend([(status, reset_in)] * count)

    def secondary_limit(self, count: int = 1, *, status: int = 403, retry_after: int = 1) -> None:
        """The next `count` requests hit a secondary rate limit (403 with `retry-after`)."""
        with self.lock:
            self._secondary.extend([(status, retry_after)] * count)

    def fail_next(self, count: int = 1, *, path: str | None = None, status: int = 502) -> None:
        """The next `count` requests to `path` (a concrete path; None: any) answer `status`."""
        with self.lock:
            self._failures.extend([(path, status)] * count)

    def failure_for(self, path: str) -> int | None:
        with self.lock:
            for index, (wanted, status) in enumerate(self._failures):
                if wanted is None or wanted == path:
                    del self._failures[index]
                    return status
            return None

    def refusal(self) -> Refusal | None:
        """A scripted or genuine rate-limit refusal for this request, or None."""
        with self.lock:
            now = time.time()
            if self._secondary:
                status, retry_after = self._secondary.pop(0)
                return Refusal(status, SECONDARY_MESSAGE, {"retry-after": str(retry_after)})
            if self._primary:
                status, reset_in = self._primary.pop(0)
                return Refusal(status, PRIMARY_MESSAGE, self._headers(0, int(now + reset_in)))
            if now >= self.reset:
                self.used, self.reset = 0, int(now) + 3600
            if self.remaining == 0:
                return Refusal(403, PRIMARY_MESSAGE, self._headers(0, self.reset))
            return None

    def spend(self) -> None:
        with self.lock:
            self.used += 1

    def headers(self) -> dict[str, str]:
        with self.lock:
            return self._headers(self.remaining, self.reset)

    def _headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-used": str(self.limit - remaining), "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core"}
