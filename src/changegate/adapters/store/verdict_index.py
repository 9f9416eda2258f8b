"""Find the latest recorded verdict of a pull request (the deploy gate's evidence)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from changegate.adapters.store.tables import verdicts


class VerdictIndex:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def latest_verdict(self, *, pr_number: int, repository: str | None = None) -> dict[str, Any] | None:
        query = select(verdicts.c.repository, verdicts.c.verdict_json).where(verdicts.c.pr_number == pr_number)
        if repository is not None:
            query = query.where(verdicts.c.repository == repository)
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(verdicts.c.recorded_at.desc(), verdicts.c.id.desc())).all()
        if not rows or len({row.repository for row in rows}) > 1:
            return None  # none, or ambiguous across repositories: the caller names the repository
        found: dict[str, Any] = json.loads(rows[0].verdict_json)
        return found
