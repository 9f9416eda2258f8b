"""A gradual rollout's arithmetic. Pure.

A significant change of a Worker with `rollout: [10, 50, 100]` is uploaded as a new version, then
deployed step by step: at p% the deployment is [(new, p), (previous, 100 - p)], at 100% it is
[(new, 100)]. Each step is monitored before the next: an earlier step for the type's monitoring
time divided by the number of steps, the last (100%) step for the type's whole monitoring time,
so the procedure's post-deploy monitoring always runs at full traffic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def step_minutes(minutes: float, steps: Sequence[int], step: int) -> float:
    """Monitoring minutes of `step` (1-based) of `steps`."""
    return minutes if step >= len(steps) else minutes / len(steps)


def split(new: str, previous: str, percent: int) -> list[tuple[str, float]]:
    """The deployment's versions at `percent`% of the new version."""
    return [(new, 100.0)] if percent >= 100 else [(new, float(percent)), (previous, float(100 - percent))]


def share(deployment: Mapping[str, Any] | None, version_id: str | None) -> float:
    """The percentage of traffic `deployment` gives `version_id` (0 when it is not in it)."""
    versions = (deployment or {}).get("versions")
    for entry in versions if isinstance(versions, list) else []:
        if isinstance(entry, dict) and entry.get("version_id") == version_id and isinstance(entry.get("percentage"), int | float):
            return float(entry["percentage"])
    return 0.0


def reached(steps: Sequence[int], percent: float) -> int | None:
    """The step (1-based) whose percentage is `percent`; 0 for 0%; None when no step matches."""
    if percent == 0:
        return 0
    return next((index for index, step in enumerate(steps, start=1) if abs(step - percent) < 1e-9), None)


def encode(steps: Sequence[int]) -> str | None:
    return ",".join(str(step) for step in steps) or None


def decode(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else ()
