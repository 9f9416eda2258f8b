"""Deployments: changegate's own record of each deploy, for resume and the change log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(50), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("change_type", sa.String(50), nullable=True),
        sa.Column("change_ref", sa.String(300), nullable=True),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("version_id", sa.String(100), nullable=True),
        sa.Column("previous_version_id", sa.String(100), nullable=True),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("deployed_at", TIME, nullable=True),
        sa.Column("monitor_until", TIME, nullable=True),
        sa.Column("baseline_json", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
    )
    op.create_index("ix_deployments_service_env_sha", "deployments", ["service", "environment", "sha"])


def downgrade() -> None:
    op.drop_index("ix_deployments_service_env_sha", "deployments")
    op.drop_table("deployments")
