"""Gather obligation facts from emergency records and the ledger, and compute the obligations.

The ledger is the source of truth for what happened after a declaration: `emergency.linked`
(the post-hoc PR, when it was opened and approved), `emergency.deployed`, `pir.recorded`,
`obligation.opened` (a root-cause investigation after a failed rollback) and `obligation.met`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from changegate.core.ledger import LedgerEntry
from changegate.core.obligations import EmergencyFacts, Investigation, Obligation, all_obligations
from changegate.core.policy import Policy


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def gather(records: Iterable[Mapping[str, Any]], entries: Iterable[LedgerEntry]) -> tuple[list[EmergencyFacts], list[Investigation]]:
    facts: dict[str, dict[str, Any]] = {}
    for record in records:
        facts[record["id"]] = {"id": record["id"], "declared_at": _time(record["declared_at"]), "deployed_at": _time(record.get("deployed_at")),
                               "pull_request": record.get("pull_request"), "approved_at": _time(record.get("approved_at")),
                               "confirmed_at": _time(record.get("confirmed_at"))}
    opened: dict[str, Investigation] = {}
    met: dict[str, dt.datetime] = {}
    for entry in entries:
        payload = entry.payload
        target = facts.get(payload.get("emergency", ""))
        if entry.kind == "emergency.linked" and target is not None:
            target.update(pull_request=payload["pull_request"], posthoc_opened_at=_time(payload.get("opened_at")), posthoc_approved_at=_time(payload.get("approved_at")))
        elif entry.kind == "emergency.deployed" and target is not None and target.get("deployed_at") is None:
            target["deployed_at"] = _time(payload["deployed_at"])
        elif entry.kind == "emergency.confirmed" and target is not None and target.get("confirmed_at") is None:
            target["confirmed_at"] = _time(payload.get("confirmed_at")) or entry.recorded_at
        elif entry.kind == "pir.recorded" and target is not None:
            target["pir_recorded_at"] = _time(payload["recorded_at"])
        elif entry.kind == "obligation.opened" and payload.get("kind") == "root_cause_investigation":
            opened[entry.subject] = Investigation(entry.subject, _time(payload["opened_at"]) or entry.recorded_at, reason=str(payload.get("reason", "")))
        elif entry.kind == "obligation.met":
            met[str(payload["obligation"])] = _time(payload["met_at"]) or entry.recorded_at
    investigations = [Investigation(i.subject, i.opened_at, met.get(f"root_cause:{i.subject}"), i.reason) for i in opened.values()]
    return [EmergencyFacts(**values) for values in facts.values()], investigations


def obligations(policy: Policy, records: Iterable[Mapping[str, Any]], entries: Iterable[LedgerEntry], *, now: dt.datetime) -> list[Obligation]:
    emergencies, investigations = gather(records, entries)
    return all_obligations(policy, emergencies=emergencies, investigations=investigations, now=now)
