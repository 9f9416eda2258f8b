"""changegate's deployment records: one mutable row per deploy (its current state), while every
step is also appended to the ledger as evidence."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert, select, update

from changegate.adapters.store.tables import deployments
from changegate.core.deploy_record import ACTIVE, DeploymentRecord


class DeploymentStore:
    """Implements `services.ports.Deployments`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, record: DeploymentRecord) -> None:
        with self._engine.begin() as connection:
            connection.execute(insert(deployments).values(**record.row()))

    def save(self, record: DeploymentRecord) -> None:
        row = record.row()
        with self._engine.begin() as connection:
            connection.execute(update(deployments).where(deployments.c.id == record.id).values(**row))

    def get(self, deployment_id: str) -> DeploymentRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(deployments).where(deployments.c.id == deployment_id)).mappings().first()
        return None if row is None else DeploymentRecord.from_row(dict(row))

    def find(self, *, service: str, environment: str | None = None, sha: str | None = None, states: frozenset[str] | None = None) -> list[DeploymentRecord]:
        query = select(deployments).where(deployments.c.service == service)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        if sha is not None:
            query = query.where(deployments.c.sha == sha)
        if states is not None:
            query = query.where(deployments.c.state.in_(sorted(states)))
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(deployments.c.started_at.desc())).mappings().all()
        return [DeploymentRecord.from_row(dict(row)) for row in rows]

    def active(self, *, service: str, environment: str, sha: str) -> DeploymentRecord | None:
        found = self.find(service=service, environment=environment, sha=sha, states=ACTIVE)
        return found[0] if found else None


def utc(value: Any) -> dt.datetime | None:
    return value if value is None or isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
