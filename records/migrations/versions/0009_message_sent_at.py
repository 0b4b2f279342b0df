"""When the customer's side sent a message, beside when the case received it (`at`).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_messages") as table:
        table.add_column(sa.Column("sent_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("case_messages") as table:
        table.drop_column("sent_at")
