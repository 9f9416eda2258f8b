"""Obligations with a frozen clock: deadlines, business days across holidays and DST."""

from __future__ import annotations

import datetime as dt

import pytest

from changegate.core.obligations import EmergencyFacts, add_business_days, emergency_obligations
from changegate.core.policy import HolidayCalendar, Policy

DEPLOY = dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)  # Monday 23 Nov 03:00 AEDT
NSW = HolidayCalendar(country="AU", subdivision="NSW")


def posthoc(policy: Policy, opened_after: dt.timedelta | None, *, now: dt.datetime) -> str:
    opened = DEPLOY + opened_after if opened_after is not None else None
    facts = EmergencyFacts("EMG-1", declared_at=DEPLOY - dt.timedelta(minutes=10), deployed_at=DEPLOY, pull_request=12 if opened else None, posthoc_opened_at=opened)
    [item] = [o for o in emergency_obligations(policy, facts, now=now) if o.kind == "posthoc_pr"]
    return f"{item.state}:{item.code}"


def test_a_post_hoc_pr_at_23_59_is_in_time_and_at_24_01_is_late(default_policy: Policy) -> None:
    later = DEPLOY + dt.timedelta(days=2)
    assert posthoc(default_policy, dt.timedelta(hours=23, minutes=59), now=later) == "met:None"
    assert posthoc(default_policy, dt.timedelta(hours=24, minutes=1), now=later) == "met_late:LATE_POSTHOC_PR"
    assert posthoc(default_policy, None, now=DEPLOY + dt.timedelta(hours=23, minutes=59)) == "open:None"
    assert posthoc(default_policy, None, now=DEPLOY + dt.timedelta(hours=24, minutes=1)) == "overdue:MISSING_POSTHOC_PR"


@pytest.mark.parametrize(("start", "days", "due"), [
    # Thursday 24 Dec 2026 10:00 AEDT: Christmas (Fri 25), the weekend, Boxing Day observed (Mon 28)
    # and New Year's Day (Fri 1 Jan) are skipped: 29, 30, 31 Dec, 4, 5 Jan
    ("2026-12-24T10:00:00+11:00", 5, "2027-01-05T10:00:00+11:00"),
    ("2026-12-24T10:00:00+11:00", 6, "2027-01-06T10:00:00+11:00"),
    # across the start of DST (Sun 4 Oct 2026) and Labour Day (Mon 5 Oct): same wall time, new offset
    ("2026-10-01T10:00:00+10:00", 2, "2026-10-06T10:00:00+11:00"),
    # across the end of DST (Sun 5 Apr 2026) and Easter (Fri 3, Mon 6 Apr)
    ("2026-04-02T10:00:00+11:00", 1, "2026-04-07T10:00:00+10:00"),
])
def test_business_days_skip_weekends_and_holidays_across_dst(start: str, days: int, due: str) -> None:
    got = add_business_days(dt.datetime.fromisoformat(start), days, zone="Australia/Sydney", calendar=NSW)
    assert got == dt.datetime.fromisoformat(due)


def test_the_pir_is_due_five_business_days_after_the_deploy(default_policy: Policy) -> None:
    facts = EmergencyFacts("EMG-1", declared_at=DEPLOY, deployed_at=DEPLOY)
    [pir] = [o for o in emergency_obligations(default_policy, facts, now=DEPLOY) if o.kind == "pir"]
    assert pir.due == dt.datetime.fromisoformat("2026-11-30T03:00:00+11:00")  # Mon 23 Nov + 5 business days
    assert pir.state == "open" and "prevented" in pir.title
    [late] = [o for o in emergency_obligations(default_policy, facts, now=pir.due + dt.timedelta(minutes=1)) if o.kind == "pir"]
    assert (late.state, late.code) == ("overdue", "MISSING_PIR")
