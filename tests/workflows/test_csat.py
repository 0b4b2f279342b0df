"""CSAT on the real CaseWorkflow: asked on resolution (waiting out quiet hours like any
text), a rating taken without reopening, a low one notifying the case's level."""

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

RESOLVE = {"actor": "sam", "resolution": "credit issued"}


def asks(recorder: Recorder) -> list:
    return [m for m in recorder.replies if "1 (poor) to 5 (great)" in m.text]


async def test_the_customer_rates_by_text_and_a_low_rating_notifies(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await handle.execute_update("resolve", RESOLVE)
        await recorder.delivered(lambda r: len(asks(r)) == 1)
        [ask] = asks(recorder)
        assert ask.channel is Channel.SMS and ask.to == "+12025550123"
        await handle.signal(
            "customer_message", {"channel": "sms", "text": "2 stars", "provider_message_id": "R1"}
        )
        await recorder.delivered(lambda r: any(n.kind == "csat_low" for n in r.notices))
        view = await eventually(lambda: state(handle), lambda s: s.messages == 2)
        events = await timeline(handle)
    assert view.status.value == "resolved"  # a rating does not reopen the case
    [received] = [e for e in events if e.type == "csat_received"]
    assert received.detail == {"score": 2, "low": True, "source": "reply"}
    assert any("Thank you for your rating" in m.text for m in recorder.replies)


async def test_the_question_waits_out_quiet_hours_like_any_text(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    recorder.outcomes[Channel.SMS] = [
        SendResult(
            outcome=Outcome.DEFERRED,
            provider="recorder",
            not_before=datetime.now(UTC) + timedelta(hours=9),
            reason="quiet hours in America/New_York (21:00-08:00); opens 08:00",
        )
    ]
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await handle.execute_update("resolve", RESOLVE)
        await eventually(
            lambda: timeline(handle), lambda es: any(e.type == "csat_asked" for e in es)
        )
        await recorder.delivered(lambda r: len(r.held) == 1)
        assert asks(recorder) == []  # not at night
        await time_env.sleep(timedelta(hours=9, minutes=5))
        await recorder.delivered(lambda r: len(asks(r)) == 1)


def checks(recorder: Recorder) -> list:
    return [m for m in recorder.replies if "Reply YES if all is well" in m.text]


async def test_days_later_a_no_reopens_the_case_with_its_level(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        escalate = {"actor": "sam", "kind": "hierarchical", "reason": "repeat fault"}
        await handle.execute_update("escalate", escalate)
        await handle.execute_update("resolve", RESOLVE)
        await time_env.sleep(timedelta(days=3, minutes=1))
        await recorder.delivered(lambda r: len(checks(r)) == 1)
        assert (await state(handle)).status.value == "resolved"
        await handle.signal(
            "customer_message", {"channel": "sms", "text": "no", "provider_message_id": "V1"}
        )
        view = await eventually(lambda: state(handle), lambda s: s.status.value == "open")
        events = await timeline(handle)
    assert view.level.label == "L2"
    assert [e.type for e in events if e.type.startswith("verification")] == [
        "verification_asked",
        "verification_failed",
    ]
