"""A scriptable traffic model: piecewise-constant request and error rates per Worker (and
optionally per version) over emulator time, turned into per-minute, per-version, per-status rows
for `workersInvocationsAdaptive`.

Script-wide traffic (version=None) is split over the versions of the deployment that is current
at each instant, by percentage. A version's own segment replaces that version's share.
Counts are integrated exactly over the overlap of each minute with the query window; each
version's running totals are rounded, so any run of consecutive minutes sums without drift.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MINUTE = dt.timedelta(minutes=1)
History = Sequence[tuple[dt.datetime, Sequence[tuple[str, float]]]]  # (created_on, versions), oldest first


@dataclass(frozen=True)
class Segment:
    start: dt.datetime
    requests_per_minute: float
    error_rate: float


class TrafficModel:
    def __init__(self) -> None:
        self.segments: dict[tuple[str, str | None], list[Segment]] = defaultdict(list)

    def set(self, script: str, version: str | None, start: dt.datetime, rpm: float, error_rate: float) -> None:
        if rpm < 0 or not 0 <= error_rate <= 1:
            raise ValueError("requests_per_minute must be >= 0 and error_rate within [0, 1]")
        timeline = self.segments[(script, version)]
        timeline[:] = [s for s in timeline if s.start < start]  # a new segment replaces what followed
        timeline.append(Segment(start, rpm, error_rate))

    def rows(self, script: str, start: dt.datetime, end: dt.datetime, history: History) -> list[dict[str, Any]]:
        """Fine-grained rows: {minute, version, status, requests, errors} with requests > 0."""
        if end <= start:
            return []
        own = {v: segs for (s, v), segs in self.segments.items() if s == script and v is not None}
        wide = self.segments.get((script, None), [])
        cuts = {start, end}
        for timeline in [wide, *own.values()]:
            cuts.update(s.start for s in timeline if start < s.start < end)
        cuts.update(moment for moment, _ in history if start < moment < end)
        minute = start.replace(second=0, microsecond=0) + MINUTE
        while minute < end:
            cuts.add(minute)
            minute += MINUTE
        points = sorted(cuts)
        requests: dict[tuple[dt.datetime, str | None], float] = defaultdict(float)
        errors: dict[tuple[dt.datetime, str | None], float] = defaultdict(float)
        for a, b in zip(points, points[1:], strict=False):
            minutes = (b - a) / MINUTE
            bucket = a.replace(second=0, microsecond=0)
            overrides = {v: seg for v, timeline in own.items() if (seg := _active(timeline, a)) is not None}
            for own_version, own_seg in overrides.items():
                requests[(bucket, own_version)] += own_seg.requests_per_minute * minutes
                errors[(bucket, own_version)] += own_seg.requests_per_minute * own_seg.error_rate * minutes
            seg = _active(wide, a)
            if seg is None:
                continue
            for version, pct in _split(history, a):
                if version in overrides:
                    continue
                requests[(bucket, version)] += seg.requests_per_minute * pct / 100 * minutes
                errors[(bucket, version)] += seg.requests_per_minute * seg.error_rate * pct / 100 * minutes
        out = []
        cumulative: dict[str | None, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for key in sorted(requests, key=lambda k: (k[0], k[1] or "")):
            # round the running totals, so sums over consecutive minutes stay exact (no drift)
            acc = cumulative[key[1]]
            before = (round(acc[0]), round(acc[1]))
            acc[0] += requests[key]
            acc[1] += errors[key]
            total = round(acc[0]) - before[0]
            failed = min(round(acc[1]) - before[1], total)
            for status, count, errs in (("success", total - failed, 0), ("scriptThrewException", failed, failed)):
                if count > 0:
                    out.append({"minute": key[0], "version": key[1], "status": status, "requests": count, "errors": errs})
        return out


def _active(timeline: list[Segment], moment: dt.datetime) -> Segment | None:
    current = None
    for seg in timeline:
        if seg.start <= moment:
            current = seg
    return current


def _split(history: History, moment: dt.datetime) -> Sequence[tuple[str | None, float]]:
    current: Sequence[tuple[str | None, float]] = [(None, 100.0)]
    for created_on, versions in history:
        if created_on <= moment:
            current = versions
    return current
