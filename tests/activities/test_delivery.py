"""Delivery activities against the real SQLite outbox, through ActivityEnvironment."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.chat import WebChat
from activities.delivery import DeliveryActivities
from activities.outbox import Outbox
from activities.providers import ProviderFailed
from activities.tenants import TenantActivities
from domain.channels import Outcome, SendResult
from domain.effects import Notify, ReplyToCustomer
from domain.models import Channel, Level
from domain.tenant import Contact
from ingress.chat_links import ChatLinks
from records import migrate
from records.channels import ChannelStore
from records.store import sqlite_url

# Midday in New York: inside every US number's sending window.
NOON_NY = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)


def outbox_delivery(tmp_path, tenants=None, **options) -> DeliveryActivities:
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    return DeliveryActivities(
        Outbox(tmp_path / "outbox.sqlite3"),
        ChannelStore(url),
        tenants or {},
        clock=lambda: NOON_NY,
        **options,
    )


def notice(key: str = "c1:run:1") -> Notify:
    return Notify(
        key=key,
        kind="escalation",
        case_id="c1",
        tenant="northwind-telecom",
        level=Level.L2,
        team="billing",
        text="Case c1 escalated",
        recipients=[
            Contact(name="Supervisors", channel=Channel.EMAIL, address="sup@northwind.example"),
            Contact(name="On call", channel=Channel.SMS, address="+12025550143"),
        ],
    )


async def test_a_retried_notification_is_delivered_once(tmp_path):
    delivery = outbox_delivery(tmp_path)
    env = ActivityEnvironment()
    assert (await env.run(delivery.notify_escalation, notice())).delivered == 2
    assert (await env.run(delivery.notify_escalation, notice())).delivered == 0  # the retry
    entries = delivery.outbox.list()
    assert [e.recipient for e in entries] == [
        "Supervisors <s***@n***.example>",
        "On call <+12******143>",
    ]
    assert all("+12025550143" not in e.recipient for e in entries)


async def test_customer_message_without_an_address_fails_permanently(tmp_path):
    delivery = outbox_delivery(tmp_path)
    message = ReplyToCustomer(
        key="k", case_id="c1", tenant="t", channel=Channel.EMAIL, to=None, text="hi"
    )
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(delivery.send_customer_message, message)
    assert err.value.non_retryable and err.value.type == "InvalidRecipient"


async def test_customer_message_is_stored_masked_and_idempotent(tmp_path):
    delivery = outbox_delivery(tmp_path)
    message = ReplyToCustomer(
        key="c1:r:7",
        case_id="c1",
        tenant="t",
        channel=Channel.SMS,
        to="+12025550123",
        text="We are on it",
    )
    env = ActivityEnvironment()
    first = await env.run(delivery.send_customer_message, message)
    again = await env.run(delivery.send_customer_message, message)
    assert first.outcome is Outcome.SENT and first.provider == "outbox"
    assert again.outcome is Outcome.SENT and again.reason == "already sent"
    [entry] = delivery.outbox.list(case_id="c1")
    assert entry.recipient == "+12******123" and entry.text == "We are on it"


async def test_unknown_tenant_is_a_permanent_error(tenants):
    activities = TenantActivities(tenants)
    with pytest.raises(ApplicationError, match="unknown tenant 'nope'") as err:
        await ActivityEnvironment().run(activities.load_tenant_policy, "nope")
    assert err.value.non_retryable
    policy = await ActivityEnvironment().run(activities.load_tenant_policy, "northwind-telecom")
    assert policy.holiday_dates and policy.config.id == "northwind-telecom"


async def test_a_chat_offer_goes_out_with_a_signed_link_for_its_case(tmp_path):
    links = ChatLinks("k" * 32, "https://support.example.com", timedelta(hours=1))
    delivery = outbox_delivery(tmp_path)
    delivery.chat = WebChat(links, delivery.outbox)
    offer = ReplyToCustomer(
        key="c1:r:9",
        case_id="c1",
        tenant="t",
        channel=Channel.SMS,
        to="+12025550123",
        text="Let's continue in a chat: {chat_link} - Brand",
        chat_link=True,
    )
    result = await ActivityEnvironment().run(delivery.send_customer_message, offer)
    assert result.outcome is Outcome.SENT
    [entry] = delivery.outbox.list(case_id="c1")
    url = entry.text.split("chat: ")[1].split(" - ")[0]
    assert url.startswith("https://support.example.com/chat/c1?t=") and "{" not in entry.text
    links.check("c1", url.split("?t=")[1])


@dataclass
class Conversations:
    """Another chat provider, as Twilio Conversations would plug in: its own link and send."""

    sent: list[ReplyToCustomer] = field(default_factory=list)
    down: bool = False
    name: str = "conversations"

    async def link(self, case_id: str, tenant: str) -> str:
        return f"https://chat.example.net/{tenant}/{case_id}"

    async def send(self, message: ReplyToCustomer) -> SendResult:
        if self.down:
            raise ProviderFailed(self.name, "503 from the provider", permanent=False)
        self.sent.append(message)
        return SendResult(outcome=Outcome.SENT, provider=self.name, provider_id="CH1")


async def test_another_chat_provider_plugs_in_for_links_and_chat_messages(tmp_path):
    provider = Conversations()
    delivery = outbox_delivery(tmp_path)
    delivery.chat = provider
    env = ActivityEnvironment()
    offer = ReplyToCustomer(
        key="c1:r:1",
        case_id="c1",
        tenant="t",
        channel=Channel.SMS,
        to="+12025550123",
        text="Chat with us: {chat_link}",
        chat_link=True,
    )
    await env.run(delivery.send_customer_message, offer)
    [texted] = delivery.outbox.list(case_id="c1")
    assert texted.text == "Chat with us: https://chat.example.net/t/c1"
    reply = ReplyToCustomer(
        key="c1:r:2", case_id="c1", tenant="t", channel=Channel.CHAT, to="cust-1", text="Hi!"
    )
    result = await env.run(delivery.send_customer_message, reply)
    assert (result.provider, result.provider_id) == ("conversations", "CH1")
    assert [m.text for m in provider.sent] == ["Hi!"]
    provider.down = True
    with pytest.raises(ApplicationError) as err:
        await env.run(delivery.send_customer_message, reply.model_copy(update={"key": "c1:r:3"}))
    assert not err.value.non_retryable  # a provider outage is retried


async def test_staff_get_a_paragraph_on_the_case_and_its_links_texts_stay_short(tmp_path):
    delivery = outbox_delivery(
        tmp_path, ui_url="https://temporal.example.com", public_url="https://bpo.example"
    )
    told = notice().model_copy(
        update={
            "summary": "A standard customer's billing case on chat, open since 2026-06-03.",
            "in_chat": True,
        }
    )
    await ActivityEnvironment().run(delivery.notify_escalation, told)
    email, sms = delivery.outbox.list()
    assert email.text.split("\n\n") == [
        "[[escalation] case c1 (L2)] Case c1 escalated",  # the outbox shows the subject
        "A standard customer's billing case on chat, open since 2026-06-03.",
        "Open the case: https://temporal.example.com/namespaces/default/workflows/case-c1",
        "In chat: https://bpo.example/console/cases/c1",
    ]
    assert sms.text == (
        "Case c1 escalated https://temporal.example.com/namespaces/default/workflows/case-c1"
    )


async def test_a_rating_question_by_email_carries_its_signed_one_click_link(tmp_path, tenants):
    from ingress.links import RatingLinks

    links = RatingLinks("r" * 32, "https://bpo.example")
    delivery = outbox_delivery(tmp_path, public_url="https://bpo.example", rating_links=links)
    ask = ReplyToCustomer(
        key="c1:r:9",
        case_id="c1",
        tenant="northwind-telecom",
        channel=Channel.EMAIL,
        to="ada@example.com",
        text="How did we do? Rate us in one click: {rating_link}",
        rating_link=True,
    )
    await ActivityEnvironment().run(delivery.send_customer_message, ask)
    [sent] = delivery.outbox.list()
    url = sent.text.split("one click: ")[1].split()[0]
    assert url.startswith("https://bpo.example/rate/") and "{rating_link}" not in sent.text
    claim = links.read(url.rsplit("/", 1)[1], tenants)
    assert (claim.case_id, claim.tenant) == ("c1", "northwind-telecom")
