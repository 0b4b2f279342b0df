"""Root-cause follow-ups: one row per RCA, kept current, with its outcome.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

# A migration is a snapshot: it spells the types out (records.schema.UtcDateTime stores this).
UtcDateTime = sa.DateTime(timezone=True)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rcas",
        sa.Column("rca_id", sa.String(160), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("reasons", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(400), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("completed_at", UtcDateTime),
        sa.Column("completed_by", sa.String(128)),
        sa.Column("cause_category", sa.String(64)),
        sa.Column("corrective_action", sa.Text()),
        sa.Column("action_owner", sa.String(128)),
        sa.PrimaryKeyConstraint("rca_id", name="pk_rcas"),
    )
    op.create_index("ix_rcas_case_id", "rcas", ["case_id"])
    op.create_index("ix_rcas_tenant_opened_at", "rcas", ["tenant", "opened_at"])


def downgrade() -> None:
    op.drop_table("rcas")
