"""Case scenarios whose histories are recorded into tests/histories and replayed in CI."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.digest import DigestActivities
from domain.channels import Outcome, SendResult
from domain.digest import digest_id
from domain.effects import Notify
from domain.models import Channel, Level
from tests.workflows.support import (
    FIRST_RUN,
    Recorder,
    case_input,
    eventually,
    open_case,
    query_once_started,
    state,
    timeline,
)
from workflows.case import CaseRun

Scenario = Callable[[WorkflowEnvironment, str, Recorder], Awaitable[WorkflowHandle[Any, Any]]]


async def ladder(
    env: WorkflowEnvironment, tq: str, _recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """Client keyword -> L2, ack timeouts to L4, reminders, acknowledge, resolve, close."""
    handle = await open_case(
        env.client, tq, case_input(case_id="replay-ladder", message="I need a manager")
    )
    await eventually(lambda: state(handle), lambda s: s.level == Level.L2)
    await env.sleep(timedelta(hours=3))
    await eventually(lambda: state(handle), lambda s: s.level == Level.L4)
    await handle.execute_update("acknowledge", {"actor": "kim"})
    await handle.execute_update("resolve", {"actor": "kim", "resolution": "credited"})
    await handle.signal("close", {"actor": "kim"})
    await handle.result()
    return handle


async def sla_clocks(
    env: WorkflowEnvironment, tq: str, _recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """Warning, breach, pause/resume, priority change, agent replies, malformed signals."""
    handle = await open_case(env.client, tq, case_input(case_id="replay-sla", priority="P2"))
    await eventually(lambda: state(handle), lambda s: s.messages == 1)
    await env.sleep(timedelta(hours=6))
    await handle.signal("agent_message", {"agent": "dana", "text": "Looking into it"})
    await handle.signal("set_priority", {"actor": "sam", "priority": "P9"})
    await handle.execute_update("await_customer", {"actor": "dana"})
    await env.sleep(timedelta(days=2))
    await handle.signal(
        "customer_message", {"channel": "chat", "text": "here you go", "provider_message_id": "C1"}
    )
    await handle.execute_update(
        "set_priority", {"actor": "sam", "priority": "P1", "reason": "outage"}
    )
    await env.sleep(timedelta(hours=1))
    await handle.signal(
        "escalate", {"actor": "sam", "kind": "functional", "to_team": "technical", "reason": "x"}
    )
    await handle.execute_update("resolve", {"actor": "sam", "resolution": "fixed"})
    await env.sleep(timedelta(days=8))
    await handle.result()
    return handle


async def continued(
    env: WorkflowEnvironment, tq: str, _recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """A run that continues as new while messages arrive (its first run is recorded)."""
    handle = await open_case(
        env.client, tq, case_input(case_id="replay-can"), run=CaseRun(continue_after_events=30)
    )
    await eventually(lambda: state(handle), lambda s: s.messages == 1)
    for batch in range(4):
        await asyncio.gather(
            *(
                handle.signal(
                    "customer_message",
                    {
                        "channel": "sms",
                        "text": f"m{batch}-{i}",
                        "provider_message_id": f"M{batch}{i}",
                    },
                )
                for i in range(5)
            )
        )
    await eventually(lambda: state(handle), lambda s: s.messages == 21)
    return handle


async def channels(
    env: WorkflowEnvironment, tq: str, recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """A text deferred for quiet hours, a call-back YES, a failed delivery moving to email,
    an opt-out: the `channel-outcomes` paths."""
    recorder.outcomes[Channel.SMS] = [
        SendResult(
            outcome=Outcome.DEFERRED,
            provider="recorder",
            not_before=datetime.now(UTC) + timedelta(hours=2),
            reason="quiet hours in America/New_York (21:00-08:00); opens 08:00",
        )
    ]
    handle = await open_case(env.client, tq, case_input(case_id="replay-channels"))
    await eventually(lambda: state(handle), lambda s: s.messages == 1)
    await handle.signal("agent_message", {"agent": "dana", "text": "We will look first thing"})
    await eventually(lambda: asyncio.sleep(0, len(recorder.held)), lambda held: held == 1)
    await env.sleep(timedelta(hours=2, minutes=5))
    await eventually(lambda: asyncio.sleep(0, len(recorder.replies)), lambda n: n == 1)
    await handle.signal(
        "customer_message", {"channel": "sms", "text": "YES", "provider_message_id": "SM-Y"}
    )
    await eventually(lambda: asyncio.sleep(0, len(recorder.replies)), lambda n: n == 2)
    await handle.signal("agent_message", {"agent": "dana", "text": "Calling you at 10"})
    await eventually(lambda: asyncio.sleep(0, len(recorder.replies)), lambda n: n == 3)
    failed = recorder.replies[2]
    await handle.signal(
        "delivery_report",
        {"provider": "recorder", "provider_id": f"id-{failed.key}", "status": "undelivered"},
    )
    await eventually(lambda: asyncio.sleep(0, len(recorder.replies)), lambda n: n == 4)
    await handle.signal("sms_consent", {"opted_out": True, "keyword": "STOP"})
    await handle.execute_update("resolve", {"actor": "dana", "resolution": "called back"})
    await handle.signal("close", {"actor": "dana"})
    await handle.result()
    return handle


async def chat(env: WorkflowEnvironment, tq: str, recorder: Recorder) -> WorkflowHandle[Any, Any]:
    """SMS to chat: a text asking for a chat, the link offered, the chat opened, the FAQ bot
    answering then handing over, an agent's reply with its id sent twice, the chat going
    quiet and the case back on SMS, then resolved and closed: the `chat-handoff` paths."""
    case = case_input(
        "harbour-retail",
        case_id="replay-chat",
        customer={"id": "cust-7", "name": "Ola", "phone": "+447700123456"},
        category=None,
        message="Where is my order?",
    )
    handle = await open_case(env.client, tq, case)

    def said(body: str, i: int, channel: str = "sms") -> dict[str, Any]:
        return {"channel": channel, "text": body, "provider_message_id": f"M{i}"}

    await handle.signal("customer_message", said("can we chat?", 1))
    await eventually(lambda: asyncio.sleep(0, len(recorder.replies)), lambda n: n >= 1)
    await handle.signal("chat_joined", {})
    await handle.signal("customer_message", said("how do I return a jacket", 2, "chat"))
    await eventually(lambda: state(handle), lambda s: s.messages == 4)  # the bot answered
    await handle.signal("customer_message", said("a person please", 3, "chat"))
    await eventually(lambda: state(handle), lambda s: s.chat.bot == "handed_over")
    reply = {"agent": "kim", "text": "Kim here, checking", "message_id": "console-1"}
    for _ in range(2):
        await handle.execute_update("agent_message", reply)
    await env.sleep(timedelta(minutes=31))
    await eventually(lambda: state(handle), lambda s: not s.chat.active)
    await handle.execute_update("resolve", {"actor": "kim", "resolution": "label sent"})
    await handle.signal("close", {"actor": "kim"})
    await handle.result()
    return handle


async def _resolved_with_rca(
    env: WorkflowEnvironment, tq: str, recorder: Recorder, case_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowHandle[Any, Any]]:
    handle = await open_case(env.client, tq, case_input(case_id=case_id))
    escalate = {"actor": "sam", "kind": "hierarchical", "reason": "wants a manager"}
    await handle.execute_update("escalate", escalate)
    await handle.execute_update("resolve", {"actor": "sam", "resolution": "credit given"})
    await eventually(
        lambda: timeline(handle), lambda events: any(e.type == "rca_opened" for e in events)
    )
    rca = env.client.get_workflow_handle(f"rca-{case_id}-1")
    await eventually(lambda: query_once_started(rca), lambda s: s is not None)
    return handle, rca


async def rca_case(
    env: WorkflowEnvironment, tq: str, recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """An escalated case resolved: it opens its RCA (a child), then closes: `rca-follow-up`."""
    handle, _ = await _resolved_with_rca(env, tq, recorder, "replay-rca-case")
    await handle.signal("close", {"actor": "sam"})
    await handle.result()
    return handle


async def rca(env: WorkflowEnvironment, tq: str, recorder: Recorder) -> WorkflowHandle[Any, Any]:
    """An RCA's whole life: opened, two reminders, overdue twice, a refused completion,
    then completed through the update."""
    _, follow_up = await _resolved_with_rca(env, tq, recorder, "replay-rca")
    await env.sleep(timedelta(days=8))  # past the due date (business time) and a day more
    await eventually(lambda: follow_up.query("state"), lambda s: s["overdue_notices"] >= 2)
    await follow_up.signal("complete", {"actor": "sam"})
    done = {
        "actor": "sam",
        "cause_category": "process",
        "corrective_action": "one queue for billing disputes",
        "action_owner": "dana",
    }
    await follow_up.execute_update("complete", done)
    await follow_up.result()
    FIRST_RUN[follow_up.id] = (await follow_up.describe()).run_id
    return follow_up


async def csat(env: WorkflowEnvironment, tq: str, recorder: Recorder) -> WorkflowHandle[Any, Any]:
    """Resolved: the rating asked; an unclear reply, a retry, a low rating, the notice;
    closed: the `csat-after-resolve` paths."""
    handle = await open_case(env.client, tq, case_input(case_id="replay-csat"))
    await handle.execute_update("resolve", {"actor": "sam", "resolution": "credit issued"})
    await eventually(lambda: asyncio.sleep(0, len(recorder.replies)), lambda n: n >= 1)
    for i, body in enumerate(["10", "two"]):
        message = {"channel": "sms", "text": body, "provider_message_id": f"R{i}"}
        await handle.signal("customer_message", message)
    await eventually(lambda: asyncio.sleep(0, len(recorder.notices)), lambda n: n >= 1)
    await handle.signal("close", {"actor": "sam"})
    await handle.result()
    return handle


async def resolution_check(
    env: WorkflowEnvironment, tq: str, recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """Resolved, asked days later, NO: reopened; resolved again, asked, YES: closed (the
    `resolution-check` paths)."""
    handle = await open_case(env.client, tq, case_input(case_id="replay-check"))
    for i, answer in enumerate(["no", "yes"]):
        await handle.execute_update("resolve", {"actor": "sam", "resolution": f"fix {i}"})
        await env.sleep(timedelta(days=3, minutes=1))
        await eventually(
            lambda: timeline(handle),
            lambda es, n=i: [e.type for e in es].count("verification_asked") == n + 1,
        )
        message = {"channel": "sms", "text": answer, "provider_message_id": f"V{i}"}
        await handle.signal("customer_message", message)
        if answer == "no":
            await eventually(lambda: state(handle), lambda s: s.status.value == "open")
    await handle.result()
    return handle


async def staff_notices(
    env: WorkflowEnvironment, tq: str, recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """Escalated with every staff email refused (the SMS tried next), a notice perhaps held
    for the supervisor's shift, an acknowledgement for the wrong level refused and the right
    one taken; then a breach whose escalation goes to the team's digest: `staff-routes` and
    `breach-digest`."""
    recorder.dead_staff_channels = {Channel.EMAIL}
    handle = await open_case(env.client, tq, case_input(case_id="replay-staff"))
    await handle.execute_update(
        "escalate", {"actor": "sam", "kind": "hierarchical", "reason": "angry customer"}
    )
    await eventually(
        lambda: timeline(handle), lambda es: any(e.type == "notice_failed" for e in es)
    )
    await env.sleep(timedelta(minutes=5))
    await handle.signal("acknowledge", {"actor": "kim", "level": "L3"})
    await handle.execute_update("acknowledge", {"actor": "kim", "level": "L2"})
    recorder.dead_staff_channels = set()
    await env.sleep(timedelta(days=4))  # the first response breaches: up, via the digest
    await eventually(lambda: state(handle), lambda s: s.level >= Level.L3)
    await handle.execute_update("resolve", {"actor": "kim", "resolution": "credited"})
    await handle.signal("close", {"actor": "kim"})
    await handle.result()
    return handle


async def nps(env: WorkflowEnvironment, tq: str, recorder: Recorder) -> WorkflowHandle[Any, Any]:
    """A tenant asking NPS: rated by text, asked to recommend, an unclear score, a retry,
    the score; a `rate` from a stale link refused (already rated); closed."""
    case = case_input("harbour-retail", case_id="replay-nps", category=None)
    handle = await open_case(env.client, tq, case)
    await handle.execute_update("resolve", {"actor": "sam", "resolution": "parcel found"})
    for i, body in enumerate(["4 stars", "9 or 10", "9/10"]):
        message = {"channel": "sms", "text": body, "provider_message_id": f"N{i}"}
        await handle.signal("customer_message", message)
    await eventually(lambda: state(handle), lambda s: s.messages >= 4)
    await handle.signal("rate", {"score": 1, "source": "link"})
    await eventually(lambda: state(handle), lambda s: s.last_rejection is not None)
    await handle.signal("close", {"actor": "sam"})
    await handle.result()
    return handle


async def reopened(
    env: WorkflowEnvironment, tq: str, recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """A closed L3 case reopened by the customer's next text (a new run of its id that keeps
    its level, team, owner and record): answered, resolved, closed."""
    was = {
        "closed_at": "2026-03-01T10:00:00+00:00",
        "level": "L3",
        "team": "billing",
        "priority": "P2",
        "assignee": "kim",
        "escalations": 2,
        "messages": 6,
        "events": 25,
    }
    handle = await open_case(
        env.client, tq, case_input(case_id="replay-reopened", reopens=was, message="Again!")
    )
    await handle.signal("agent_message", {"agent": "kim", "text": "Sorry, looking again"})
    await eventually(lambda: state(handle), lambda s: s.first_response_at is not None)
    await handle.execute_update("resolve", {"actor": "kim", "resolution": "fixed for good"})
    await handle.signal("close", {"actor": "kim"})
    await handle.result()
    return handle


async def staff_bounce(
    env: WorkflowEnvironment, tq: str, recorder: Recorder
) -> WorkflowHandle[Any, Any]:
    """An escalation notice whose email bounces later: sent again by text; that text
    bounces too: recorded, nothing left to try; acknowledged, closed (`staff-routes`)."""
    handle = await open_case(
        env.client, tq, case_input("demo-express", case_id="replay-bounce", category=None)
    )
    await handle.execute_update(
        "escalate", {"actor": "sam", "kind": "hierarchical", "reason": "lost parcel"}
    )

    def escalations() -> Awaitable[list[Any]]:
        return asyncio.sleep(0, [n for n in recorder.notices if n.kind == "escalation"])

    [first] = await eventually(escalations, lambda ns: len(ns) == 1)
    await env.sleep(timedelta(seconds=1))
    bounce = {"provider": "recorder", "provider_id": f"id-{first.key}:0", "status": "failed"}
    await handle.signal("delivery_report", bounce)
    [_, again] = await eventually(escalations, lambda ns: len(ns) == 2)
    await env.sleep(timedelta(seconds=1))
    bounce = {"provider": "recorder", "provider_id": f"id-{again.key}:0", "status": "undelivered"}
    await handle.signal("delivery_report", bounce)
    await eventually(
        lambda: timeline(handle),
        lambda es: len([e for e in es if e.type == "notice_failed"]) == 2,
    )
    await handle.execute_update("acknowledge", {"actor": "kim"})
    await handle.signal("close", {"actor": "kim"})
    await handle.result()
    return handle


async def digest(env: WorkflowEnvironment, tq: str, recorder: Recorder) -> WorkflowHandle[Any, Any]:
    """A team's burst of SLA alerts (BreachDigestWorkflow's own history): the first at once,
    two more and a repeat within the window as one digest, then a quiet window ends it."""
    post = DigestActivities(env.client, tq, recorder.tenants).post_to_digest
    billing = recorder.tenants["northwind-telecom"].escalation.teams["billing"].contacts
    alerts = [
        Notify(
            key=f"replay-digest-{i}:r:1",
            kind="sla_warning",
            case_id=f"replay-digest-{i}",
            tenant="northwind-telecom",
            level=Level.L1,
            team="billing",
            recipients=list(billing),
            text=f"Case replay-digest-{i} (P3): first_response SLA is due soon.",
            digest=True,
        )
        for i in range(3)
    ]
    for alert in [*alerts, alerts[1]]:
        await post(alert)
    handle = env.client.get_workflow_handle(digest_id(alerts[0]))
    await env.sleep(timedelta(minutes=25))
    assert await handle.result() == 2  # the first alert, then one digest
    FIRST_RUN[handle.id] = (await handle.describe()).run_id
    return handle


SCENARIOS: dict[str, Scenario] = {
    "digest": digest,
    "staff_bounce": staff_bounce,
    "reopened": reopened,
    "nps": nps,
    "staff_notices": staff_notices,
    "chat": chat,
    "resolution_check": resolution_check,
    "csat": csat,
    "rca_case": rca_case,
    "rca": rca,
    "channels": channels,
    "ladder": ladder,
    "sla_clocks": sla_clocks,
    "continued": continued,
}
