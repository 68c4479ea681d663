"""Recurring application work: one row per occurrence that ran (the biennial pool adjustment).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_runs",
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("occurrence", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("schedule", "occurrence"),
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
