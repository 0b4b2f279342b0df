"""Activities that deliver a case's effects: staff notifications and customer messages.

Each channel has one provider (settings: Twilio or the outbox for SMS, SendGrid or the
outbox for email). The SMS rules are enforced here, in the code that sends, whatever
the workflow believes: an opted-out number is never texted, a proactive text waits for
the recipient's daytime window and the daily cap, a body over 1,600 characters is refused.
"""

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.chat import ChatProvider, WebChat
from activities.email import Email, EmailProvider, OutboxEmail
from activities.notices import NoticeWriter, subject
from activities.outbox import Outbox, OutboxEntry, now_utc
from activities.providers import ProviderFailed
from activities.sms import OutboxSms, Sms, SmsProvider
from domain.channels import DeliveryStatus, Outcome, SendResult, address_key
from domain.effects import NoticeFailure, NoticeResult, NoticeSent, Notify, ReplyToCustomer
from domain.models import Channel
from domain.privacy import mask_email, mask_phone
from domain.quiet_hours import is_proactive, when_to_send
from domain.sms import check_body, segments
from domain.tenant import Route, TenantConfig
from ingress.chat_links import ChatLinks
from ingress.links import AckLinks, RatingLinks
from records.channels import ChannelStore, Delivery
from records.store import StoreUnavailable
from service import metrics

log = structlog.get_logger(__name__)


def _masked(address: str) -> str:
    return mask_email(address) if "@" in address else mask_phone(address)


@dataclass
class DeliveryActivities:
    outbox: Outbox
    channels: ChannelStore
    tenants: dict[str, TenantConfig] = field(default_factory=dict)
    sms: SmsProvider | None = None
    email: EmailProvider | None = None
    public_url: str = "http://localhost:8000"
    # Where staff open a case: the Temporal Web UI (and the agent console for a chat).
    ui_url: str = "http://localhost:8233"
    namespace: str = "default"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # tests set it
    # Signs the chat links in chat offers; the worker passes the configured one (tests that
    # do not check links get one with a throwaway key).
    chat_links: ChatLinks | None = None
    chat: ChatProvider | None = None  # the built-in web chat over `chat_links` by default
    ack_links: AckLinks | None = None  # signs the acknowledge links in escalation notices
    rating_links: RatingLinks | None = None  # signs the rating links in CSAT emails

    def __post_init__(self) -> None:
        self.sms = self.sms or OutboxSms(self.outbox)
        self.email = self.email or OutboxEmail(self.outbox)
        if self.chat_links is None:
            self.chat_links = ChatLinks(
                secrets.token_urlsafe(32), self.public_url, timedelta(days=1)
            )
        self.chat = self.chat or WebChat(self.chat_links, self.outbox)
        self.ack_links = self.ack_links or AckLinks(secrets.token_urlsafe(32), self.public_url)
        self.rating_links = self.rating_links or RatingLinks(
            secrets.token_urlsafe(32), self.public_url
        )
        self.notices = NoticeWriter(
            self.channels,
            self.tenants,
            self.ack_links,
            public_url=self.public_url,
            ui_url=self.ui_url,
            namespace=self.namespace,
            clock=self.clock,
        )

    # ----- staff -----------------------------------------------------------------------------
    @activity.defn(name="notify_escalation")
    async def notify_escalation(self, notice: Notify) -> NoticeResult:
        """Notify every recipient, each on their first channel that takes it (in the order
        the matrix gives); every refusal is reported, with the channel tried next."""
        if not notice.recipients:
            raise ApplicationError(
                f"no recipients for {notice.level.label}",
                type="InvalidRecipient",
                non_retryable=True,
            )
        result = NoticeResult()
        for index, contact in enumerate(notice.recipients):
            routes = contact.routes
            for hop, route in enumerate(routes):
                # The first channel keeps the key a notice always had (a retry finds it sent).
                key = f"{notice.key}:{index}" + (f":{hop}" if hop else "")
                text = await self.notices.text(notice, key, contact, route)
                told = notice.model_copy(update={"text": text})
                try:
                    result.delivered += await self._to_staff(told, key, contact.name, route)
                except ProviderFailed as exc:
                    if not exc.permanent:
                        raise exc.as_activity_error() from exc  # the retry skips those sent
                    then = routes[hop + 1].channel if hop + 1 < len(routes) else None
                    result.failures.append(
                        NoticeFailure(
                            contact=contact.name,
                            channel=route.channel,
                            reason=str(exc)[:300],
                            then=then,
                        )
                    )
                    continue
                # A provider's send is recorded: a bounce reported later names it to the case.
                # (The outbox's are not: nothing to look up.)
                sent = None
                if self._recorded(route.channel):
                    sent = await asyncio.to_thread(self.channels.delivery, key)
                if sent is not None and sent.provider_id:
                    result.sent.append(
                        NoticeSent(
                            contact=index,
                            hop=hop,
                            provider=sent.provider,
                            provider_id=sent.provider_id,
                        )
                    )
                break
        # Counted once, by the attempt that ends (a retried one would count refusals again).
        if result.delivered:
            metrics.NOTIFICATIONS.labels(notice.tenant, notice.kind).inc(result.delivered)
        for failure in result.failures:
            metrics.NOTIFICATION_FAILURES.labels(notice.tenant, failure.channel.value).inc()
        reached = len(notice.recipients) - sum(f.then is None for f in result.failures)
        if reached == 0 and not notice.report:  # a caller that reads no result: fail it
            raise ApplicationError(
                "no recipient could be notified: "
                + "; ".join(f"{f.contact}: {f.reason}" for f in result.failures),
                type="PermanentDeliveryError",
                non_retryable=True,
            )
        log.info(
            "staff notified",
            case_id=notice.case_id,
            tenant=notice.tenant,
            kind=notice.kind,
            level=notice.level.label,
            recipients=len(notice.recipients),
            new=result.delivered,
            failed=len(result.failures),
        )
        return result

    def _recorded(self, channel: Channel) -> bool:
        """Whether a send on `channel` is recorded. The outbox is idempotent on the key itself;
        a real provider is not, so its sends are recorded and checked (and status callbacks
        find them). Voice and chat notices go to the outbox."""
        assert self.sms is not None and self.email is not None  # set in __post_init__
        if channel is Channel.SMS:
            return self.sms.name != "outbox"
        return channel is Channel.EMAIL and self.email.name != "outbox"

    async def _to_staff(self, notice: Notify, key: str, name: str, route: Route) -> int:
        channel, address = route.channel, route.address
        if channel not in (Channel.SMS, Channel.EMAIL):  # voice, chat: the outbox
            entry = OutboxEntry(
                key=key,
                at=now_utc(),
                kind=notice.kind,
                case_id=notice.case_id,
                tenant=notice.tenant,
                channel=channel.value,
                recipient=f"{name} <{_masked(address)}>",
                text=notice.text,
            )
            return await asyncio.to_thread(self.outbox.put, entry)
        tenant = self.tenants.get(notice.tenant)
        assert self.sms is not None and self.email is not None  # set in __post_init__
        provider = self.sms.name if channel is Channel.SMS else self.email.name
        recorded = self._recorded(channel)
        if recorded and await self._already_sent(key):
            return 0
        if not recorded and await asyncio.to_thread(self.outbox.has, key):
            return 0
        if channel is Channel.SMS:
            sender = tenant.sms.numbers[0] if tenant and tenant.sms.numbers else ""
            provider_id = await self.sms.send(
                Sms(
                    key=key,
                    case_id=notice.case_id,
                    tenant=notice.tenant,
                    sender=sender,
                    to=address,
                    body=notice.text,
                    kind=notice.kind,
                    name=name,
                )
            )
        else:
            provider_id = await self.email.send(
                Email(
                    key=key,
                    case_id=notice.case_id,
                    tenant=notice.tenant,
                    sender=_from_address(tenant, notice.tenant),
                    sender_name=tenant.name if tenant else None,
                    to=address,
                    subject=subject(notice),
                    body=notice.text,
                    kind=notice.kind,
                    name=name,
                )
            )
        if not recorded:
            return 1
        await self._record(
            key,
            notice.case_id,
            notice.tenant,
            channel,
            provider,
            provider_id,
            "",
            address,
            proactive=False,
            segments=None,
        )
        return 1

    # ----- customers -------------------------------------------------------------------------
    @activity.defn(name="send_customer_message")
    async def send_customer_message(self, message: ReplyToCustomer) -> SendResult:
        """Send one message to the customer: sent, deferred (quiet hours) or refused."""
        assert self.chat is not None
        if message.chat_link:  # the provider's link, made when sent (it expires from then)
            link = await self.chat.link(message.case_id, message.tenant)
            message = message.model_copy(
                update={"text": message.text.replace("{chat_link}", link), "chat_link": False}
            )
        if message.rating_link:  # the one-click rating page (it expires from now)
            assert self.rating_links is not None  # set in __post_init__
            link = self.rating_links.url(message.case_id, message.tenant)
            message = message.model_copy(
                update={"text": message.text.replace("{rating_link}", link), "rating_link": False}
            )
        if not message.to:
            raise ApplicationError(
                f"the customer has no address for {message.channel.value}",
                type="InvalidRecipient",
                non_retryable=True,
            )
        try:
            if message.channel is Channel.SMS:
                result = await self._sms_to_customer(message)
            elif message.channel is Channel.EMAIL:
                result = await self._email_to_customer(message)
            elif message.channel is Channel.CHAT:
                result = await self.chat.send(message)
            else:  # voice: the local outbox until its provider exists
                entry = OutboxEntry(
                    key=message.key,
                    at=now_utc(),
                    kind="customer",
                    case_id=message.case_id,
                    tenant=message.tenant,
                    channel=message.channel.value,
                    recipient=_masked(message.to),
                    text=message.text,
                )
                await asyncio.to_thread(self.outbox.put, entry)
                result = SendResult(outcome=Outcome.SENT, provider="outbox")
        except ProviderFailed as exc:
            log.warning(
                "customer message failed",
                case_id=message.case_id,
                channel=message.channel.value,
                permanent=exc.permanent,
                error=str(exc),
            )
            raise exc.as_activity_error() from exc
        except StoreUnavailable as exc:
            raise ApplicationError(
                f"case record store unavailable: {exc}", type="StoreUnavailable"
            ) from exc
        log.info(
            "customer message",
            case_id=message.case_id,
            tenant=message.tenant,
            channel=message.channel.value,
            outcome=result.outcome.value,
            reason=result.reason,
        )
        return result

    async def _sms_to_customer(self, message: ReplyToCustomer) -> SendResult:
        assert self.sms is not None and message.to is not None
        tenant = self.tenants.get(message.tenant)
        try:
            check_body(message.body)
        except ValueError as exc:
            return _refused(self.sms.name, str(exc))
        sender = message.sender or (
            tenant.sms.numbers[0] if tenant and tenant.sms.numbers else None
        )
        if sender is None:
            if self.sms.name != "outbox":
                return _refused(self.sms.name, f"tenant {message.tenant} has no SMS number")
            sender = "outbox"
        if await asyncio.to_thread(self.channels.opted_out, sender, message.to):
            return _refused(
                self.sms.name, "the customer opted out of texts from this number (STOP)"
            )
        if await self._already_sent(message.key):
            return SendResult(outcome=Outcome.SENT, provider=self.sms.name, reason="already sent")
        now = self.clock()
        window = tenant.sms.conversation_window if tenant else timedelta(minutes=30)
        proactive = is_proactive(message.last_inbound_at, now, window)
        recent = await asyncio.to_thread(
            self.channels.recent_proactive,
            message.tenant,
            Channel.SMS,
            message.to,
            now - timedelta(hours=24),
        )
        try:
            decision = when_to_send(
                message.to,
                now,
                proactive=proactive,
                recent_proactive=recent,
                fallback_zone=tenant.timezone if tenant else "UTC",
            )
        except ValueError as exc:  # not a phone number we can text
            return _refused(self.sms.name, str(exc))
        if not decision.allowed:
            return SendResult(
                outcome=Outcome.DEFERRED,
                provider=self.sms.name,
                not_before=decision.not_before,
                reason=decision.reason,
            )
        count = segments(message.body).count
        provider_id = await self.sms.send(
            Sms(
                key=message.key,
                case_id=message.case_id,
                tenant=message.tenant,
                sender=sender,
                to=message.to,
                body=message.body,
                status_callback=f"{self.public_url}/webhooks/twilio/status",
            )
        )
        await self._record(
            message.key,
            message.case_id,
            message.tenant,
            Channel.SMS,
            self.sms.name,
            provider_id,
            sender,
            message.to,
            proactive=proactive,
            segments=count,
        )
        return SendResult(
            outcome=Outcome.SENT, provider=self.sms.name, provider_id=provider_id, segments=count
        )

    async def _email_to_customer(self, message: ReplyToCustomer) -> SendResult:
        assert self.email is not None and message.to is not None
        tenant = self.tenants.get(message.tenant)
        if await self._already_sent(message.key):
            return SendResult(outcome=Outcome.SENT, provider=self.email.name, reason="already sent")
        sender = _from_address(tenant, message.tenant)
        reply_to = None
        if tenant is not None and tenant.email.inbound_address:
            token = await asyncio.to_thread(
                self.channels.case_token, message.case_id, message.tenant, self.clock()
            )
            local, _, domain = str(tenant.email.inbound_address).partition("@")
            reply_to = f"{local}+{token}@{domain}"
        brand = tenant.name if tenant else message.tenant
        provider_id = await self.email.send(
            Email(
                key=message.key,
                case_id=message.case_id,
                tenant=message.tenant,
                sender=sender,
                sender_name=(tenant.email.from_name if tenant else None) or brand,
                to=message.to,
                subject=f"{brand}: your case {message.case_id}",
                body=message.text,
                reply_to=reply_to or sender,
                custom_args={"case_id": message.case_id},
            )
        )
        await self._record(
            message.key,
            message.case_id,
            message.tenant,
            Channel.EMAIL,
            self.email.name,
            provider_id,
            sender,
            message.to,
            proactive=False,
            segments=None,
        )
        return SendResult(outcome=Outcome.SENT, provider=self.email.name, provider_id=provider_id)

    # ----- the deliveries record --------------------------------------------------------------
    async def _already_sent(self, key: str) -> bool:
        """A retry of a send the provider already accepted (the record is written right after)."""
        return await asyncio.to_thread(self.channels.delivery, key) is not None

    async def _record(
        self,
        key: str,
        case_id: str,
        tenant: str,
        channel: Channel,
        provider: str,
        provider_id: str,
        sender: str,
        address: str,
        *,
        proactive: bool,
        segments: int | None,
    ) -> None:
        now = self.clock()
        delivery = Delivery(
            key=key,
            case_id=case_id,
            tenant=tenant,
            channel=channel,
            provider=provider,
            provider_id=provider_id,
            sender=sender,
            address_key=address_key(channel, address),
            recipient=_masked(address),
            proactive=proactive,
            segments=segments,
            status=DeliveryStatus.QUEUED,
            error_code=None,
            created_at=now,
            status_at=now,
        )
        try:
            await asyncio.to_thread(self.channels.record_delivery, delivery)
        except StoreUnavailable as exc:
            # The provider has it: failing now would send it again on retry. The cap and the
            # status callbacks lose this one message; say so and go on.
            log.warning("delivery not recorded", case_id=case_id, key=key, error=str(exc))


def _refused(provider: str, reason: str) -> SendResult:
    return SendResult(outcome=Outcome.REFUSED, provider=provider, reason=reason)


def _from_address(tenant: TenantConfig | None, tenant_id: str) -> str:
    if tenant is not None and tenant.email.from_address:
        return str(tenant.email.from_address)
    return f"support@{tenant_id}.invalid"
