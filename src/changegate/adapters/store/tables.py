"""The database schema: one SQLAlchemy Core definition for SQLite and PostgreSQL.

Migrations (`migrations/versions/`) create exactly this; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT on PostgreSQL; INTEGER on SQLite, where only `INTEGER PRIMARY KEY` is the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")
Sha256 = String(64)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: Any | None, dialect: Dialect  # noqa: ARG002 - SQLAlchemy's signature
    ) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


ledger = Table(
    "ledger",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("kind", String(200), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("payload_json", Text(), nullable=False),
    Column("prev_hash", Sha256, nullable=False),
    Column("hash", Sha256, nullable=False, unique=True),
    Index(None, "kind", "subject"),
)

ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("seq", Id, nullable=False),
    Column("hash", Sha256, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
"""One row: the last appended seq and hash. Writers lock it; verify checks the tail against it."""

verdicts = Table(
    "verdicts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("repository", String(300), nullable=False),
    Column("pr_number", Integer(), nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("change_type", String(50), nullable=False),
    Column("state", String(50), nullable=False),
    Column("policy_sha256", Sha256, nullable=False),
    Column("changegate_version", String(50), nullable=False),
    Column("verdict_json", Text(), nullable=False),
    Column("snapshot_json", Text(), nullable=False),
    Column("evidence_sha256", Sha256, nullable=False),
    Column(
        "ledger_seq",
        Id,
        ForeignKey("ledger.seq", deferrable=True, initially="DEFERRED"),
        nullable=False,
        unique=True,
    ),
    Index(None, "repository", "pr_number"),
    Index(None, "head_sha"),
    sqlite_autoincrement=True,
)

audit_snapshots = Table(
    "audit_snapshots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fetched_at", UTCDateTime(), nullable=False),
    Column("repository", String(300), nullable=False),
    Column("pr_number", Integer(), nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("snapshot_json", Text(), nullable=False),
    Column("snapshot_sha256", Sha256, nullable=False),
    Index(None, "repository", "pr_number"),
    sqlite_autoincrement=True,
)
"""PR snapshots `changegate audit` fetched from the GitHub API for PRs the gate never recorded
(kept so a repeated audit does not fetch them again; the newest per PR is used)."""

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", String(100), nullable=False, unique=True),
    Column("event", String(100), nullable=False),
    Column("action", String(100), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("body", Text(), nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("processed_at", UTCDateTime(), nullable=True),
    Column("error", Text(), nullable=True),
    Index(None, "state", "id"),
    sqlite_autoincrement=True,
)
"""The durable webhook inbox: committed before the 2xx answer, processed by workers."""

emergencies = Table(
    "emergencies",
    metadata,
    Column("id", String(50), primary_key=True),
    Column("repository", String(300), nullable=False),
    Column("service", String(200), nullable=True),
    Column("incident", String(200), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("declared_by", String(100), nullable=False),
    Column("declared_at", UTCDateTime(), nullable=False),
    Column("approved_by", String(100), nullable=True),
    Column("channel", String(20), nullable=True),
    Column("approved_at", UTCDateTime(), nullable=True),
    Column("confirmed_at", UTCDateTime(), nullable=True),
    Column("sha", String(64), nullable=True),
    Column("deployed_at", UTCDateTime(), nullable=True),
    Column("pull_request", Integer(), nullable=True),
    Index("ix_emergencies_repo_sha", "repository", "sha"),
    Index("ix_emergencies_repo_pr", "repository", "pull_request"),
)
"""Declared emergencies: who approved, how and when (the procedure's verbal approval)."""

deployments = Table(
    "deployments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(200), nullable=False),
    Column("environment", String(50), nullable=False),
    Column("sha", String(64), nullable=False),
    Column("change_type", String(50), nullable=True),
    Column("change_ref", String(300), nullable=True),
    Column("state", String(30), nullable=False),
    Column("version_id", String(100), nullable=True),
    Column("previous_version_id", String(100), nullable=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deployed_at", UTCDateTime(), nullable=True),
    Column("monitor_until", UTCDateTime(), nullable=True),
    Column("baseline_json", Text(), nullable=True),
    Column("detail", Text(), nullable=True),
    Column("rollout_steps", String(100), nullable=True),
    Column("rollout_step", Integer(), nullable=True),
    Index("ix_deployments_service_env_sha", "service", "environment", "sha"),
)
"""Deployments changegate made (or recorded, for mobile releases): a resumable state machine."""

audit_scopes = Table(
    "audit_scopes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(64), nullable=False, unique=True),
    Column("description", Text(), nullable=False),
    Column("format", String(50), nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("run", Integer(), nullable=False),
    Column("next_run", Integer(), nullable=False),
    Column("commits", BigInteger(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
"""One audited branch (repository path, branch, GitHub repository): the head audited last and the
last published run (`next_run` allocates run numbers, so concurrent audits never share one)."""

audit_chunks = Table(
    "audit_chunks",
    metadata,
    Column("scope_id", Id, ForeignKey("audit_scopes.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("run", Integer(), primary_key=True, autoincrement=False),
    Column("seq", Integer(), primary_key=True, autoincrement=False),
    Column("count", Integer(), nullable=False),
    Column("shas", Text(), nullable=False),
    Column("lines", LargeBinary(), nullable=False),
    Column("meta", Text(), nullable=False),
)
"""Up to a few thousand consecutive audited commits: their shas, their JSON lines (zlib), their tally, and
the inputs they were computed from (PR evidence versions, deployments, what newer commits carried in)."""
