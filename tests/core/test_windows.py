"""Deployment windows: business hours in Australia/Sydney, public holidays, freezes and DST."""

from __future__ import annotations

import copy
import datetime as dt
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from changegate.core.policy import ChangeType, Policy
from changegate.core.window_decision import WindowDecision, decide
from changegate.core.windows import HORIZON, is_open, next_open
from changegate.errors import ChangegateError

SYDNEY = ZoneInfo("Australia/Sydney")
UTC = dt.UTC
STANDARD, SIGNIFICANT, EMERGENCY = ChangeType.STANDARD, ChangeType.SIGNIFICANT, ChangeType.EMERGENCY
RAW_DEFAULT: dict[str, Any] = yaml.safe_load(
    (resources.files("changegate") / "data" / "default-policy.yml").read_text(encoding="utf-8")
)
DEFAULT = Policy.model_validate(RAW_DEFAULT)


def policy_with(
    *, hours: list[dict[str, Any]] | None = None, **changes: Any
) -> Policy:
    """The default policy with top-level keys replaced and/or business hours redefined."""
    raw = copy.deepcopy(RAW_DEFAULT)
    raw.update(changes)
    if hours is not None:
        raw["windows"]["business_hours"] = {"hours": hours, "exclude_public_holidays": False}
    return Policy.model_validate(raw)


YEAR_END = {
    "name": "year-end",
    "start": "2026-12-24T00:00",  # naive: Sydney wall time
    "end": "2027-01-05T00:00",
    "reason": "Holiday shutdown",
}
FROZEN = policy_with(freezes=[YEAR_END])
SUNDAYS = ["sun"]
# Sun 4 Oct 2026: 02:00 AEST -> 03:00 AEDT (gap). Sun 5 Apr 2026: 03:00 AEDT -> 02:00 AEST.
IN_GAP = policy_with(hours=[{"days": SUNDAYS, "start": "02:30", "end": "04:00"}])
ALL_IN_GAP = policy_with(hours=[{"days": SUNDAYS, "start": "02:00", "end": "02:45"}])
REPEATED = policy_with(hours=[{"days": SUNDAYS, "start": "02:00", "end": "02:30"}])
ACROSS = policy_with(hours=[{"days": SUNDAYS, "start": "01:00", "end": "02:30"}])
NEVER = policy_with(hours=[{"days": ["sat"], "start": "10:00", "end": "10:00"}])


def syd(text: str) -> dt.datetime:
    """Sydney wall time -> aware instant (fold=0 for a repeated time)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SYDNEY)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def same(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.timestamp() == b.timestamp()


def test_nsw_holidays_around_the_dst_changes_are_what_the_table_assumes() -> None:
    nsw = holidays.country_holidays("AU", subdiv="NSW", years=[2026, 2027])
    assert nsw.get(dt.date(2026, 4, 3)) == "Good Friday"
    assert nsw.get(dt.date(2026, 4, 6)) == "Easter Monday"
    assert dt.date(2026, 4, 2) not in nsw and dt.date(2026, 4, 7) not in nsw
    assert nsw.get(dt.date(2026, 10, 5)) == "Labor Day"
    assert dt.date(2026, 10, 2) not in nsw and dt.date(2026, 10, 6) not in nsw
    assert nsw.get(dt.date(2026, 12, 25)) == "Christmas Day"  # a Friday
    assert nsw.get(dt.date(2026, 12, 26)) == "Boxing Day"  # a Saturday
    assert nsw.get(dt.date(2026, 12, 28)) == "Boxing Day (observed)"  # Monday
    assert dt.date(2026, 12, 29) not in nsw


# (policy, type, at, open, next_open (None: open now / never), closes_at, words in the reason)
CASES: list[tuple[str, Policy, ChangeType, dt.datetime, bool, Any, Any, list[str]]] = [
    ("saturday", DEFAULT, SIGNIFICANT, syd("2026-11-28T10:00"), False,
     syd("2026-11-30T09:00"), None,
     ["Mon-Fri 09:00-17:00 Australia/Sydney", "Saturday 28 Nov 2026 10:00 AEDT is outside",
      "Next open: Monday 30 Nov 2026 09:00 AEDT."]),
    ("christmas", DEFAULT, SIGNIFICANT, syd("2026-12-25T10:00"), False,
     syd("2026-12-29T09:00"), None,
     ["closed: Friday 25 Dec 2026 is Christmas Day (public holiday, AU/NSW)",
      "Next open: Tuesday 29 Dec 2026 09:00 AEDT."]),
    ("christmas evening", DEFAULT, SIGNIFICANT, syd("2026-12-25T20:00"), False,
     syd("2026-12-29T09:00"), None, ["Christmas Day"]),
    # DST ends Sun 5 Apr 2026; Fri 3 Apr is Good Friday and Mon 6 Apr Easter Monday.
    ("thu before dst end 08:59", DEFAULT, SIGNIFICANT, syd("2026-04-02T08:59"), False,
     utc("2026-04-01T22:00"), None, ["08:59 AEDT is outside"]),
    ("thu before dst end 09:00", DEFAULT, SIGNIFICANT, syd("2026-04-02T09:00"), True,
     None, utc("2026-04-02T06:00"), ["09:00 AEDT is within", "Closes: Thursday 2 Apr 2026 17:00"]),
    ("thu 16:59", DEFAULT, SIGNIFICANT, syd("2026-04-02T16:59:59"), True,
     None, syd("2026-04-02T17:00"), ["16:59:59 AEDT is within"]),
    ("thu 17:00 -> tue after easter", DEFAULT, SIGNIFICANT, syd("2026-04-02T17:00"), False,
     utc("2026-04-06T23:00"), None, ["Next open: Tuesday 7 Apr 2026 09:00 AEST."]),
    ("good friday", DEFAULT, SIGNIFICANT, syd("2026-04-03T09:00"), False,
     syd("2026-04-07T09:00"), None, ["Good Friday (public holiday, AU/NSW)"]),
    ("easter monday", DEFAULT, SIGNIFICANT, syd("2026-04-06T09:00"), False,
     syd("2026-04-07T09:00"), None, ["Monday 6 Apr 2026 is Easter Monday"]),
    ("tue after dst end 08:59", DEFAULT, SIGNIFICANT, syd("2026-04-07T08:59"), False,
     utc("2026-04-06T23:00"), None, ["08:59 AEST is outside"]),
    ("tue after dst end 09:00", DEFAULT, SIGNIFICANT, syd("2026-04-07T09:00"), True,
     None, utc("2026-04-07T07:00"), ["09:00 AEST is within"]),
    # DST starts Sun 4 Oct 2026; Mon 5 Oct is Labour Day.
    ("fri before dst start 08:59", DEFAULT, SIGNIFICANT, syd("2026-10-02T08:59"), False,
     utc("2026-10-01T23:00"), None, ["08:59 AEST is outside"]),
    ("fri before dst start 09:00", DEFAULT, SIGNIFICANT, syd("2026-10-02T09:00"), True,
     None, utc("2026-10-02T07:00"), []),
    ("fri 16:59", DEFAULT, SIGNIFICANT, syd("2026-10-02T16:59"), True,
     None, syd("2026-10-02T17:00"), []),
    ("fri 17:00 -> tue after labour day", DEFAULT, SIGNIFICANT, syd("2026-10-02T17:00"), False,
     utc("2026-10-05T22:00"), None, ["Next open: Tuesday 6 Oct 2026 09:00 AEDT."]),
    ("labour day", DEFAULT, SIGNIFICANT, syd("2026-10-05T10:00"), False,
     syd("2026-10-06T09:00"), None, ["Labor Day (public holiday, AU/NSW)"]),
    ("tue after dst start 08:59", DEFAULT, SIGNIFICANT, syd("2026-10-06T08:59"), False,
     utc("2026-10-05T22:00"), None, ["08:59 AEDT"]),
    ("tue after dst start 09:00", DEFAULT, SIGNIFICANT, syd("2026-10-06T09:00"), True,
     None, utc("2026-10-06T06:00"), []),
    ("standard on saturday night", DEFAULT, STANDARD, syd("2026-11-28T03:00"), True,
     None, None, ["Standard changes may deploy at any time", "'any_time'"]),
    ("standard on christmas", DEFAULT, STANDARD, syd("2026-12-25T10:00"), True, None, None, []),
    ("emergency on christmas", DEFAULT, EMERGENCY, syd("2026-12-25T03:00"), True, None, None,
     ["Emergency changes may deploy at any time"]),
    ("standard in the freeze", FROZEN, STANDARD, syd("2026-12-24T10:00"), False,
     syd("2027-01-05T00:00"), None,
     ["freeze 'year-end' (Holiday shutdown)", "Thursday 24 Dec 2026 00:00 AEDT",
      "Next open: Tuesday 5 Jan 2027 00:00 AEDT."]),
    ("significant in the freeze", FROZEN, SIGNIFICANT, syd("2026-12-31T10:00"), False,
     syd("2027-01-05T09:00"), None, ["freeze 'year-end'", "Tuesday 5 Jan 2027 09:00 AEDT"]),
    ("emergency ignores the freeze", FROZEN, EMERGENCY, syd("2026-12-25T10:00"), True,
     None, None, []),
    ("standard before the freeze", FROZEN, STANDARD, syd("2026-12-23T10:00"), True,
     None, syd("2026-12-24T00:00"), ["Closes: Thursday 24 Dec 2026 00:00 AEDT (freeze 'year-end')"]),
    ("significant before the freeze", FROZEN, SIGNIFICANT, syd("2026-12-23T16:00"), True,
     None, syd("2026-12-23T17:00"), []),
    ("range starting in the dst gap", IN_GAP, SIGNIFICANT, syd("2026-10-03T12:00"), False,
     utc("2026-10-03T16:00"), None, ["Next open: Sunday 4 Oct 2026 03:00 AEDT."]),
    ("range inside the dst gap", ALL_IN_GAP, SIGNIFICANT, syd("2026-10-03T12:00"), False,
     syd("2026-10-11T02:00"), None, []),
    ("repeated hour, first pass", REPEATED, SIGNIFICANT, syd("2026-04-04T12:00"), False,
     utc("2026-04-04T15:00"), None, []),
    ("repeated hour, between passes", REPEATED, SIGNIFICANT, utc("2026-04-04T15:30"), False,
     utc("2026-04-04T16:00"), None, ["Next open: Sunday 5 Apr 2026 02:00 AEST."]),
    ("repeated hour, second pass", REPEATED, SIGNIFICANT, utc("2026-04-04T16:10"), True,
     None, utc("2026-04-04T16:30"), []),
    ("wall time falls back into a range", ACROSS, SIGNIFICANT, utc("2026-04-04T15:30"), False,
     utc("2026-04-04T16:00"), None, []),
    ("wall time springs past a range end", ACROSS, SIGNIFICANT, utc("2026-10-03T15:30"), True,
     None, utc("2026-10-03T16:00"), []),
    ("never", NEVER, SIGNIFICANT, syd("2026-01-01T00:00"), False, None, None,
     [f"Not open within the next {HORIZON.days} days."]),
]


@pytest.mark.parametrize(
    ("policy", "change_type", "at", "open_", "opens", "closes", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decide(
    policy: Policy,
    change_type: ChangeType,
    at: dt.datetime,
    open_: bool,
    opens: dt.datetime | None,
    closes: dt.datetime | None,
    words: list[str],
) -> None:
    decision = decide(policy, change_type, at)
    assert isinstance(decision, WindowDecision)
    assert (decision.change_type, decision.open) == (change_type, open_)
    assert decision.window == policy.types.of(change_type).window
    assert is_open(policy, change_type, at) is open_
    assert same(decision.next_open, opens), decision.next_open
    assert same(decision.closes_at, closes), decision.closes_at
    assert same(next_open(policy, change_type, at), at if open_ else opens)
    for word in words:
        assert word in decision.reason
    assert "\n" not in decision.reason


def test_next_open_returns_after_itself_when_open() -> None:
    at = syd("2026-12-01T10:00")
    assert next_open(DEFAULT, SIGNIFICANT, at) is at


def test_aware_freeze_bounds_are_taken_as_given() -> None:
    freeze = {**YEAR_END, "start": "2026-12-24T00:00:00+00:00", "types": ["emergency"]}
    policy = policy_with(freezes=[freeze])
    assert is_open(policy, EMERGENCY, utc("2026-12-23T23:59:59"))
    assert not is_open(policy, EMERGENCY, utc("2026-12-24T00:00"))
    assert is_open(policy, STANDARD, utc("2026-12-24T00:00"))


@pytest.mark.parametrize("function", [is_open, next_open, decide])
def test_naive_instants_are_rejected(function: Any) -> None:
    with pytest.raises(ValueError, match="aware"):
        function(DEFAULT, SIGNIFICANT, dt.datetime(2026, 12, 1, 10))


def test_an_undefined_window_is_a_policy_error() -> None:
    raw = copy.deepcopy(RAW_DEFAULT)
    raw["types"]["significant"]["window"] = "office_hours"
    with pytest.raises(ChangegateError, match="office_hours.*business_hours"):
        decide(Policy.model_validate(raw), SIGNIFICANT, utc("2026-12-01T00:00"))


def test_an_unknown_holiday_calendar_is_a_policy_error() -> None:
    policy = policy_with(holidays={"country": "AU", "subdivision": "XYZ"})
    with pytest.raises(ChangegateError, match="AU/XYZ"):
        is_open(policy, SIGNIFICANT, syd("2026-12-01T10:00"))


# --- properties ----------------------------------------------------------------------------

FREEZES = [
    {"name": "a", "start": "2027-03-01T10:30", "end": "2027-03-03T12:00"},
    {"name": "b", "start": "2027-03-03T11:00", "end": "2027-03-09T00:00+00:00"},
    {"name": "c", "start": "2029-06-01T00:00", "end": "2029-06-01T09:30", "types": ["emergency"]},
]
MIXED = policy_with(
    hours=[
        {"days": ["sun"], "start": "01:30", "end": "02:30"},
        {"days": ["sun", "sat"], "start": "02:15", "end": "03:15"},
        {"days": ["mon", "wed"], "start": "00:00", "end": "24:00"},
        {"days": ["tue"], "start": "23:00", "end": "24:00"},
        {"days": ["fri"], "start": "09:00", "end": "17:00"},
    ],
    freezes=FREEZES,
)
POLICIES = [DEFAULT, FROZEN, MIXED, policy_with(freezes=FREEZES)]
ZONES = [UTC, SYDNEY, ZoneInfo("America/New_York")]
instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2032, 1, 1),
    timezones=st.sampled_from(ZONES),
)
# Sydney and New York DST changes, and the freeze bounds: sample minutes around them too.
EDGES = [
    utc(text)
    for text in (
        "2026-04-04T16:00", "2026-10-03T16:00", "2027-04-03T16:00", "2027-10-02T16:00",
        "2026-03-08T07:00", "2026-11-01T06:00", "2027-02-28T23:30", "2027-03-03T01:00",
        "2027-03-09T00:00", "2029-05-31T14:00", "2029-05-31T23:30",
    )
]
near_edges = st.builds(
    lambda base, minutes, zone: (base + dt.timedelta(minutes=minutes)).astimezone(zone),
    st.sampled_from(EDGES),
    st.integers(-36 * 60, 36 * 60),
    st.sampled_from(ZONES),
)
instants = st.one_of(instants, near_edges)
PROPERTY = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])


def second_before(at: dt.datetime) -> dt.datetime:
    return at.astimezone(UTC) - dt.timedelta(seconds=1)


@PROPERTY
@given(at=instants, policy=st.sampled_from(POLICIES), change_type=st.sampled_from(ChangeType))
def test_next_open_is_the_earliest_open_instant(
    at: dt.datetime, policy: Policy, change_type: ChangeType
) -> None:
    opens = next_open(policy, change_type, at)
    assert opens is not None
    assert opens >= at
    assert is_open(policy, change_type, opens)
    assert (opens.timestamp() == at.timestamp()) is is_open(policy, change_type, at)
    if opens > at:
        assert not is_open(policy, change_type, second_before(opens))


@PROPERTY
@given(at=instants, policy=st.sampled_from(POLICIES), change_type=st.sampled_from(ChangeType))
def test_closes_at_ends_the_open_period(
    at: dt.datetime, policy: Policy, change_type: ChangeType
) -> None:
    start = next_open(policy, change_type, at)
    assert start is not None
    decision = decide(policy, change_type, start)
    assert decision.open and decision.next_open is None
    if decision.closes_at is None:
        assert policy.windows[decision.window].always
        return
    assert decision.closes_at > start
    assert not is_open(policy, change_type, decision.closes_at)
    assert is_open(policy, change_type, second_before(decision.closes_at))
