"""Staff notices on the time-skipping server: held for a shift on a durable timer, the
acknowledgement clock waiting with them, and refused channels recorded in the timeline."""

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.models import Channel
from domain.tenant import TenantConfig
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

ESCALATE = {"actor": "sam", "kind": "hierarchical", "reason": "customer threatens to leave"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def shift_in_two_days(now: datetime) -> tuple[dict[str, object], datetime]:
    """A one-hour UTC shift two days from `now`, and when it starts: whenever the test runs,
    the contact is off shift now."""
    day = (now + timedelta(days=2)).date()
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return {"timezone": "UTC", DAYS[day.weekday()]: ["09:00-10:00"]}, start


async def test_a_notice_waits_for_the_shift_and_so_does_the_acknowledgement_clock(
    time_env: WorkflowEnvironment, tenants
):
    hours, opens = shift_in_two_days(datetime.now(UTC))
    day_shift = {"name": "Day shift", "channel": "email", "address": "day@nw.example"}
    variant = tenant_variant(
        "northwind-telecom",
        "nw-shifts",
        escalation__levels__L2__contacts=[day_shift | {"hours": hours}],
        # SLAs far off: only the shift decides when the notice goes.
        sla__targets__P3__first_response="20d",
        sla__targets__P3__resolution="40d",
    )
    recorder = Recorder({**tenants, variant.id: variant})
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        handle = await open_case(client, tq, case_input("nw-shifts", category=None))
        await handle.execute_update("escalate", ESCALATE)
        events = await eventually(
            lambda: timeline(handle), lambda es: any(e.type == "notice_held" for e in es)
        )
        [held] = [e for e in events if e.type == "notice_held"]
        assert held.detail["until"] == opens.isoformat()
        assert [n.kind for n in recorder.notices if n.kind == "escalation"] == []
        view = await state(handle)
        assert view.awaiting_ack is not None
        assert view.awaiting_ack.due == opens + timedelta(minutes=20)  # starts with the shift

        # A day later nobody has climbed the ladder: the owner has not been told yet.
        await time_env.sleep(timedelta(days=1))
        assert (await state(handle)).level.label == "L2"

        # The shift starts: the notice goes, asking for an acknowledgement.
        await time_env.sleep(opens - await time_env.get_current_time() + timedelta(minutes=1))
        await eventually(
            lambda: asyncio.sleep(0, [n.kind for n in recorder.notices]),
            lambda kinds: "escalation" in kinds,
        )
        [notice] = [n for n in recorder.notices if n.kind == "escalation"]
        assert [c.name for c in notice.recipients] == ["Day shift"]
        assert notice.ack_level is not None and notice.ack_level.label == "L2"
        await handle.execute_update("acknowledge", {"actor": "Day shift", "level": "L2"})
        await time_env.sleep(timedelta(hours=2))
        view = await state(handle)
        assert view.level.label == "L2" and view.assignee == "Day shift"


def email_then_text(tenant_id: str) -> TenantConfig:
    """Northwind with one L2 contact: Sam, by email, then by text."""
    sam = {
        "name": "Sam",
        "channel": "email",
        "address": "sam@nw.example",
        "then": [{"channel": "sms", "address": "+12025550143"}],
    }
    return tenant_variant("northwind-telecom", tenant_id, escalation__levels__L2__contacts=[sam])


async def test_a_refused_channel_is_recorded_with_the_next_one_tried(
    time_env: WorkflowEnvironment, tenants
):
    variant = email_then_text("nw-routes")
    recorder = Recorder({**tenants, variant.id: variant}, dead_staff_channels={Channel.EMAIL})
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        handle = await open_case(client, tq, case_input("nw-routes", category=None))
        await handle.execute_update("escalate", ESCALATE)
        events = await eventually(
            lambda: timeline(handle), lambda es: any(e.type == "notice_failed" for e in es)
        )
        [failed] = [e for e in events if e.type == "notice_failed"]
        assert failed.reason == "email refused"
        # What went is on record too (the auditors' timeline lists notices sent).
        sent = await eventually(
            lambda: timeline(handle), lambda es: any(e.type == "notice_sent" for e in es)
        )
        [told] = [e for e in sent if e.type == "notice_sent"]
        assert told.detail == {"kind": "escalation", "recipients": "Sam", "new_deliveries": 1}
        assert failed.detail == {
            "kind": "escalation",
            "contact": "Sam",
            "channel": "email",
            "then": "sms",
        }


async def test_a_notice_that_bounces_later_is_sent_on_the_next_channel(
    time_env: WorkflowEnvironment, tenants
):
    variant = email_then_text("nw-bounce")
    recorder = Recorder({**tenants, variant.id: variant})
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        handle = await open_case(client, tq, case_input("nw-bounce", category=None))
        await handle.execute_update("escalate", ESCALATE)
        [first] = await eventually(
            lambda: asyncio.sleep(0, [n for n in recorder.notices if n.kind == "escalation"]),
            lambda ns: len(ns) == 1,
        )
        await time_env.sleep(timedelta(seconds=30))  # the notice's result is in the case
        # SendGrid reports the email bounced (the ingress signals the case).
        report = {"provider": "recorder", "provider_id": f"id-{first.key}:0", "status": "failed"}
        await handle.signal("delivery_report", report)
        notices = await eventually(
            lambda: asyncio.sleep(0, [n for n in recorder.notices if n.kind == "escalation"]),
            lambda ns: len(ns) == 2,
        )
        [who] = notices[1].recipients
        assert (who.channel.value, who.address) == ("sms", "+12025550143")
        events = await timeline(handle)
        [failed] = [e for e in events if e.type == "notice_failed"]
        assert failed.detail["then"] == "sms" and failed.reason == "email failed"
