"""What every report derives the same way from an AuditResult: change IDs, finding counts, weeks."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter
from typing import Any

from changegate.core.audit_model import FINDINGS, AuditResult, Change

TYPES: tuple[str, ...] = ("standard", "significant", "emergency", "unknown")
INFORMATIONAL: frozenset[str] = frozenset({"UNDEPLOYED_CHANGE"})  # reported, but not an exception
UNLINKED_KEY = "unlinked_deployments"  # reconciliation list of deployments no change explains


def repository(result: AuditResult) -> str | None:
    """The "owner/name" the audit covers, if the summary or generated_by names it."""
    for source in (result.summary, result.generated_by):
        value = source.get("repository")
        if isinstance(value, str) and value:
            return value
    return None


def change_id(change: Change, repo: str | None) -> str:
    """A stable ID: `owner/name#PR`, `#PR` without a repository, else the commit SHA."""
    if change.pr is not None:
        return f"{repo}#{change.pr}" if repo else f"#{change.pr}"
    return change.sha


def exceptions_of(change: Change) -> list[str]:
    return [code for code in change.findings if code not in INFORMATIONAL]


def unlinked_deployments(result: AuditResult) -> list[Any]:
    value = result.reconciliation.get(UNLINKED_KEY)
    return list(value) if isinstance(value, list | tuple) else []


def finding_counts(result: AuditResult) -> Counter[str]:
    """Occurrences per finding code, known codes first in FINDINGS order.

    Unlinked deployments count as UNLINKED_DEPLOY when no change carries that code itself."""
    counts: Counter[str] = Counter()
    for change in result.changes:
        counts.update(change.findings)
    if not counts["UNLINKED_DEPLOY"] and unlinked_deployments(result):
        counts["UNLINKED_DEPLOY"] = len(unlinked_deployments(result))
    counts = +counts  # drop zeros
    order = {code: i for i, code in enumerate(FINDINGS)}
    return Counter(dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))))


def describe(code: str) -> str:
    return FINDINGS.get(code, "unknown finding code")


def iso_week(moment: dt.datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def week_total(row: dict[str, Any]) -> int:
    return sum(as_int(row.get(kind)) for kind in TYPES)


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def exception_rate(row: dict[str, Any]) -> float | None:
    """Exceptions ÷ changes for one week of `result.weekly`, or None for a week with no change."""
    total = week_total(row)
    return as_int(row.get("exceptions")) / total if total else None


def median_lead_hours_by_week(result: AuditResult) -> dict[str, float]:
    """Median lead time (first commit → production deploy) in hours, by the deploy's ISO week."""
    by_week: dict[str, list[float]] = {}
    for change in result.changes:
        seconds = change.as_dict()["lead_time_seconds"]
        if change.deployed_at is not None and isinstance(seconds, float) and seconds > 0:
            by_week.setdefault(iso_week(change.deployed_at), []).append(seconds / 3600)
    return {week: statistics.median(hours) for week, hours in sorted(by_week.items())}


def fmt_value(value: Any) -> str:
    """One line of text for a summary, DORA or reconciliation value."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def fmt_time(moment: dt.datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "—"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    hours = seconds / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def item_label(item: Any) -> str:
    """A reconciliation list item (a SHA, a deployment record, ...) as one line."""
    if isinstance(item, dict):
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in item.items())
    return fmt_value(item)


def sampled_changes(result: AuditResult) -> list[Change]:
    """The changes the sample selected: any list in `result.sample` naming SHAs (or prefixes) or change IDs."""
    repo = repository(result)
    wanted = [str(v) for value in result.sample.values() if isinstance(value, list) for v in value]
    chosen: list[Change] = []
    for change in result.changes:
        ident = change_id(change, repo)
        if any(w in (ident, change.sha) or (len(w) >= 7 and change.sha.startswith(w)) for w in wanted):
            chosen.append(change)
    return chosen
