"""Deployment windows: is a change type allowed to deploy at an instant, and when next?

Pure: no I/O, never reads the clock; every instant is a parameter and must be time-zone aware.
Wall-clock rules (weekday hours, public holidays) are read in the policy's `timezone`; all
arithmetic is done on UTC instants, so DST gaps and repeated hours are handled exactly.

The open set changes only at *boundaries*: a range's start or end on a local day (both occurrences
of a repeated wall time), local midnight, a UTC-offset transition (the end of a DST gap, or the
start of a repeated hour) and a freeze's start or end. `next_open` and `closes_at` walk those
boundaries in order, day by day, for at most `HORIZON` (400 days) past the given instant.
Instants returned by this module are in UTC, except that `next_open` returns `after` itself
when the window is already open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from changegate.core.policy import (
    WEEKDAYS,
    ChangeType,
    Freeze,
    HolidayCalendar,
    Policy,
    Window,
)
from changegate.errors import ChangegateError

HORIZON = dt.timedelta(days=400)  # how far next_open and closes_at look before answering None

_UTC = dt.UTC
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class WindowRules:
    change_type: ChangeType
    window_name: str
    window: Window
    tz: ZoneInfo
    calendar: HolidayCalendar
    freezes: tuple[tuple[dt.datetime, dt.datetime, Freeze], ...]


@dataclass(frozen=True)
class Closure:
    kind: str  # "freeze" | "holiday" | "hours"
    detail: str = ""
    freeze: Freeze | None = None


def is_open(policy: Policy, change_type: ChangeType, at: dt.datetime) -> bool:
    """True when `change_type` may deploy at the aware instant `at`."""
    return closure_at(window_rules(policy, change_type), require_aware(at, "at")) is None


def next_open(policy: Policy, change_type: ChangeType, after: dt.datetime) -> dt.datetime | None:
    """The earliest instant >= `after` at which the window is open (`after` itself if open now).

    None when the window does not open within HORIZON (400 days) of `after`.
    """
    return next_open_for(window_rules(policy, change_type), require_aware(after, "after"))


# --- rules -------------------------------------------------------------------------------------


def require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone aware datetime, got naive {value}")
    return value


def window_rules(policy: Policy, change_type: ChangeType) -> WindowRules:
    name = policy.types.of(change_type).window
    window = policy.windows.get(name)
    if window is None:
        defined = ", ".join(sorted(policy.windows)) or "none"
        raise ChangegateError(
            f"policy: types.{change_type.value}.window names {name!r}, which is not defined "
            f"under windows (defined: {defined}); define it or name one of those"
        )
    tz = _zone(policy.timezone)
    freezes = tuple(
        (localize(f.start, tz), localize(f.end, tz), f)
        for f in policy.freezes
        if change_type in f.types
    )
    return WindowRules(change_type, name, window, tz, policy.holidays, freezes)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ChangegateError(
            f"policy: timezone {name!r} is not an IANA time zone; use e.g. Australia/Sydney"
        ) from error


def localize(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A freeze instant in UTC; a naive value is wall time in the policy's zone."""
    aware = value.replace(tzinfo=tz) if value.tzinfo is None else value
    return aware.astimezone(_UTC)


@lru_cache(maxsize=256)
def _holiday_names(country: str, subdivision: str | None, year: int) -> Mapping[dt.date, str]:
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as error:
        raise ChangegateError(
            f"policy: holidays {country}/{subdivision}: {error}; use an ISO 3166 country code "
            "and subdivision the `holidays` package knows, e.g. AU / NSW"
        ) from error
    return {day: str(name) for day, name in calendar.items()}


def holiday_name(calendar: HolidayCalendar, day: dt.date) -> str | None:
    return _holiday_names(calendar.country, calendar.subdivision, day.year).get(day)


# --- the open set ------------------------------------------------------------------------------


def closure_at(rules: WindowRules, at: dt.datetime) -> Closure | None:
    """None when open at `at`; otherwise why it is closed (a freeze wins, then a holiday)."""
    for start, end, freeze in rules.freezes:
        if start <= at < end:
            return Closure("freeze", freeze=freeze)
    if rules.window.always:
        return None
    local = at.astimezone(rules.tz)
    weekday = WEEKDAYS[local.weekday()]
    minute = local.hour * 60 + local.minute
    ranges = [r for r in rules.window.hours if weekday in r.days]
    in_hours = any(r.start_minute <= minute < r.end_minute for r in ranges)
    if ranges and rules.window.exclude_public_holidays:
        name = holiday_name(rules.calendar, local.date())
        if name is not None:
            return Closure("holiday", name)
    return None if in_hours else Closure("hours")


def next_open_for(rules: WindowRules, after: dt.datetime) -> dt.datetime | None:
    if closure_at(rules, after) is None:
        return after
    return next((b for b in _boundaries(rules, after) if closure_at(rules, b) is None), None)


def closes_at_for(rules: WindowRules, at: dt.datetime) -> dt.datetime | None:
    return next((b for b in _boundaries(rules, at) if closure_at(rules, b) is not None), None)


def _boundaries(rules: WindowRules, start: dt.datetime) -> Iterator[dt.datetime]:
    """Every instant in (start, start + HORIZON] at which the open set may change, ascending."""
    start = start.astimezone(_UTC)
    limit = start + HORIZON
    freeze_points = sorted({p for s, e, _ in rules.freezes for p in (s, e)})
    if rules.window.always:
        yield from (p for p in freeze_points if start < p <= limit)
        return
    by_day: dict[dt.date, list[dt.datetime]] = {}
    for point in freeze_points:
        by_day.setdefault(point.astimezone(rules.tz).date(), []).append(point)
    day, last_day = start.astimezone(rules.tz).date(), limit.astimezone(rules.tz).date()
    while day <= last_day:
        for point in sorted(set(_day_points(rules, day) + by_day.get(day, []))):
            if point > limit:
                return
            if point > start:
                yield point
        day += _DAY


def _day_points(rules: WindowRules, day: dt.date) -> list[dt.datetime]:
    weekday = WEEKDAYS[day.weekday()]
    points = _wall_instants(rules.tz, day, 0) + _transitions(rules.tz, day)
    for hours in rules.window.hours:
        if weekday in hours.days:
            points += _wall_instants(rules.tz, day, hours.start_minute)
            points += _wall_instants(rules.tz, day, hours.end_minute)
    return points


def _wall_instants(tz: ZoneInfo, day: dt.date, minute: int) -> list[dt.datetime]:
    """The UTC instants at which local wall time reads `minute` on `day` (0, 1 or 2 of them)."""
    if minute >= 24 * 60:
        day, minute = day + _DAY, minute - 24 * 60
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(_UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return found


def _midnights(tz: ZoneInfo, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Rough UTC bounds of a local day (fold 0 of 00:00 on `day` and on the next day)."""
    first = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(_UTC)
    return first, dt.datetime.combine(day + _DAY, dt.time(), tzinfo=tz).astimezone(_UTC)


def _transitions(tz: ZoneInfo, day: dt.date) -> list[dt.datetime]:
    """The UTC-offset change on local `day`, if any (found by bisection on whole seconds)."""
    first, last = _midnights(tz, day)
    low = int(first.timestamp()) - 3 * 3600
    high = int(last.timestamp()) + 3 * 3600
    before = dt.datetime.fromtimestamp(low, tz).utcoffset()
    if before == dt.datetime.fromtimestamp(high, tz).utcoffset():
        return []
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    change = dt.datetime.fromtimestamp(high, _UTC)
    return [change] if change.astimezone(tz).date() == day else []
