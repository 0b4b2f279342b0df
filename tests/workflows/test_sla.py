"""Time-based escalation: SLA clocks fire at their deadline, on the time-skipping server."""

import time
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.models import EscalationType, Level
from domain.views import CaseView
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
    tenant_variant,
    timeline,
)

DAY_247 = tenant_variant(
    "northwind-telecom",
    "day-247",
    sla__always_on_priorities=["P1", "P3"],
    sla__targets__P3__first_response="24h",
    sla__targets__P3__resolution="10d",
)


async def test_24_hour_sla_breaches_at_its_deadline_in_well_under_a_second(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder({**tenants, DAY_247.id: DAY_247})
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(DAY_247.id, priority="P3"))
        opened = await eventually(lambda: state(handle), lambda s: s.messages == 1)
        deadline = next(c.deadline for c in opened.clocks if c.kind == "first_response")
        assert deadline == opened.opened_at + timedelta(hours=24)

        started = time.monotonic()
        await time_env.sleep(timedelta(hours=23, minutes=59))
        before = await state(handle)
        assert not before.sla_breached and before.level == Level.L1

        await time_env.sleep(timedelta(minutes=2))
        after = await eventually(lambda: state(handle), lambda s: s.sla_breached)
        wall = time.monotonic() - started
        await recorder.delivered(lambda r: len(r.notices) == 2)

    breach = after.escalations[-1]
    assert breach.type == EscalationType.TIME_BASED
    assert (breach.from_level, breach.to_level) == (Level.L1, Level.L2)
    # Fired by a timer at the deadline: not before it, and not a polling interval after it.
    assert deadline <= breach.at < deadline + timedelta(seconds=5)
    assert wall < 30, f"24 simulated hours took {wall:.1f}s of wall time"
    assert recorder.kinds() == ["sla_warning", "escalation"]


async def test_warning_at_configured_share_then_breach(time_env: WorkflowEnvironment, tenants):
    recorder = Recorder(tenants)
    # P1 is 24/7 with a 15 minute first response; warning at 75 % = 11m15s.
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(priority="P1", category="outage"))
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await time_env.sleep(timedelta(minutes=11, seconds=20))
        warned = await eventually(lambda: state(handle), lambda s: any(c.warned for c in s.clocks))
        assert not warned.sla_breached
        await time_env.sleep(timedelta(minutes=4))
        breached = await eventually(lambda: state(handle), lambda s: s.sla_breached)
        events = await timeline(handle)
        await recorder.delivered(lambda r: "sla_warning" in r.kinds())

    types = [e.type for e in events]
    assert types.index("sla_warning") < types.index("sla_breached")
    warning = next(e for e in events if e.type == "sla_warning")
    assert warning.at - breached.opened_at >= timedelta(minutes=11, seconds=15)
    assert "sla_warning" in recorder.kinds()


async def test_business_hours_skip_the_weekend(time_env: WorkflowEnvironment, tenants):
    """A standard P3 case (4 business hours) opened late on Friday is due on Saturday's shift."""
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(priority="P3"))
        view = await eventually(lambda: state(handle), lambda s: s.messages == 1)
    clock = next(c for c in view.clocks if c.kind == "first_response")
    assert not clock.round_the_clock
    # Whatever the server's "now" is, the deadline falls inside Northwind's opening hours.
    from zoneinfo import ZoneInfo

    local = clock.deadline.astimezone(ZoneInfo("America/New_York"))
    assert local.weekday() != 6  # closed on Sunday
    assert (8, 0) <= (local.hour, local.minute) <= (20, 0)
    assert clock.deadline > view.opened_at + timedelta(hours=3, minutes=59)


async def test_await_customer_pauses_clocks_and_a_reply_resumes_them_with_time_left(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder({**tenants, DAY_247.id: DAY_247})
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(DAY_247.id, priority="P3"))
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await time_env.sleep(timedelta(hours=10))
        await handle.execute_update("await_customer", {"actor": "dana"})
        paused = await state(handle)
        assert paused.status == "awaiting_customer"
        assert all(c.paused and c.deadline is None for c in paused.clocks)

        await time_env.sleep(timedelta(hours=48))  # far past the original deadline
        idle = await state(handle)
        assert not idle.sla_breached and idle.level == Level.L1

        await handle.signal(
            "customer_message",
            {"channel": "sms", "text": "Here is the account number you asked for"},
        )
        resumed = await eventually(lambda: state(handle), lambda s: s.status == "open")
        first = next(c for c in resumed.clocks if c.kind == "first_response")
        now = datetime.now(UTC)  # only used to bound, the server clock is skipped ahead
        assert first.deadline is not None and not first.paused
        remaining = first.deadline - resumed.escalations[-1].at if resumed.escalations else None
        assert remaining is None
        # 10 of 24 hours were used before the pause: 14 are left from the moment of the reply.
        events = await timeline(handle)
        replied_at = next(e.at for e in events if e.type == "customer_replied")
        assert abs((first.deadline - replied_at) - timedelta(hours=14)) < timedelta(seconds=5)
        assert now  # keeps linters quiet about the bound above


async def test_priority_change_recomputes_deadlines_and_fast_tracks(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(priority="P3", category="outage"))
        before = await eventually(lambda: state(handle), lambda s: s.messages == 1)
        view = await handle.execute_update(
            "set_priority",
            {"actor": "sam", "priority": "P1", "reason": "area-wide outage"},
            result_type=CaseView,
        )
    old = next(c for c in before.clocks if c.kind == "first_response")
    new = next(c for c in view.clocks if c.kind == "first_response")
    assert new.round_the_clock and not old.round_the_clock
    assert new.target == "15m" and new.deadline < old.deadline
    assert view.level == Level.L3 and view.team == "technical"
    assert view.escalations[-1].type == EscalationType.PRIORITY_BASED
