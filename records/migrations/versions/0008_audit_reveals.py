"""Who had the audit tools reveal message texts, when, and for what.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_reveals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_reveals"),
    )


def downgrade() -> None:
    op.drop_table("audit_reveals")
