"""PR snapshots fetched from the GitHub API by `changegate audit`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_snapshots",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("fetched_at", TIME, nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("snapshot_json", sa.Text(), nullable=False),
        sa.Column("snapshot_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_snapshots"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_snapshots_repository", "audit_snapshots", ["repository", "pr_number"])


def downgrade() -> None:
    op.drop_index("ix_audit_snapshots_repository", "audit_snapshots")
    op.drop_table("audit_snapshots")
