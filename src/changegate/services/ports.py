"""Ports: the Protocols services depend on. Adapters implement them; wiring picks which."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol


class VerdictRecorder(Protocol):
    def record_verdict(
        self,
        *,
        repository: str,
        pr_number: int,
        head_sha: str,
        change_type: str,
        state: str,
        verdict: Mapping[str, Any],
        snapshot: Mapping[str, Any],
        policy_sha256: str,
        changegate_version: str,
        recorded_at: dt.datetime,
    ) -> int: ...
