"""The webhook inbox (deliveries) and emergency records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(100), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", TIME, nullable=True),
        sa.Column("processed_at", TIME, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("delivery_id", name="uq_deliveries_delivery_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state", "id"])
    op.create_table(
        "emergencies",
        sa.Column("id", sa.String(50), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("service", sa.String(200), nullable=True),
        sa.Column("incident", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("declared_by", sa.String(100), nullable=False),
        sa.Column("declared_at", TIME, nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("approved_at", TIME, nullable=True),
        sa.Column("confirmed_at", TIME, nullable=True),
        sa.Column("sha", sa.String(64), nullable=True),
        sa.Column("deployed_at", TIME, nullable=True),
        sa.Column("pull_request", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_emergencies"),
    )
    op.create_index("ix_emergencies_repo_sha", "emergencies", ["repository", "sha"])
    op.create_index("ix_emergencies_repo_pr", "emergencies", ["repository", "pull_request"])


def downgrade() -> None:
    op.drop_index("ix_emergencies_repo_pr", "emergencies")
    op.drop_index("ix_emergencies_repo_sha", "emergencies")
    op.drop_table("emergencies")
    op.drop_index("ix_deliveries_state", "deliveries")
    op.drop_table("deliveries")
