"""Delivery activities against the real SQLite outbox, through ActivityEnvironment."""

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from activities.outbox import Outbox
from activities.tenants import TenantActivities
from domain.effects import Notify, ReplyToCustomer
from domain.models import Channel, Level
from domain.tenant import Contact


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
    delivery = DeliveryActivities(Outbox(tmp_path / "outbox.sqlite3"))
    env = ActivityEnvironment()
    assert await env.run(delivery.notify_escalation, notice()) == 2
    assert await env.run(delivery.notify_escalation, notice()) == 0  # the retry
    entries = delivery.outbox.list()
    assert [e.recipient for e in entries] == [
        "Supervisors <s***@n***.example>",
        "On call <+12******143>",
    ]
    assert all("+12025550143" not in e.recipient for e in entries)


async def test_customer_message_without_an_address_fails_permanently(tmp_path):
    delivery = DeliveryActivities(Outbox(tmp_path / "outbox.sqlite3"))
    message = ReplyToCustomer(
        key="k", case_id="c1", tenant="t", channel=Channel.EMAIL, to=None, text="hi"
    )
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(delivery.send_customer_message, message)
    assert err.value.non_retryable and err.value.type == "InvalidRecipient"


async def test_customer_message_is_stored_masked_and_idempotent(tmp_path):
    delivery = DeliveryActivities(Outbox(tmp_path / "outbox.sqlite3"))
    message = ReplyToCustomer(
        key="c1:r:7",
        case_id="c1",
        tenant="t",
        channel=Channel.SMS,
        to="+12025550123",
        text="We are on it",
    )
    env = ActivityEnvironment()
    assert await env.run(delivery.send_customer_message, message) is True
    assert await env.run(delivery.send_customer_message, message) is False
    [entry] = delivery.outbox.list(case_id="c1")
    assert entry.recipient == "+12******123" and entry.text == "We are on it"


async def test_unknown_tenant_is_a_permanent_error(tenants):
    activities = TenantActivities(tenants)
    with pytest.raises(ApplicationError, match="unknown tenant 'nope'") as err:
        await ActivityEnvironment().run(activities.load_tenant_policy, "nope")
    assert err.value.non_retryable
    policy = await ActivityEnvironment().run(activities.load_tenant_policy, "northwind-telecom")
    assert policy.holiday_dates and policy.config.id == "northwind-telecom"
