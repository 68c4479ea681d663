"""Auditors are audited: one row per view, as-of view, diff, verification or export of a case.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_access",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_access_at", "audit_access", ["at"])
    op.create_index("ix_audit_access_actor", "audit_access", ["actor"])
    op.create_index("ix_audit_access_case_id", "audit_access", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_access_case_id", table_name="audit_access")
    op.drop_index("ix_audit_access_actor", table_name="audit_access")
    op.drop_index("ix_audit_access_at", table_name="audit_access")
    op.drop_table("audit_access")
