"""The store's tables. Alembic migrations (records/migrations) create and evolve them."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} for the case record store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(128), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("customer_id", String(128)),
    Column("channel", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("level", Integer, nullable=False),
    Column("team", String(64), nullable=False),
    Column("assignee", String(128)),
    Column("sla_breached", Boolean, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("first_response_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("messages", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("escalations", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # messages + events of the snapshot: an older snapshot never overwrites a newer one
    Column("journal_version", Integer, nullable=False),
    Column("erased_at", UtcDateTime),
    # waiting | joined | quiet | not_joined once the case was offered the web chat, else NULL
    Column("chat_state", String(16)),
    # customer feedback after resolution: asked, the rating (1-5), the NPS score (0-10)
    Column("csat_asked_at", UtcDateTime),
    Column("csat_score", Integer),
    Column("nps_score", Integer),
    Column("review", Boolean, nullable=False, server_default=false()),
    Index(None, "tenant", "customer_id"),
    Index(None, "tenant", "opened_at"),
    Index(None, "tenant", "chat_state"),
)

case_messages = Table(
    "case_messages",
    metadata,
    Column("case_id", String(128), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("author", String(16), nullable=False),
    Column("who", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("text", Text),
    Column("body_ref", String(200)),
    Column("body_sha256", String(64)),
    Column("body_bytes", Integer),
    Column("media_count", Integer, nullable=False, default=0),
    Column("provider_message_id", String(128)),
    Column("erased", Boolean, nullable=False, default=False),
    Column("sent_at", UtcDateTime),
    PrimaryKeyConstraint("case_id", "seq"),
    # The last guard against a provider retry that arrives after the case forgot the id.
    UniqueConstraint("case_id", "provider_message_id"),
    Index(None, "case_id", "at"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("case_id", String(128), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("type", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text),
    Column("detail", JSON, nullable=False),
    PrimaryKeyConstraint("case_id", "seq"),
    Index(None, "case_id", "at"),
)

message_bodies = Table(
    "message_bodies",
    metadata,
    Column("case_id", String(128), nullable=False),
    Column("ref", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("case_id", "ref"),
)

# ----- channels (0002) ------------------------------------------------------------------------
# Customers' phone numbers and email addresses are not stored here: rows are keyed by
# `address_key` (domain.channels.address_key, a SHA-256 of the normalised address), which is
# enough to find a conversation, count texts and honour an opt-out.

sms_consent = Table(
    "sms_consent",
    metadata,
    Column("tenant_number", String(20), nullable=False),
    Column("address_key", String(64), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("keyword", String(32), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_number", "address_key"),
)

# The open case of a customer on a channel: how an inbound text or email finds its case.
conversations = Table(
    "conversations",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address_key", String(64), nullable=False),
    Column("case_id", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant", "channel", "address_key"),
    Index(None, "case_id"),
)

# Every message sent to a provider: the retry guard, the quiet-hours cap, status callbacks.
deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("case_id", String(128), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_id", String(128)),
    Column("sender", String(254), nullable=False),
    Column("address_key", String(64), nullable=False),
    Column("recipient", String(254), nullable=False),  # masked
    Column("proactive", Boolean, nullable=False),
    Column("segments", Integer),
    Column("status", String(32), nullable=False),
    Column("error_code", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status_at", UtcDateTime, nullable=False),
    UniqueConstraint("provider", "provider_id"),
    Index(None, "tenant", "channel", "address_key", "created_at"),
)

# Reply-to tokens: support+TOKEN@inbound-domain threads an email reply into its case.
case_tokens = Table(
    "case_tokens",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("case_id", String(128), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Provider webhook events already applied (SendGrid's sg_event_id, Twilio's status updates).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
)

# Agents of the chat console added with `escalate agents add` (tenant files may list more).
agents = Table(
    "agents",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("username", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant", "username"),
)

# Root-cause follow-ups (RcaWorkflow): kept current, with the outcome once completed.
rcas = Table(
    "rcas",
    metadata,
    Column("rca_id", String(160), primary_key=True),
    Column("case_id", String(128), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("team", String(64), nullable=False),
    Column("reasons", String(64), nullable=False),  # comma-separated: escalated,breached,p1
    Column("owner", String(400), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("completed_at", UtcDateTime),
    Column("completed_by", String(128)),
    Column("cause_category", String(64)),
    Column("corrective_action", Text),
    Column("action_owner", String(128)),
    Index(None, "case_id"),
    Index(None, "tenant", "opened_at"),
)

# The reply codes staff text back to acknowledge an escalation ("ACK 4821"), one per notice
# and recipient; the staff phone is kept by key, like every address.
ack_codes = Table(
    "ack_codes",
    metadata,
    Column("notice_key", String(200), primary_key=True),
    Column("code", String(8), nullable=False),
    Column("address_key", String(64), nullable=False),
    Column("case_id", String(128), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column(
        "escalation", Integer
    ),  # which escalation of the case asked (a team move keeps the level)
    Column("contact", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    # One phone never holds one code twice (expired ones are cleared before a new one).
    UniqueConstraint("address_key", "code"),
)

# Every time a person had the audit tools show or export message texts (`--reveal`).
audit_reveals = Table(
    "audit_reveals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("command", String(32), nullable=False),
    Column("scope", String(200), nullable=False),  # a case id, or "tenant T since D"
)
