"""The ledger, its head, and stored verdicts; the ledger refuses UPDATE and DELETE.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
SHA = sa.String(64)
REFUSAL = "ledger is append-only"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER ledger_no_{action.lower()} BEFORE {action} ON ledger "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    for action in ("UPDATE", "DELETE")
]
POSTGRESQL_TRIGGERS = [
    "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'restrict_violation'; END $$",
    "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    "CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", SHA, nullable=False),
        sa.Column("hash", SHA, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger"),
        sa.UniqueConstraint("hash", name="uq_ledger_hash"),
    )
    op.create_index("ix_ledger_kind", "ledger", ["kind", "subject"])
    ledger_head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", ID, nullable=False),
        sa.Column("hash", SHA, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_head_single_row")),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_head"),
    )
    op.bulk_insert(ledger_head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    _create_verdicts()
    for statement in _triggers():
        op.execute(statement)


def _create_verdicts() -> None:
    op.create_table(
        "verdicts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("change_type", sa.String(50), nullable=False),
        sa.Column("state", sa.String(50), nullable=False),
        sa.Column("policy_sha256", SHA, nullable=False),
        sa.Column("changegate_version", sa.String(50), nullable=False),
        sa.Column("verdict_json", sa.Text(), nullable=False),
        sa.Column("snapshot_json", sa.Text(), nullable=False),
        sa.Column("evidence_sha256", SHA, nullable=False),
        sa.Column("ledger_seq", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_seq"],
            ["ledger.seq"],
            name="fk_verdicts_ledger_seq_ledger",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_verdicts"),
        sa.UniqueConstraint("ledger_seq", name="uq_verdicts_ledger_seq"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_verdicts_repository", "verdicts", ["repository", "pr_number"])
    op.create_index("ix_verdicts_head_sha", "verdicts", ["head_sha"])


def _triggers() -> list[str]:
    return SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS


def downgrade() -> None:
    op.drop_table("verdicts")
    op.drop_table("ledger_head")
    op.drop_table("ledger")  # drops its triggers too
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION ledger_append_only()")
