"""Messages between cases: the outbox, and the key messages for a case are addressed by.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("correlation_key", sa.String(length=200), nullable=True))
        batch.create_index("ix_cases_correlation_key", ["correlation_key"], unique=False)
    op.create_table(
        "message_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_case_id", sa.String(length=64), nullable=False),
        sa.Column("source_seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("targets_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["source_case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_outbox_source_case_id", "message_outbox", ["source_case_id"])
    op.create_index("ix_message_outbox_status", "message_outbox", ["status"])


def downgrade() -> None:
    op.drop_index("ix_message_outbox_status", table_name="message_outbox")
    op.drop_index("ix_message_outbox_source_case_id", table_name="message_outbox")
    op.drop_table("message_outbox")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_correlation_key")
        batch.drop_column("correlation_key")
