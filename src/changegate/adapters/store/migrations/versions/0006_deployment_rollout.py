"""Deployments: the gradual rollout's steps and the step reached (for resume and the record).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deployments", sa.Column("rollout_steps", sa.String(100), nullable=True))
    op.add_column("deployments", sa.Column("rollout_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("rollout_step")
        batch.drop_column("rollout_steps")
