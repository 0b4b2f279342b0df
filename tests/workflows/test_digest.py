"""Breach digests on the time-skipping server: a burst of SLA alerts for one team is one
alert and then one digest per window; P1 alerts never wait; a repeated alert counts once."""

import asyncio
from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.digest import DigestActivities
from domain.digest import digest_id
from domain.effects import Notify
from domain.models import Level
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    tenant_variant,
)


def kinds(recorder: Recorder, level: str) -> list[tuple[str, int]]:
    """(kind, cases gathered) of the notices a level got, in order."""
    return [(n.kind, len(n.items)) for n in recorder.notices if n.level.label == level]


def burst_tenant(tenants):
    # Round the clock, so the test does not depend on the day it runs.
    return tenant_variant(
        "northwind-telecom",
        "nw-burst",
        sla__always_on_priorities=["P1", "P3"],
        sla__targets__P3__first_response="1h",
        sla__targets__P1__first_response="1h",
        notifications__digest_window="10m",
    )


async def test_a_burst_of_breaches_is_one_alert_then_one_digest(
    time_env: WorkflowEnvironment, tenants
):
    variant = burst_tenant(tenants)
    recorder = Recorder({**tenants, variant.id: variant})
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        for _ in range(4):
            await open_case(client, tq, case_input("nw-burst", priority="P3"))
        await open_case(client, tq, case_input("nw-burst", priority="P1"))
        # 45 minutes: every case's first-response warning (75 %) fires at once.
        await time_env.sleep(timedelta(minutes=50))
        await eventually(
            lambda: asyncio.sleep(0, kinds(recorder, "L1")), lambda ks: ("sla_warning", 0) in ks
        )
        # The P1 case's warning went straight out; its escalation too (fast-track to L3).
        p1 = [n for n in recorder.notices if n.level.label == "L1" and "(P1)" in n.text]
        assert p1 == []  # P1 is fast-tracked to L3 at once: it never sat at L1
        # The first P3 warning went at once; the other three wait for the window's end.
        assert kinds(recorder, "L1") == [("sla_warning", 0)]
        await time_env.sleep(timedelta(minutes=10))
        got = await eventually(
            lambda: asyncio.sleep(0, kinds(recorder, "L1")), lambda ks: len(ks) == 2
        )
        assert got == [("sla_warning", 0), ("breach_digest", 3)]
        [digest] = [n for n in recorder.notices if n.kind == "breach_digest"]
        assert digest.text.startswith("3 SLA alerts on 3 cases for team billing (L1)")
        # The breaches at 1h escalate the four to L2: one escalation at once, then a digest
        # whose items each ask L2 to acknowledge.
        await time_env.sleep(timedelta(minutes=30))
        got = await eventually(
            lambda: asyncio.sleep(0, kinds(recorder, "L2")),
            lambda ks: ("breach_digest", 3) in ks,
        )
        assert got[:2] == [("escalation", 0), ("breach_digest", 3)]
        l2 = [n for n in recorder.notices if n.kind == "breach_digest" and n.level.label == "L2"]
        assert all(item.ack_level is not None for item in l2[0].items)
        # The P1 case's SLA alerts went to its own level, never through a digest.
        assert all(not n.digest for n in recorder.notices if "(P1)" in n.text)
        # Quiet windows since: the digests have ended.
        l1 = client.get_workflow_handle(digest_id(digest))
        assert (await l1.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_a_repeated_alert_is_sent_once(time_env: WorkflowEnvironment, tenants):
    variant = burst_tenant(tenants)
    recorder = Recorder({**tenants, variant.id: variant})
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        post = DigestActivities(client, tq, recorder.tenants).post_to_digest
        notice = Notify(
            key="c1:r:3",
            kind="sla_breach",
            case_id="c1",
            tenant="nw-burst",
            level=Level.L4,
            team="billing",
            recipients=[{"name": "Liaison", "address": "liaison@nw.example"}],
            text="Case c1 breached",
            digest=True,
        )
        await post(notice)
        await post(notice)  # the activity retried after its signal had landed
        await time_env.sleep(timedelta(minutes=11))  # a quiet window: the digest ends
        handle = client.get_workflow_handle(digest_id(notice))
        described = await eventually(
            handle.describe, lambda d: d.status is not WorkflowExecutionStatus.RUNNING
        )
        assert described.status is WorkflowExecutionStatus.COMPLETED
        assert [n.key for n in recorder.notices] == ["c1:r:3"]
