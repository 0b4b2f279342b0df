"""A texting customer is offered the web chat once, when a tenant trigger holds, with why."""

from datetime import timedelta

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
    return {"channel": "sms", "text": body, "provider_message_id": f"SM{i}"} | extra


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


async def offered(time_env: WorkflowEnvironment, recorder: Recorder, tq: str):
    handle = await open_case(time_env.client, tq, case_input())
    await handle.signal("customer_message", text("can we chat instead?", 1))
    await recorder.delivered(lambda r: len(offers(r)) == 1)
    return handle


async def test_a_chat_never_opened_goes_back_to_sms_as_a_handoff_error(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await offered(time_env, recorder, tq)
        waiting = await state(handle)
        assert waiting.chat is not None and waiting.chat.active and waiting.chat.gives_up_at
        assert waiting.chat.gives_up_at - waiting.chat.offered_at == timedelta(minutes=15)
        await time_env.sleep(timedelta(minutes=16))
        view = await eventually(lambda: state(handle), lambda s: not s.chat.active)
        await recorder.delivered(lambda r: any("keep helping" in m.text for m in r.replies))
        events = await timeline(handle)
    assert view.chat.handoff_errors == 1 and view.channel is Channel.SMS
    [fallback] = [e for e in events if e.type == "chat_fallback"]
    assert fallback.detail == {"handoff_error": True} and "did not open" in fallback.reason
    [back] = [m for m in recorder.replies if "keep helping" in m.text]
    assert back.channel is Channel.SMS and back.to == "+12025550123"


async def test_a_joined_chat_that_goes_quiet_returns_to_sms_without_an_error(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await offered(time_env, recorder, tq)
        for _ in range(2):  # the page opened twice (two tabs): joined once
            await handle.signal("chat_joined", {})
        await handle.signal("customer_message", text("here is the photo", 2, channel="chat"))
        joined = await eventually(lambda: state(handle), lambda s: s.messages == 3)
        assert joined.channel is Channel.CHAT and joined.chat.joined_at is not None
        await handle.signal("agent_message", {"agent": "dana", "text": "Got it, thanks"})
        await recorder.delivered(lambda r: any(m.channel is Channel.CHAT for m in r.replies))
        await time_env.sleep(timedelta(minutes=31))
        view = await eventually(lambda: state(handle), lambda s: not s.chat.active)
        await recorder.delivered(lambda r: any("heard from you" in m.text for m in r.replies))
        events = await timeline(handle)
    assert view.chat.handoff_errors == 0 and view.channel is Channel.SMS
    assert [e.type for e in events].count("chat_joined") == 1
    [fallback] = [e for e in events if e.type == "chat_fallback"]
    assert fallback.detail == {"handoff_error": False} and "nothing written" in fallback.reason


def harbour_case():
    return case_input(
        "harbour-retail",
        customer={"id": "cust-7", "name": "Ola", "phone": "+447700123456"},
        category=None,
        message="Where is my order?",
    )


async def in_harbour_chat(time_env: WorkflowEnvironment, recorder: Recorder, tq: str):
    handle = await open_case(time_env.client, tq, harbour_case())
    await handle.signal("customer_message", text("can we chat?", 1))
    await recorder.delivered(lambda r: len(offers(r)) == 1)
    await handle.signal("chat_joined", {})
    return handle


async def test_the_faq_bot_answers_in_the_chat_until_the_customer_asks_for_a_person(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await in_harbour_chat(time_env, recorder, tq)
        await handle.signal(
            "customer_message", text("how can I return a jacket", 2, channel="chat")
        )
        answered = await eventually(lambda: state(handle), lambda s: s.messages == 4)
        assert answered.chat is not None and answered.chat.bot == "answering"
        bot = answered.last_messages[-1]
        assert bot.author.value == "bot" and bot.channel is Channel.CHAT
        assert "within 30 days" in bot.text  # the sample FAQ's returns answer
        await handle.signal("customer_message", text("let me talk to a person", 3, channel="chat"))
        await recorder.delivered(lambda r: any(n.kind == "chat_handover" for n in r.notices))
        handed = await eventually(lambda: state(handle), lambda s: s.chat.bot == "handed_over")
        await handle.signal("customer_message", text("how do I return it?", 4, channel="chat"))
        after = await eventually(lambda: state(handle), lambda s: s.messages == handed.messages + 1)
        events = await timeline(handle)
    assert recorder.questions == ["how can I return a jacket"]  # none after the handover
    assert after.last_messages[-1].author.value == "customer"
    [handover] = [e for e in events if e.type == "bot_handover"]
    assert handover.actor == "customer" and "'person'" in (handover.reason or "")
    [notice] = [n for n in recorder.notices if n.kind == "chat_handover"]
    assert notice.case_id == handle.id.removeprefix("case-") and "+44" not in notice.text


async def test_a_faq_that_cannot_be_reached_hands_the_chat_to_a_person(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants, faq_down=True)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await in_harbour_chat(time_env, recorder, tq)
        await handle.signal("customer_message", text("returns?", 2, channel="chat"))
        view = await eventually(lambda: state(handle), lambda s: s.chat.bot == "handed_over")
        events = await timeline(handle)
    [handover] = [e for e in events if e.type == "bot_handover"]
    assert "unavailable" in (handover.reason or "") and view.chat.bot == "handed_over"
