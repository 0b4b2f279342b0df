"""The typed client API that backend services use: the time-skipping server, and the real
journal writing to a real case record store (SQLite and PostgreSQL)."""

import asyncio

import pytest
from temporalio.client import (
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from domain.commands import Acknowledge, CustomerMessage, Escalate
from domain.models import Level
from domain.record import FLUSH_DELAY, PREVIEW_CHARS, digest
from records.store import CaseStore
from starters.client import CaseClient
from tests.workflows.support import (
    STARTED,
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
)

EMAIL = "Dear support,\n" + "here is the whole story of my broken router. " * 400 + "Thanks."


async def test_messages_reach_the_store_whole_in_order_and_once(
    time_env: WorkflowEnvironment, tenants, store: CaseStore
):
    async with case_worker(time_env.client, Recorder(tenants), store) as tq:
        cases = CaseClient(time_env.client, tq, store)
        case = case_input(message="(first message goes here)")
        first = CustomerMessage(
            channel="sms", text="My internet is down", provider_message_id="SM-1"
        )
        assert await cases.post_customer_message(case, first)
        STARTED[tq].append(cases.handle(case.case_id))
        await cases.post_customer_message(case, first)  # a provider retry of the same webhook
        await cases.post_customer_message(
            case, CustomerMessage(channel="sms", text="Still down", provider_message_id="SM-2")
        )
        # An email over the claim-check limit: stored first, signalled by reference.
        await cases.post_customer_message(
            case.case_id, CustomerMessage(channel="email", text=EMAIL, provider_message_id="E-1")
        )
        await cases.post_customer_message(case.case_id, CustomerMessage(channel="chat", text="Hi"))
        view = await eventually(
            lambda: state(cases.handle(case.case_id)), lambda s: s.messages == 4
        )
        await time_env.sleep(FLUSH_DELAY)
        page = await eventually(
            lambda: cases.transcript(case.case_id), lambda p: p.total == 4, timeout=15
        )
        # Days later the provider retries the first webhook: the store knows it, nothing is sent.
        assert not await cases.post_customer_message(case.case_id, first)
        window = await cases.recent_transcript(case.case_id)

    assert [m.text for m in page.entries] == ["My internet is down", "Still down", EMAIL, "Hi"]
    assert [m.seq for m in page.entries] == [1, 2, 3, 4]
    email = page.entries[2]
    assert email.body is not None and email.body.sha256 == digest(EMAIL)
    # The case itself only ever held the preview.
    held = next(m for m in view.last_messages if m.seq == 3)
    assert len(held.text) <= PREVIEW_CHARS and held.body == email.body
    assert window.total == 4


async def test_open_is_idempotent_and_act_returns_the_new_state_or_the_reason(
    time_env: WorkflowEnvironment, tenants, store: CaseStore
):
    async with case_worker(time_env.client, Recorder(tenants), store) as tq:
        cases = CaseClient(time_env.client, tq, store)
        case = case_input()
        handle = await cases.open_case(case)
        STARTED[tq].append(handle)
        again = await cases.open_case(case)
        assert again.result_run_id == handle.result_run_id
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        view = await cases.act(
            case.case_id, Escalate(actor="sam", kind="hierarchical", reason="angry customer")
        )
        assert view.level == Level.L2
        await cases.act(case.case_id, Acknowledge(actor="sam"))
        with pytest.raises(WorkflowUpdateFailedError):
            await cases.act(case.case_id, Acknowledge(actor="sam"))
        # Ownership changes are written at once, not after the flush delay.
        timeline = await eventually(
            lambda: cases.timeline(case.case_id),
            lambda p: any(e.type == "acknowledged" for e in p.events),
        )
        summary = await cases.record_summary(case.case_id)
    # A validator rejection answers the caller and leaves no trace in the case's history.
    types = [e.type for e in timeline.events if e.type in ("escalated", "acknowledged", "rejected")]
    assert types == ["escalated", "acknowledged"]
    assert summary is not None and summary.level == 2 and summary.assignee == "sam"


async def test_a_case_that_failed_to_open_says_why_when_asked(
    time_env: WorkflowEnvironment, tenants
):
    async with case_worker(time_env.client, Recorder(tenants)) as tq:
        handle = await open_case(time_env.client, tq, case_input(tenant="no-such-tenant"))
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert "could not open: unknown tenant" in str(failed.value.cause)
        with pytest.raises(WorkflowQueryFailedError, match="could not open: unknown tenant"):
            await state(handle)


async def test_a_message_after_close_reopens_the_case_when_the_tenant_says_so(
    time_env: WorkflowEnvironment, tenants, store: CaseStore
):
    from domain.tenant import TenantDirectory
    from ingress.reopen import reopener
    from tests.workflows.support import tenant_variant

    reopening = tenant_variant("northwind-telecom", "nw-reopen", after_close__message="reopen")
    directory = TenantDirectory({reopening.id: reopening})
    recorder = Recorder({**tenants, reopening.id: reopening})
    async with case_worker(time_env.client, recorder, store) as tq:
        cases = CaseClient(time_env.client, tq, store)
        case = case_input("nw-reopen", category="billing")
        hello = CustomerMessage(channel="sms", text="My bill doubled", provider_message_id="SM-1")
        await cases.post_customer_message(case, hello)
        STARTED[tq].append(cases.handle(case.case_id))
        await cases.act(
            case.case_id, Escalate(actor="sam", kind="hierarchical", to_level="L3", reason="legal")
        )
        await cases.act(case.case_id, Acknowledge(actor="kim"))
        await cases.handle(case.case_id).signal("close", {"actor": "kim"})
        await cases.handle(case.case_id).result()
        closed = await eventually(
            lambda: asyncio.to_thread(store.summary, case.case_id),
            lambda s: s is not None and s.status == "closed",
        )

        # The customer writes again: the tenant reopens their case, as it was.
        again = case_input("nw-reopen", message="(new)", customer=case.customer.model_dump())
        reopened = await reopener(store, directory)(again)
        assert reopened is not None and reopened.case_id == case.case_id
        back = CustomerMessage(channel="sms", text="It doubled again", provider_message_id="SM-2")
        assert await cases.post_customer_message(reopened, back)
        view = await eventually(
            lambda: state(cases.handle(case.case_id)), lambda s: s.status.value == "open"
        )
        assert (view.level, view.team, view.assignee) == (Level.L3, "billing", "kim")
        await time_env.sleep(FLUSH_DELAY)
        page = await eventually(
            lambda: cases.transcript(case.case_id), lambda p: p.total == closed.messages + 1
        )
        assert [m.text for m in page.entries][-2:] == ["My bill doubled", "It doubled again"]
        assert [m.seq for m in page.entries] == list(range(1, closed.messages + 2))
        events = await cases.timeline(case.case_id)
        assert "reopened" in [e.type for e in events.events]

        # The same tenant set to open new cases (the default) does not reopen it.
        from domain.tenant import AfterCloseConfig

        opening = reopening.model_copy(update={"after_close": AfterCloseConfig(message="new")})
        assert await reopener(store, TenantDirectory({opening.id: opening}))(again) is None


async def test_verify_catches_a_stored_body_altered_on_purpose(
    time_env: WorkflowEnvironment, tenants, store: CaseStore
):
    from sqlalchemy import update

    from records.audit import record
    from records.schema import message_bodies
    from starters.histories import journal, verify_case

    async with case_worker(time_env.client, Recorder(tenants), store) as tq:
        cases = CaseClient(time_env.client, tq, store)
        case = case_input(message="(first)")
        hello = CustomerMessage(channel="sms", text="Hello", provider_message_id="SM-1")
        await cases.post_customer_message(case, hello)
        STARTED[tq].append(cases.handle(case.case_id))
        await cases.post_customer_message(
            case.case_id, CustomerMessage(channel="email", text=EMAIL, provider_message_id="E-1")
        )
        await cases.handle(case.case_id).signal("close", {"actor": "sam"})
        await cases.handle(case.case_id).result()
        history = await cases.handle(case.case_id).fetch_history()
    batches = journal(history)
    assert verify_case(record(store, case.case_id), batches).differences == []
    with store.engine.begin() as conn:
        conn.execute(
            update(message_bodies)
            .where(message_bodies.c.case_id == case.case_id)
            .values(body=EMAIL.replace("broken", "working"))
        )
    [found] = verify_case(record(store, case.case_id), batches).differences
    assert (found.case_id, found.kind, found.seq) == (case.case_id, "message", 2)
    assert "its stored body does not match the SHA-256 in the history" in found.problem


class _Closing:
    """A handle whose first signals meet a run that is closing (continuing as new)."""

    def __init__(self, refusals: int, message: str, status: RPCStatusCode) -> None:
        self.refusals, self.message, self.status, self.sent = refusals, message, status, 0

    async def signal(self, name: str, payload: object) -> None:
        if self.refusals:
            self.refusals -= 1
            raise RPCError(self.message, self.status, b"")
        self.sent += 1


async def test_a_message_that_meets_a_run_closing_goes_to_the_next_run():
    closing = "workflow operation can not be applied because workflow is closing"
    cases = CaseClient(client=None)  # type: ignore[arg-type]  # only the handle is used
    handle = _Closing(2, closing, RPCStatusCode.RESOURCE_EXHAUSTED)
    cases.handle = lambda case_id: handle  # type: ignore[method-assign,assignment,return-value]
    await cases._signal_through_run_limits("c-1", {"channel": "sms", "text": "hi"})
    assert handle.sent == 1 and handle.refusals == 0

    refused = _Closing(1, "not found", RPCStatusCode.NOT_FOUND)
    cases.handle = lambda case_id: refused  # type: ignore[method-assign,assignment,return-value]
    with pytest.raises(RPCError, match="not found"):
        await cases._signal_through_run_limits("c-1", {"channel": "sms", "text": "hi"})
