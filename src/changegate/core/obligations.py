"""Follow-up obligations the procedure creates, computed from records and time. Pure.

- a post-hoc PR within 24 hours of an emergency deploy, and that PR reviewed after the fact;
- a post-incident review ("could the emergency have been prevented?") within N business days;
- a root-cause investigation after a failed rollback, before the change is attempted again;
- the procedure document's own review by its next review date.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Literal

from changegate.core.policy import ChangeType, HolidayCalendar, Policy
from changegate.core.windows import holiday_name

State = Literal["open", "met", "met_late", "overdue"]


@dataclass(frozen=True)
class Obligation:
    id: str  # stable: "<kind>:<subject>"
    kind: str  # confirmation | posthoc_pr | posthoc_review | pir | root_cause | procedure_review
    subject: str
    title: str
    due: dt.datetime | None
    state: State
    met_at: dt.datetime | None = None
    detail: str = ""
    code: str | None = None  # the audit finding when late or missing

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


@dataclass(frozen=True)
class EmergencyFacts:
    """What is known of one emergency: from its record and the ledger's later events."""

    id: str
    declared_at: dt.datetime
    deployed_at: dt.datetime | None = None
    pull_request: int | None = None
    posthoc_opened_at: dt.datetime | None = None
    posthoc_approved_at: dt.datetime | None = None
    pir_recorded_at: dt.datetime | None = None
    approved_at: dt.datetime | None = None  # the verbal approval
    confirmed_at: dt.datetime | None = None  # its confirmation by the approver


@dataclass(frozen=True)
class Investigation:
    subject: str
    opened_at: dt.datetime
    met_at: dt.datetime | None = None
    reason: str = ""


def add_business_days(start: dt.datetime, days: int, *, zone: str, calendar: HolidayCalendar) -> dt.datetime:
    """The same local wall time `days` business days (Mon-Fri, not a public holiday) later."""
    tz = zoneinfo.ZoneInfo(zone)
    local = start.astimezone(tz)
    day = local.date()
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and holiday_name(calendar, day) is None:
            left -= 1
    return dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=tz).astimezone(dt.UTC)


def _state(due: dt.datetime | None, met_at: dt.datetime | None, now: dt.datetime) -> State:
    if met_at is not None:
        return "met_late" if due is not None and met_at > due else "met"
    return "overdue" if due is not None and now > due else "open"


def emergency_obligations(policy: Policy, facts: EmergencyFacts, *, now: dt.datetime) -> list[Obligation]:
    rules = policy.types.of(ChangeType.EMERGENCY)
    start = facts.deployed_at or facts.declared_at
    found = []
    hours = rules.verbal_approval.confirm_within_hours if rules.verbal_approval else None
    if hours is not None and facts.approved_at is not None:  # the audit's finding comes from the record (emergency_rules), not from here
        due = facts.approved_at + dt.timedelta(hours=hours)
        found.append(Obligation(f"confirmation:{facts.id}", "confirmation", facts.id, f"Verbal approval of {facts.id} confirmed by its approver", due,
                                _state(due, facts.confirmed_at, now), facts.confirmed_at, f"within {hours:g} h of the approval (`changegate emergency confirm {facts.id}`)"))
    if rules.posthoc_pr is not None:
        due = start + dt.timedelta(hours=rules.posthoc_pr.within_hours)
        state = _state(due, facts.posthoc_opened_at, now)
        pr = f"#{facts.pull_request}" if facts.pull_request else "no PR linked"
        code = {"met_late": "LATE_POSTHOC_PR", "overdue": "MISSING_POSTHOC_PR"}.get(state)
        found.append(Obligation(f"posthoc_pr:{facts.id}", "posthoc_pr", facts.id, f"Post-hoc PR documenting {facts.id}", due, state, facts.posthoc_opened_at,
                                f"{pr}; due {rules.posthoc_pr.within_hours:g} h after the {'deploy' if facts.deployed_at else 'declaration'}", code))
        if rules.posthoc_pr.approvals:
            review = _state(None, facts.posthoc_approved_at, now)
            found.append(Obligation(f"posthoc_review:{facts.id}", "posthoc_review", facts.id, f"Post-hoc PR of {facts.id} reviewed ({rules.posthoc_pr.approvals} approval)",
                                    None, review, facts.posthoc_approved_at, pr))
    pir = rules.post_incident_review
    if pir is not None and pir.required:
        due = add_business_days(start, pir.due_business_days, zone=policy.timezone, calendar=policy.holidays)
        state = _state(due, facts.pir_recorded_at, now)
        found.append(Obligation(f"pir:{facts.id}", "pir", facts.id, f"Post-incident review of {facts.id}: {pir.question}", due, state, facts.pir_recorded_at,
                                f"{pir.due_business_days} business days", "MISSING_PIR" if state == "overdue" else None))
    return found


def investigation_obligation(policy: Policy, item: Investigation, *, now: dt.datetime) -> Obligation:
    days = policy.types.of(ChangeType.EMERGENCY).post_incident_review
    due = add_business_days(item.opened_at, days.due_business_days if days else 5, zone=policy.timezone, calendar=policy.holidays)
    return Obligation(f"root_cause:{item.subject}", "root_cause", item.subject, f"Root-cause investigation of {item.subject} before the change is attempted again",
                      due, _state(due, item.met_at, now), item.met_at, item.reason)


def procedure_obligation(policy: Policy, *, now: dt.datetime) -> Obligation:
    tz = zoneinfo.ZoneInfo(policy.timezone)
    due = dt.datetime.combine(policy.procedure.next_review, dt.time(23, 59, 59), tzinfo=tz).astimezone(dt.UTC)
    return Obligation("procedure_review:procedure", "procedure_review", "procedure", f"Review of the {policy.procedure.title} (owner: {policy.procedure.owner})",
                      due, _state(due, None, now), None, f"next review {policy.procedure.next_review.isoformat()}, every {policy.procedure.review_interval_months} months")


def all_obligations(policy: Policy, *, emergencies: list[EmergencyFacts], investigations: list[Investigation], now: dt.datetime) -> list[Obligation]:
    found = [o for facts in emergencies for o in emergency_obligations(policy, facts, now=now)]
    found += [investigation_obligation(policy, item, now=now) for item in investigations]
    found.append(procedure_obligation(policy, now=now))
    return found
