"""Wiring for `changegate audit`: git, the store's evidence, the policy in force at each commit."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select

from changegate.adapters.git_log import file_at
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.adapters.store.tables import deployments as deployments_table
from changegate.adapters.store.tables import verdicts
from changegate.core.deploy_record import DeploymentRecord
from changegate.core.policy import Policy
from changegate.errors import ChangegateError
from changegate.policy_source import POLICY_LOCATIONS, default_policy_text, parse_policy_text
from changegate.services.audit import Evidence
from changegate.services.obligations import gather

_DEFAULT = parse_policy_text(default_policy_text(), source="<default policy>").policy


class PolicyTimeline:
    """The policy in force at each commit of a first-parent walk (newest first): the policy file
    as of that commit, else the shipped default. `observe` must see every commit in order."""

    def __init__(self, repo: Path, *, branch: str) -> None:
        self._repo = repo
        done = subprocess.run(["git", "log", "--first-parent", "--format=%H", branch, "--", *POLICY_LOCATIONS], cwd=repo, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ChangegateError(f"git log in {repo} failed: {done.stderr.strip()}")
        self._changes = done.stdout.split()
        self._index = 0
        self._advance = False
        self._cache: dict[str, Policy] = {}
        self.warnings: list[str] = []
        self._current = self._load(self._changes[0]) if self._changes else _DEFAULT

    def observe(self, sha: str) -> None:
        if self._advance:  # the previous commit changed the policy: older commits see the one before
            self._current = self._load(self._changes[self._index]) if self._index < len(self._changes) else _DEFAULT
            self._advance = False
        if self._index < len(self._changes) and sha == self._changes[self._index]:
            self._current = self._load(sha)
            self._index += 1
            self._advance = True

    def policy_at(self, _sha: str) -> Policy:
        return self._current

    def _load(self, sha: str) -> Policy:
        if sha not in self._cache:
            text = next((t for path in POLICY_LOCATIONS if (t := file_at(self._repo, sha, path)) is not None), None)
            try:
                self._cache[sha] = parse_policy_text(text, source=f"{sha[:12]}:changegate.yml").policy if text else _DEFAULT
            except ChangegateError as error:
                self.warnings.append(f"the policy at {sha[:12]} is invalid, so the default policy was applied there: {error}")
                self._cache[sha] = _DEFAULT
        return self._cache[sha]


def evidence_from(store: SqlStore, *, repository: str | None, services: tuple[str, ...]) -> Evidence:
    book = EmergencyStore(store.engine)
    records = [r for r in book.all() if repository is None or r["repository"] == repository]
    facts, _investigations = gather(records, store.iter_ledger())

    numbers = select(verdicts.c.pr_number).distinct()
    if repository:
        numbers = numbers.where(verdicts.c.repository == repository)
    with store.engine.connect() as connection:
        with_evidence = {row[0] for row in connection.execute(numbers)}  # one query, not one per commit

    def snapshot_for(pr: int) -> dict[str, Any] | None:
        if pr not in with_evidence:
            return None
        query = select(verdicts.c.snapshot_json).where(verdicts.c.pr_number == pr)
        if repository:
            query = query.where(verdicts.c.repository == repository)
        with store.engine.connect() as connection:
            row = connection.execute(query.order_by(verdicts.c.id.desc())).first()
        found: dict[str, Any] | None = json.loads(row[0]) if row else None
        return found

    query = select(deployments_table)
    if services:
        query = query.where(deployments_table.c.service.in_(services))
    with store.engine.connect() as connection:
        deploys = [DeploymentRecord.from_row(dict(row)) for row in connection.execute(query).mappings()]
    return Evidence(snapshot_for=snapshot_for, deployments=deploys, emergencies={r["sha"]: r for r in records if r.get("sha")},
                    emergency_facts={f.id: f for f in facts}, repository=repository or "")


def parse_day(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ChangegateError(f"{option} {value!r} is not a date: use YYYY-MM-DD or an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
