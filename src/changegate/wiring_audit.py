"""Wiring for `changegate audit`: the store's evidence (the policy timeline is `adapters.policy_timeline`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.adapters.store.tables import deployments as deployments_table
from changegate.core.deploy_record import DeploymentRecord
from changegate.errors import ChangegateError
from changegate.services.audit import Evidence
from changegate.services.obligations import gather


def evidence_from(store: SqlStore, *, repository: str | None, services: tuple[str, ...]) -> Evidence:
    """Deployments, emergency records and the ledger's facts; PR evidence is joined by
    `wiring_audit_sources.open_joins` (recorded snapshots first, the GitHub API second)."""
    book = EmergencyStore(store.engine)
    records = [r for r in book.all() if repository is None or r["repository"] == repository]
    facts, _investigations = gather(records, store.iter_ledger())

    query = select(deployments_table)
    if services:
        query = query.where(deployments_table.c.service.in_(services))
    with store.engine.connect() as connection:
        deploys = [DeploymentRecord.from_row(dict(row)) for row in connection.execute(query).mappings()]
    return Evidence(deployments=deploys, emergencies={r["sha"]: r for r in records if r.get("sha")},
                    emergency_facts={f.id: f for f in facts}, repository=repository or "")


def parse_day(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ChangegateError(f"{option} {value!r} is not a date: use YYYY-MM-DD or an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
