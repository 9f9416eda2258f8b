"""Emergency records in the store: declared, looked up by PR number or commit SHA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, insert, or_, select, update

from changegate.adapters.store.tables import emergencies
from changegate.core.snapshot import Emergency

RECORD_FIELDS = ("id", "incident", "severity", "reason", "declared_by", "declared_at", "approved_by", "channel", "approved_at", "confirmed_at", "deployed_at",
                 "pull_request")


class EmergencyStore:
    """Implements `services.ports.EmergencyRecords` over the `emergencies` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, *, repository: str, record: Mapping[str, Any], sha: str | None = None, service: str | None = None) -> None:
        valid = Emergency.model_validate(dict(record)).model_dump()
        row = {key: valid.get(key) for key in RECORD_FIELDS} | {"repository": repository, "sha": sha, "service": service}
        with self._engine.begin() as connection:
            connection.execute(insert(emergencies).values(**row))

    def find_emergency(self, repository: str, *, pr_number: int | None, sha: str | None) -> dict[str, Any] | None:
        matches = []
        if pr_number is not None:
            matches.append(emergencies.c.pull_request == pr_number)
        if sha is not None:
            matches.append(emergencies.c.sha == sha)
        if not matches:
            return None
        query = select(emergencies).where(emergencies.c.repository == repository, or_(*matches)).order_by(emergencies.c.declared_at.desc()).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return {key: (row[key].isoformat() if hasattr(row[key], "isoformat") else row[key]) for key in RECORD_FIELDS}

    def get(self, emergency_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(emergencies).where(emergencies.c.id == emergency_id)).mappings().first()
        return None if row is None else dict(row)

    def all(self) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            return [dict(row) for row in connection.execute(select(emergencies).order_by(emergencies.c.declared_at)).mappings()]

    def next_id(self) -> str:
        with self._engine.connect() as connection:
            ids = [row[0] for row in connection.execute(select(emergencies.c.id))]
        numbers = [int(i.split("-")[1]) for i in ids if i.startswith("EMG-") and i.split("-")[1].isdigit()]
        return f"EMG-{max(numbers, default=0) + 1}"

    def set_fields(self, emergency_id: str, **values: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(update(emergencies).where(emergencies.c.id == emergency_id).values(**values))
