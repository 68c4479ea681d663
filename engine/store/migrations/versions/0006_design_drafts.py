"""design drafts: a designer's unfinished work on a process, one per process, apart from deployed versions

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "design_drafts",
        sa.Column("process_id", sa.String(length=128), nullable=False),
        sa.Column("files_json", sa.Text(), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.String(length=128), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )


def downgrade() -> None:
    op.drop_table("design_drafts")
