"""Post-deploy verification: key endpoints and the error rate, judged. Pure.

The procedure: "Check Cloudflare dashboard for error rates", "Verify key endpoints return
expected responses", "Monitor for 30 minutes post-deploy" (2 hours for significant changes).
"""

from __future__ import annotations

from dataclasses import dataclass

from changegate.core.policy import ErrorRate


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    status: int | None
    latency_ms: float
    detail: str


@dataclass(frozen=True)
class Traffic:
    requests: int
    errors: int

    @property
    def rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Judgement:
    healthy: bool
    reason: str


def judge_probes(results: list[ProbeResult]) -> Judgement:
    failed = [r for r in results if not r.ok]
    if failed:
        return Judgement(False, "endpoint check failed: " + "; ".join(f"{r.name}: {r.detail}" for r in failed))
    return Judgement(True, f"{len(results)} endpoint(s) as expected")


def judge_error_rate(now: Traffic, *, before: Traffic | None, limits: ErrorRate) -> Judgement:
    """Breach when the rate exceeds `max`, or rises more than `max_increase` over `before`.
    Fewer than `min_requests` requests are not judged (healthy, and it says so)."""
    if now.requests < limits.min_requests:
        return Judgement(True, f"{now.requests} request(s), fewer than {limits.min_requests}: error rate not judged")
    shown = f"error rate {now.rate:.2%} ({now.errors}/{now.requests})"
    if now.rate > limits.max:
        return Judgement(False, f"{shown} > {limits.max:.2%}")
    if before is not None and before.requests >= limits.min_requests and now.rate - before.rate > limits.max_increase:
        return Judgement(False, f"{shown} rose {now.rate - before.rate:.2%} over {before.rate:.2%} before the deploy (> {limits.max_increase:.2%})")
    return Judgement(True, f"{shown} within limits")
