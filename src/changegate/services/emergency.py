"""Declare an emergency (a verbal approval on record), confirm it, link its post-hoc PR, record
its post-incident review, and send reminders about what is still owed."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from changegate.core.emergency_rules import approvers_of
from changegate.core.ledger import LedgerEntry
from changegate.core.obligations import Obligation
from changegate.core.policy import ChangeType, Policy
from changegate.core.roles import role_title
from changegate.core.snapshot import Emergency
from changegate.errors import ChangegateError
from changegate.services.ports import EventLog, Notifier

SEVERITIES = ("P1", "P2")
_PIR_QUESTION = re.compile(r"prevent", re.IGNORECASE)


class EmergencyBook(Protocol):
    def add(self, *, repository: str, record: Mapping[str, Any], sha: str | None = None, service: str | None = None) -> None: ...
    def get(self, emergency_id: str) -> dict[str, Any] | None: ...
    def next_id(self) -> str: ...
    def set_fields(self, emergency_id: str, **values: Any) -> None: ...


def declare(policy: Policy, book: EmergencyBook, events: EventLog, *, repository: str, service: str | None, incident: str, severity: str,
            approved_by: str, channel: str, declared_by: str, reason: str | None, sha: str | None, teams: dict[str, list[str]], now: dt.datetime) -> Emergency:
    rules = policy.types.of(ChangeType.EMERGENCY)
    verbal = rules.verbal_approval
    assert verbal is not None
    if severity.upper() not in SEVERITIES:
        raise ChangegateError(f"severity {severity} is not an emergency under the procedure (an Emergency is a hotfix for a P1/P2 incident or a critical vulnerability patch): use the standard or significant process")
    if channel not in verbal.channels:
        raise ChangegateError(f"--via {channel} is not accepted: verbal approval is given by {', '.join(verbal.channels)}")
    roles = " or ".join(role_title(role) for role in verbal.roles)
    approvers = approvers_of(policy, rules, owner=repository.split("/")[0], teams=teams)
    if not approvers.has(approved_by):
        hint = f"; membership of {', '.join(approvers.unresolved)} is unknown: set GITHUB_TOKEN (read:org) or list users in the roles" if approvers.unresolved else ""
        raise ChangegateError(f"{approved_by} is not the {roles}, who alone may approve an emergency{hint}")
    if approved_by.lower() == declared_by.lower() and not verbal.allow_self_approval:
        raise ChangegateError(f"{declared_by} cannot approve their own emergency: another {roles} must give the verbal approval")
    record = Emergency(id=book.next_id(), incident=incident, severity=severity.upper(), reason=reason, declared_by=declared_by, declared_at=now,
                       approved_by=approved_by, channel=channel, approved_at=now)
    book.add(repository=repository, record=record.model_dump(), sha=sha, service=service)
    events.append_event(kind="emergency.declared", subject=record.id, payload={**record.model_dump(mode="json"), "repository": repository, "sha": sha, "service": service}, recorded_at=now)
    return record


def confirm(book: EmergencyBook, events: EventLog, emergency_id: str, *, login: str, policy: Policy, now: dt.datetime) -> str:
    record = _get(book, emergency_id)
    if record["approved_by"].lower() != login.lower():
        raise ChangegateError(f"{emergency_id} was approved by {record['approved_by']}; only they can confirm it (you are {login})")
    verbal = policy.types.of(ChangeType.EMERGENCY).verbal_approval
    limit = verbal.confirm_within_hours if verbal else None
    approved = _aware(record["approved_at"])
    late = limit is not None and now - approved > dt.timedelta(hours=limit)
    book.set_fields(emergency_id, confirmed_at=now)
    events.append_event(kind="emergency.confirmed", subject=emergency_id, payload={"emergency": emergency_id, "by": login, "confirmed_at": now.isoformat(), "late": late}, recorded_at=now)
    return f"{emergency_id} confirmed by {login}" + (f" ({(now - approved).total_seconds() / 3600:.1f} h after the approval, later than the policy's {limit:g} h)" if late else "")


def link(book: EmergencyBook, events: EventLog, emergency_id: str, *, pull_request: int, opened_at: dt.datetime, approved_at: dt.datetime | None, source: str, now: dt.datetime) -> None:
    _get(book, emergency_id)
    book.set_fields(emergency_id, pull_request=pull_request)
    events.append_event(kind="emergency.linked", subject=emergency_id, payload={"emergency": emergency_id, "pull_request": pull_request, "opened_at": opened_at.isoformat(),
                                                                               "approved_at": approved_at.isoformat() if approved_at else None, "source": source}, recorded_at=now)


def pir_template(policy: Policy, emergency_id: str) -> str:
    question = (policy.types.of(ChangeType.EMERGENCY).post_incident_review or _Default).question
    return (f"# Post-incident review: {emergency_id}\n\n## What happened\n\n<timeline, impact, detection>\n\n## The fix\n\n<what was changed, by whom, approved how>\n\n"
            f"## {question}\n\n<yes / no, and why>\n\n## Actions\n\n- <follow-up, owner, due date>\n")


class _Default:
    question = "Could the emergency have been prevented?"


def record_pir(book: EmergencyBook, events: EventLog, emergency_id: str, *, text: str, recorded_by: str, now: dt.datetime) -> None:
    _get(book, emergency_id)
    answer = re.search(r"^#+\s*[^\n]*prevent[^\n]*\n+(?P<body>.*?)(?=^#|\Z)", text, re.IGNORECASE | re.MULTILINE | re.DOTALL)
    if answer is None or len(answer["body"].strip()) < 10 or "<yes / no" in answer["body"]:
        raise ChangegateError("the review must answer the procedure's question under its own heading: could the emergency have been prevented? (`changegate pir template ID` writes one)")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    events.append_event(kind="pir.recorded", subject=emergency_id, payload={"emergency": emergency_id, "recorded_at": now.isoformat(), "recorded_by": recorded_by, "sha256": digest, "text": text}, recorded_at=now)


def remind(found: list[Obligation], entries: Iterable[LedgerEntry], notifier: Notifier, events: EventLog, *, lead: dt.timedelta, now: dt.datetime) -> list[str]:
    """One message per obligation per change of state (due soon, overdue): idempotent."""
    sent = {(e.payload.get("obligation"), e.payload.get("state")) for e in entries if e.kind == "reminder.sent"}
    messages = []
    for item in found:
        state = "overdue" if item.overdue else "due_soon" if item.state == "open" and item.due is not None and item.due - now <= lead else None
        if state is None or (item.id, state) in sent:
            continue
        due = item.due.isoformat() if item.due else "no due date"
        text = f":alarm_clock: OVERDUE: {item.title} (was due {due})" if state == "overdue" else f":hourglass: due soon: {item.title} (due {due})"
        notifier.notify(text)
        events.append_event(kind="reminder.sent", subject=item.id, payload={"obligation": item.id, "state": state, "text": text}, recorded_at=now)
        messages.append(text)
    return messages


def _get(book: EmergencyBook, emergency_id: str) -> dict[str, Any]:
    record = book.get(emergency_id)
    if record is None:
        raise ChangegateError(f"no emergency {emergency_id}: list them with `changegate obligations`")
    return record


def _aware(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
