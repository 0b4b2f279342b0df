"""What a case does with the fate of its messages: fall back, wait for quiet hours, call back."""

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.channels import Outcome, SendResult
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


def kinds(events):
    return [e.type for e in events]


async def test_a_permanent_sms_failure_sends_the_same_reply_by_email_once(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants, dead_channels={Channel.SMS})
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "Refund issued today"})
        await recorder.delivered(lambda r: any(m.channel is Channel.EMAIL for m in r.replies))
        events = await eventually(
            lambda: timeline(handle), lambda t: "channel_fallback" in kinds(t)
        )
    [email] = [m for m in recorder.replies if m.channel is Channel.EMAIL]
    assert email.to == "ada@example.com" and email.fallback_from is Channel.SMS
    assert email.text == "Refund issued today"  # the SMS options are not offered by email
    fallback = next(e for e in events if e.type == "channel_fallback")
    assert fallback.detail == {"from": "sms", "to": "email", "key": fallback.detail["key"]}
    assert "opted out" in (fallback.reason or "")


async def test_when_every_channel_fails_the_case_says_so_and_stops_trying(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants, dead_channels={Channel.SMS, Channel.EMAIL})
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "Refund issued"})
        events = await eventually(lambda: timeline(handle), lambda t: "delivery_failed" in kinds(t))
        view = await state(handle)
    assert kinds(events).count("channel_fallback") == 1
    failed = next(e for e in events if e.type == "delivery_failed")
    assert "no other channel" in (failed.reason or "")
    assert view.status == "open" and not recorder.replies


async def test_a_text_deferred_for_quiet_hours_goes_when_the_window_opens(
    time_env: WorkflowEnvironment, tenants
):
    opens = datetime.now(UTC) + timedelta(hours=10)
    deferred = SendResult(
        outcome=Outcome.DEFERRED,
        provider="recorder",
        not_before=opens,
        reason="quiet hours in America/New_York (21:00-08:00); opens 08:00",
    )
    recorder = Recorder(tenants, outcomes={Channel.SMS: [deferred]})
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "We will call at 9"})
        events = await eventually(
            lambda: timeline(handle), lambda t: "message_deferred" in kinds(t)
        )
        assert recorder.replies == [] and len(recorder.held) == 1
        await time_env.sleep(timedelta(hours=10, minutes=1))
        await recorder.delivered(lambda r: len(r.replies) == 1)
    [held], [sent] = recorder.held, recorder.replies
    assert sent.key == held.key and sent.text == held.text  # the same message, not a new one
    waited = next(e for e in events if e.type == "message_deferred")
    assert waited.detail["until"] == opens.isoformat() and "quiet hours" in (waited.reason or "")


async def test_opting_out_sends_waiting_texts_by_email_instead(
    time_env: WorkflowEnvironment, tenants
):
    later = SendResult(
        outcome=Outcome.DEFERRED,
        provider="recorder",
        not_before=datetime.now(UTC) + timedelta(hours=10),
        reason="quiet hours",
    )
    recorder = Recorder(tenants, outcomes={Channel.SMS: [later]})
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "Your refund is on its way"})
        await eventually(lambda: timeline(handle), lambda t: "message_deferred" in kinds(t))
        await handle.signal("sms_consent", {"opted_out": True, "keyword": "STOP"})
        await recorder.delivered(lambda r: any(m.channel is Channel.EMAIL for m in r.replies))
        events = await timeline(handle)
        await time_env.sleep(timedelta(hours=11))
        await handle.signal("agent_message", {"agent": "dana", "text": "Anything else?"})
        await recorder.delivered(lambda r: len(r.replies) == 2)
    assert "sms_opted_out" in kinds(events)
    assert [m.channel for m in recorder.replies] == [Channel.EMAIL, Channel.EMAIL]
    assert recorder.replies[0].text.startswith("Your refund is on its way")


async def test_a_failed_delivery_report_moves_the_message_to_email(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "Reset your router"})
        await recorder.delivered(lambda r: len(r.replies) == 1)
        sms = recorder.replies[0]
        await handle.signal(
            "delivery_report",
            {
                "provider": "recorder",
                "provider_id": f"id-{sms.key}",
                "status": "undelivered",
                "error_code": "30003",
            },
        )
        await recorder.delivered(lambda r: len(r.replies) == 2)
        events = await timeline(handle)
    email = recorder.replies[1]
    assert email.channel is Channel.EMAIL and email.text == sms.text
    report = next(e for e in events if e.type == "delivery_report")
    assert report.reason == "undelivered (error 30003)"
    assert "sms undelivered" in (
        next(e for e in events if e.type == "channel_fallback").reason or ""
    )


async def test_yes_to_the_call_back_offer_creates_one_callback_request(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "Checking your bill"})
        await handle.signal("agent_message", {"agent": "dana", "text": "Found it"})
        await recorder.delivered(lambda r: len(r.replies) == 2)
        for sid in ("SM-yes-1", "SM-yes-2"):
            await handle.signal(
                "customer_message", {"channel": "sms", "text": " Yes! ", "provider_message_id": sid}
            )
        await recorder.delivered(lambda r: "callback" in r.kinds() and len(r.replies) == 3)
        events = await eventually(
            lambda: timeline(handle), lambda t: "callback_requested" in kinds(t)
        )
    first, second, ack = recorder.replies
    offer = "Reply YES for a call back, or see https://help.northwind.example/c"
    assert first.options == offer  # offered once, with the tenant's link
    assert first.body == f"Checking your bill\n{offer}"
    assert second.body == "Found it"
    assert ack.text.startswith("Thanks, we will call you back")
    assert (
        kinds(events).count("callback_requested") == 1 and recorder.kinds().count("callback") == 1
    )
