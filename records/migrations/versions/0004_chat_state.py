"""Where a case stands with the web chat (waiting, joined, quiet, not_joined) in its summary.

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
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("chat_state", sa.String(16)))
        table.create_index("ix_cases_tenant_chat_state", ["tenant", "chat_state"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_index("ix_cases_tenant_chat_state")
        table.drop_column("chat_state")
