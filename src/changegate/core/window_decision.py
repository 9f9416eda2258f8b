"""Deployment-window decisions: open or closed at an instant, and why, in one sentence. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from changegate.core.policy import WEEKDAYS, ChangeType, HourRange, Policy
from changegate.core.windows import (
    HORIZON,
    Closure,
    WindowRules,
    closes_at_for,
    closure_at,
    localize,
    next_open_for,
    require_aware,
    window_rules,
)


@dataclass(frozen=True)
class WindowDecision:
    """Whether `change_type` may deploy at an instant, and why, in one sentence.

    `next_open` is None when the window is open now, or when it does not open within HORIZON;
    `closes_at` is None when the window is closed, or stays open beyond HORIZON (e.g. always).
    """

    change_type: ChangeType
    window: str
    open: bool
    reason: str
    next_open: dt.datetime | None
    closes_at: dt.datetime | None


def decide(policy: Policy, change_type: ChangeType, at: dt.datetime) -> WindowDecision:
    """Decide whether `change_type` may deploy at `at`, with a one-line human reason."""
    rules = window_rules(policy, change_type)
    at = require_aware(at, "at")
    closure = closure_at(rules, at)
    if closure is None:
        closes = closes_at_for(rules, at)
        reason = _open_reason(rules, at, closes)
        return WindowDecision(change_type, rules.window_name, True, reason, None, closes)
    opens = next_open_for(rules, at)
    reason = _closed_reason(rules, at, closure, opens)
    return WindowDecision(change_type, rules.window_name, False, reason, opens, None)


def _open_reason(rules: WindowRules, at: dt.datetime, closes: dt.datetime | None) -> str:
    when = _human(at, rules.tz)
    text = f"{_deploys(rules)}; " + (
        f"open at {when}." if rules.window.always else f"{when} is within them."
    )
    if closes is None:
        return text
    freezes = ", ".join(repr(f.name) for start, _, f in rules.freezes if start == closes)
    cause = f" (freeze {freezes})" if freezes else ""
    return f"{text} Closes: {_human(closes, rules.tz)}{cause}."


def _closed_reason(
    rules: WindowRules, at: dt.datetime, closure: Closure, opens: dt.datetime | None
) -> str:
    when = _human(at, rules.tz)
    if closure.freeze is not None:
        freeze = closure.freeze
        why = f" ({freeze.reason})" if freeze.reason else ""
        text = (
            f"{rules.change_type.value.capitalize()} changes are frozen by freeze "
            f"{freeze.name!r}{why} from {_human(localize(freeze.start, rules.tz), rules.tz)} to "
            f"{_human(localize(freeze.end, rules.tz), rules.tz)}; {when} is inside it."
        )
    elif closure.kind == "holiday":
        text = (
            f"{_deploys(rules)}; closed: {_day(at, rules.tz)} is {closure.detail} "
            f"(public holiday, {_calendar_name(rules)})."
        )
    else:
        text = f"{_deploys(rules)}; {when} is outside them."
    if opens is None:
        return f"{text} Not open within the next {HORIZON.days} days."
    return f"{text} Next open: {_human(opens, rules.tz)}."


def _calendar_name(rules: WindowRules) -> str:
    return "/".join(filter(None, (rules.calendar.country, rules.calendar.subdivision)))


def _deploys(rules: WindowRules) -> str:
    kind = rules.change_type.value.capitalize()
    label = rules.window_name.replace("_", " ")
    if rules.window.always:
        return f"{kind} changes may deploy at any time (window {rules.window_name!r})"
    hours = ", ".join(_hours_text(r) for r in rules.window.hours)
    return f"{kind} changes deploy in {label} ({hours or 'no hours listed'} {rules.tz.key})"


def _hours_text(hours: HourRange) -> str:
    indices = sorted({WEEKDAYS.index(d) for d in hours.days})
    names = [WEEKDAYS[i].capitalize() for i in indices]
    consecutive = indices == list(range(indices[0], indices[-1] + 1))
    span = f"{names[0]}-{names[-1]}" if consecutive and len(names) > 2 else ", ".join(names)
    return f"{span} {hours.start}-{hours.end}"


def _day(at: dt.datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%A} {local.day} {local:%b %Y}"


def _human(at: dt.datetime | None, tz: ZoneInfo) -> str:
    """E.g. 'Saturday 28 Nov 2026 10:00 AEDT' (seconds shown only when not zero)."""
    if at is None:
        return "never"
    local = at.astimezone(tz)
    clock = f"{local:%H:%M:%S}" if local.second or local.microsecond else f"{local:%H:%M}"
    return f"{_day(local, tz)} {clock} {local:%Z}"
