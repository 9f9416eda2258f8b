"""Audit results kept per branch, so a repeated audit processes only new commits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_scopes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("format", sa.String(50), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("next_run", sa.Integer(), nullable=False),
        sa.Column("commits", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_scopes"),
        sa.UniqueConstraint("scope", name="uq_audit_scopes_scope"),
    )
    op.create_table(
        "audit_chunks",
        sa.Column("scope_id", ID, autoincrement=False, nullable=False),
        sa.Column("run", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("shas", sa.Text(), nullable=False),
        sa.Column("lines", sa.LargeBinary(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["scope_id"], ["audit_scopes.id"], name="fk_audit_chunks_scope_id_audit_scopes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("scope_id", "run", "seq", name="pk_audit_chunks"),
    )


def downgrade() -> None:
    op.drop_table("audit_chunks")
    op.drop_table("audit_scopes")
