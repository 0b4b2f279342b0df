"""A texting customer is offered the web chat once, when a tenant trigger holds, with why."""

from temporalio.testing import WorkflowEnvironment

from domain.models import Channel
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
    timeline,
)


def offers(recorder: Recorder) -> list:
    return [m for m in recorder.replies if m.chat_link]


def text(body: str, i: int, **extra: object) -> dict[str, object]:
    return {"channel": "sms", "text": body, "provider_message_id": f"SM{i}", **extra}


async def test_asking_for_a_chat_offers_it_once_with_a_link_and_the_reason(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        assert offers(recorder) == []  # a plain first text: no trigger
        await handle.signal("customer_message", text("Can I chat with someone?", 1))
        await recorder.delivered(lambda r: len(offers(r)) == 1)
        for i, body in enumerate(["An agent please", "this is hopeless"], start=2):
            await handle.signal("customer_message", text(body, i, sentiment=-0.9))
        await eventually(lambda: state(handle), lambda s: s.messages == 4)
        events = await timeline(handle)
    [offer] = offers(recorder)
    assert offer.channel is Channel.SMS and offer.to == "+12025550123"
    assert "{chat_link}" in offer.text and "Northwind" in offer.text
    [offered] = [e for e in events if e.type == "chat_offered"]
    assert offered.detail == {"triggers": "asked"} and "'chat'" in (offered.reason or "")


async def test_a_first_text_with_pictures_and_a_long_conversation_each_trigger_it(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        pictures = await open_case(time_env.client, tq, case_input())
        await pictures.signal(
            "customer_message", {"channel": "sms", "media_count": 2, "provider_message_id": "MM1"}
        )
        await recorder.delivered(lambda r: len(offers(r)) == 1)
        long = await open_case(time_env.client, tq, case_input())
        for i in range(1, 7):  # texts 2..7: the seventh is more than 6 exchanges
            await long.signal("customer_message", text(f"still broken, try {i}", i))
        await eventually(lambda: state(long), lambda s: s.messages == 7)
        await recorder.delivered(lambda r: len(offers(r)) == 2)
        events = await timeline(long)
    [offered] = [e for e in events if e.type == "chat_offered"]
    assert offered.detail == {"triggers": "exchanges"}
    assert {o.case_id for o in offers(recorder)} == {
        pictures.id.removeprefix("case-"),
        long.id.removeprefix("case-"),
    }
