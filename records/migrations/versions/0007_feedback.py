"""Customer feedback in the case summary: when the rating was asked, the rating, the NPS
score, and whether the case is marked for review.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("csat_asked_at", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("csat_score", sa.Integer()))
        table.add_column(sa.Column("nps_score", sa.Integer()))
        table.add_column(
            sa.Column("review", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("review")
        table.drop_column("nps_score")
        table.drop_column("csat_score")
        table.drop_column("csat_asked_at")
