"""The channels' records: SMS consent, conversations, deliveries, reply tokens, webhook events.

Addresses are stored by key (`domain.channels.address_key`), never in clear. Synchronous,
like CaseStore: callers run it in a thread.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from domain.channels import DeliveryStatus, address_key
from domain.models import Channel
from records.schema import (
    ack_codes,
    case_tokens,
    conversations,
    deliveries,
    sms_consent,
    webhook_events,
)
from records.store import (
    StoreUnavailable,
    open_engine,
    unavailable_as_retryable,
    write_transaction,
)


@dataclass(frozen=True)
class Consent:
    opted_out: bool
    keyword: str
    changed_at: datetime


@dataclass(frozen=True)
class AckCode:
    code: str
    case_id: str
    tenant: str
    level: int
    contact: str
    created_at: datetime
    escalation: int | None = None


@dataclass(frozen=True)
class Delivery:
    key: str
    case_id: str
    tenant: str
    channel: Channel
    provider: str
    provider_id: str | None
    sender: str
    address_key: str
    recipient: str  # masked
    proactive: bool
    segments: int | None
    status: DeliveryStatus
    error_code: str | None
    created_at: datetime
    status_at: datetime


class ChannelStore:
    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        if engine is None:
            if url is None:
                raise ValueError("a URL or an engine")
            engine = open_engine(url)
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # ----- consent -------------------------------------------------------------------------
    def consent(self, tenant_number: str, customer_number: str) -> Consent | None:
        key = address_key(Channel.SMS, customer_number)
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(
                select(sms_consent).where(
                    sms_consent.c.tenant_number == tenant_number, sms_consent.c.address_key == key
                )
            ).first()
        if row is None:
            return None
        return Consent(opted_out=row.opted_out, keyword=row.keyword, changed_at=row.changed_at)

    def opted_out(self, tenant_number: str, customer_number: str) -> bool:
        found = self.consent(tenant_number, customer_number)
        return found is not None and found.opted_out

    def set_consent(
        self,
        tenant: str,
        tenant_number: str,
        customer_number: str,
        opted_out: bool,
        keyword: str,
        at: datetime,
    ) -> bool:
        """Record an opt-out or opt-in; True if it changed the number's state."""
        key = address_key(Channel.SMS, customer_number)
        values = {
            "tenant_number": tenant_number,
            "address_key": key,
            "tenant": tenant,
            "opted_out": opted_out,
            "keyword": keyword[:32],
            "changed_at": at,
        }
        with write_transaction(self.engine) as conn:
            before = conn.execute(
                select(sms_consent.c.opted_out).where(
                    sms_consent.c.tenant_number == tenant_number, sms_consent.c.address_key == key
                )
            ).scalar()
            if before is opted_out:
                return False
            stmt = self._insert(sms_consent).values(values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[sms_consent.c.tenant_number, sms_consent.c.address_key],
                    set_={k: stmt.excluded[k] for k in ("opted_out", "keyword", "changed_at")},
                )
            )
        # A number never seen before that opts in changes nothing a sender would notice.
        return before is not None or opted_out

    # ----- conversations -------------------------------------------------------------------
    def conversation(self, tenant: str, channel: Channel, address: str) -> str | None:
        """The open case of this customer address, if any."""
        with unavailable_as_retryable(), self.engine.connect() as conn:
            return conn.execute(
                select(conversations.c.case_id).where(
                    conversations.c.tenant == tenant,
                    conversations.c.channel == channel.value,
                    conversations.c.address_key == address_key(channel, address),
                )
            ).scalar()

    def claim_conversation(
        self, tenant: str, channel: Channel, address: str, case_id: str, at: datetime
    ) -> str:
        """The open case of this address: `case_id` if there was none, else the existing one.

        Two first messages racing each other both get the same case id.
        """
        key = address_key(channel, address)
        with write_transaction(self.engine) as conn:
            self._add_conversation(conn, tenant, channel, key, case_id, at)
            winner = conn.execute(
                select(conversations.c.case_id).where(
                    conversations.c.tenant == tenant,
                    conversations.c.channel == channel.value,
                    conversations.c.address_key == key,
                )
            ).scalar_one()
        return str(winner)

    def replace_conversation(
        self,
        tenant: str,
        channel: Channel,
        address: str,
        old_case_id: str,
        new_case_id: str,
        at: datetime,
    ) -> str:
        """Point the address at `new_case_id` if it still points at the (closed) old case;
        the case it points at afterwards (another caller may have replaced it first)."""
        key = address_key(channel, address)
        where = and_(
            conversations.c.tenant == tenant,
            conversations.c.channel == channel.value,
            conversations.c.address_key == key,
        )
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(conversations)
                .where(where, conversations.c.case_id == old_case_id)
                .values(case_id=new_case_id, started_at=at)
            )
            current = conn.execute(select(conversations.c.case_id).where(where)).scalar()
            if current is None:
                self._add_conversation(conn, tenant, channel, key, new_case_id, at)
                current = conn.execute(select(conversations.c.case_id).where(where)).scalar_one()
        return str(current)

    def _add_conversation(
        self, conn: Connection, tenant: str, channel: Channel, key: str, case_id: str, at: datetime
    ) -> None:
        """Point the address at `case_id` unless another case already holds it."""
        conn.execute(
            self._insert(conversations)
            .values(
                tenant=tenant,
                channel=channel.value,
                address_key=key,
                case_id=case_id,
                started_at=at,
            )
            .on_conflict_do_nothing()
        )

    def end_conversations(self, case_id: str) -> int:
        """Forget the addresses that lead to a closed case: their next message opens a new one."""
        with write_transaction(self.engine) as conn:
            return conn.execute(
                delete(conversations).where(conversations.c.case_id == case_id)
            ).rowcount

    # ----- deliveries ----------------------------------------------------------------------
    def delivery(self, key: str) -> Delivery | None:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.key == key)).first()
        return _delivery(row._mapping) if row is not None else None

    def delivery_by_provider_id(self, provider: str, provider_id: str) -> Delivery | None:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(
                select(deliveries).where(
                    deliveries.c.provider == provider, deliveries.c.provider_id == provider_id
                )
            ).first()
        return _delivery(row._mapping) if row is not None else None

    def record_delivery(self, delivery: Delivery) -> bool:
        """Keep a message the provider accepted; False if its key was already recorded."""
        values = {
            **delivery.__dict__,
            "channel": delivery.channel.value,
            "status": delivery.status.value,
        }
        with write_transaction(self.engine) as conn:
            # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
            inserted = conn.execute(
                self._insert(deliveries)
                .values(values)
                .on_conflict_do_nothing()
                .returning(deliveries.c.key)
            ).first()
        return inserted is not None

    def update_delivery_status(
        self,
        provider: str,
        provider_id: str,
        status: DeliveryStatus,
        error_code: str | None,
        at: datetime,
    ) -> Delivery | None:
        """Apply a provider's status report; the delivery as it now stands, None if unknown.

        Reports arrive out of order: a later report never moves a message backwards
        (delivered stays delivered when a late `sent` comes in).
        """
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(deliveries).where(
                    deliveries.c.provider == provider, deliveries.c.provider_id == provider_id
                )
            ).first()
            if row is None:
                return None
            current = DeliveryStatus(row.status)
            if _RANK[status] >= _RANK[current]:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key == row.key)
                    .values(status=status.value, error_code=error_code, status_at=at)
                )
            row = conn.execute(select(deliveries).where(deliveries.c.key == row.key)).one()
        return _delivery(row._mapping)

    def recent_proactive(
        self, tenant: str, channel: Channel, address: str, since: datetime
    ) -> list[datetime]:
        """When proactive messages went to this address since `since` (for the daily cap)."""
        with unavailable_as_retryable(), self.engine.connect() as conn:
            return list(
                conn.scalars(
                    select(deliveries.c.created_at)
                    .where(
                        deliveries.c.tenant == tenant,
                        deliveries.c.channel == channel.value,
                        deliveries.c.address_key == address_key(channel, address),
                        deliveries.c.proactive.is_(True),
                        deliveries.c.created_at >= since,
                    )
                    .order_by(deliveries.c.created_at)
                )
            )

    # ----- reply tokens --------------------------------------------------------------------
    def case_token(self, case_id: str, tenant: str, at: datetime) -> str:
        """The case's reply-to token (made once, then always the same)."""
        with write_transaction(self.engine) as conn:
            found = conn.execute(
                select(case_tokens.c.token).where(case_tokens.c.case_id == case_id)
            ).scalar()
            if found is not None:
                return str(found)
            token = secrets.token_hex(8)
            conn.execute(
                case_tokens.insert().values(
                    token=token, case_id=case_id, tenant=tenant, created_at=at
                )
            )
        return token

    def case_for_token(self, token: str) -> tuple[str, str] | None:
        """(case id, tenant) of a reply-to token."""
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(
                select(case_tokens.c.case_id, case_tokens.c.tenant).where(
                    case_tokens.c.token == token.casefold()
                )
            ).first()
        return (row.case_id, row.tenant) if row is not None else None

    # ----- acknowledgement reply codes -----------------------------------------------------
    def ack_code(
        self,
        notice_key: str,
        address: str,
        code: AckCode,
        expires_at: datetime,
    ) -> str:
        """The reply code of one notice to one person (made once: a retry gets the same).

        `code.code` is a proposal; if that person already holds it, another is picked, so
        "ACK 1234" from one phone means one case (a unique key guards two notices at once).
        """
        key = address_key(Channel.SMS, address)
        chosen = code.code
        for _ in range(20):
            try:
                with write_transaction(self.engine) as conn:
                    found = conn.execute(
                        select(ack_codes.c.code).where(ack_codes.c.notice_key == notice_key)
                    ).scalar()
                    if found is not None:
                        return str(found)
                    conn.execute(  # this phone's expired codes free their numbers
                        delete(ack_codes).where(
                            ack_codes.c.address_key == key,
                            ack_codes.c.expires_at <= code.created_at,
                        )
                    )
                    taken = set(
                        conn.execute(
                            select(ack_codes.c.code).where(ack_codes.c.address_key == key)
                        ).scalars()
                    )
                    while chosen in taken:
                        chosen = f"{secrets.randbelow(10_000):04d}"
                    conn.execute(
                        ack_codes.insert().values(
                            notice_key=notice_key,
                            code=chosen,
                            address_key=key,
                            case_id=code.case_id,
                            tenant=code.tenant,
                            level=code.level,
                            escalation=code.escalation,
                            contact=code.contact,
                            created_at=code.created_at,
                            expires_at=expires_at,
                        )
                    )
                return chosen
            except IntegrityError:
                chosen = f"{secrets.randbelow(10_000):04d}"  # taken a moment ago: another
        raise StoreUnavailable("no free reply code for this phone")

    def live_ack_codes(self, address: str, at: datetime, code: str | None = None) -> list[AckCode]:
        """The codes `address` may still text back (or the one it names), newest first."""
        key = address_key(Channel.SMS, address)
        query = select(ack_codes).where(ack_codes.c.address_key == key, ack_codes.c.expires_at > at)
        if code is not None:
            query = query.where(ack_codes.c.code == code)
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(ack_codes.c.created_at.desc()).limit(200)).all()
        return [
            AckCode(
                code=r.code,
                case_id=r.case_id,
                tenant=r.tenant,
                level=r.level,
                contact=r.contact,
                created_at=r.created_at,
                escalation=r.escalation,
            )
            for r in rows
        ]

    # ----- webhook events ------------------------------------------------------------------
    def first_time(self, provider: str, event_id: str, at: datetime) -> bool:
        """Note a provider event; True the first time it is seen."""
        with write_transaction(self.engine) as conn:
            inserted = conn.execute(
                self._insert(webhook_events)
                .values(provider=provider, event_id=event_id[:128], received_at=at)
                .on_conflict_do_nothing()
                .returning(webhook_events.c.event_id)
            ).first()
        return inserted is not None


_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.UNDELIVERED: 2,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


def _delivery(row: Any) -> Delivery:
    values = dict(row)
    values["channel"] = Channel(values["channel"])
    values["status"] = DeliveryStatus(values["status"])
    return Delivery(**values)
