"""Reply codes with which staff acknowledge an escalation by text.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

# A migration is a snapshot: it spells the types out (records.schema.UtcDateTime stores this).
UtcDateTime = sa.DateTime(timezone=True)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ack_codes",
        sa.Column("notice_key", sa.String(200), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.Integer()),
        sa.Column("contact", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("notice_key", name="pk_ack_codes"),
        sa.UniqueConstraint("address_key", "code", name="uq_ack_codes_address_key_code"),
    )


def downgrade() -> None:
    op.drop_table("ack_codes")
