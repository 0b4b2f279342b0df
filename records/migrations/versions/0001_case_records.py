"""The case record store: case summaries, messages, events and claim-checked bodies.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

# A migration is a snapshot: it spells the types out instead of importing today's schema.
# records.schema.UtcDateTime stores exactly this.
UtcDateTime = sa.DateTime(timezone=True)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("sla_breached", sa.Boolean(), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("first_response_at", UtcDateTime, nullable=True),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("journal_version", sa.Integer(), nullable=False),
        sa.Column("erased_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
    )
    op.create_index("ix_cases_tenant_customer_id", "cases", ["tenant", "customer_id"])
    op.create_index("ix_cases_tenant_opened_at", "cases", ["tenant", "opened_at"])
    op.create_table(
        "case_messages",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("body_ref", sa.String(200), nullable=True),
        sa.Column("body_sha256", sa.String(64), nullable=True),
        sa.Column("body_bytes", sa.Integer(), nullable=True),
        sa.Column("media_count", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name="pk_case_messages"),
        sa.UniqueConstraint(
            "case_id",
            "provider_message_id",
            name="uq_case_messages_case_id_provider_message_id",
        ),
    )
    op.create_index("ix_case_messages_case_id_at", "case_messages", ["case_id", "at"])
    op.create_table(
        "case_events",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id_at", "case_events", ["case_id", "at"])
    op.create_table(
        "message_bodies",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "ref", name="pk_message_bodies"),
    )


def downgrade() -> None:
    op.drop_table("message_bodies")
    op.drop_index("ix_case_events_case_id_at", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_case_messages_case_id_at", table_name="case_messages")
    op.drop_table("case_messages")
    op.drop_index("ix_cases_tenant_opened_at", table_name="cases")
    op.drop_index("ix_cases_tenant_customer_id", table_name="cases")
    op.drop_table("cases")
