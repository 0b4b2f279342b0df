"""Channels: SMS consent, conversations (address -> open case), deliveries, reply tokens,
webhook events already applied.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

UtcDateTime = sa.DateTime(timezone=True)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_consent",
        sa.Column("tenant_number", sa.String(20), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(32), nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("tenant_number", "address_key", name="pk_sms_consent"),
    )
    op.create_table(
        "conversations",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "channel", "address_key", name="pk_conversations"),
    )
    op.create_index("ix_conversations_case_id", "conversations", ["case_id"])
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("sender", sa.String(254), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("status_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_deliveries"),
        sa.UniqueConstraint("provider", "provider_id", name="uq_deliveries_provider_provider_id"),
    )
    op.create_index(
        "ix_deliveries_tenant_channel_address_key_created_at",
        "deliveries",
        ["tenant", "channel", "address_key", "created_at"],
    )
    op.create_table(
        "case_tokens",
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_case_tokens"),
        sa.UniqueConstraint("case_id", name="uq_case_tokens_case_id"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_webhook_events"),
    )


def downgrade() -> None:
    for table in ("webhook_events", "case_tokens", "deliveries", "conversations", "sms_consent"):
        op.drop_table(table)
