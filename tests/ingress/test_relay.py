"""The relay: a webhook is answered once its call is durable; delivery follows, in order within
a conversation and side by side across conversations, within a bounded memory window."""

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from domain.commands import InboundMessage
from domain.models import CaseInput, Channel, Customer
from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.deliver import sole_relay
from ingress.relay import Conversation, MessageJob, Relay, SignalJob
from ingress.server import RelayProcess
from ingress.server import running as server_running
from ingress.spool import Spool, SpoolUnavailable
from records.channels import ChannelStore
from service.settings import Settings
from tests.fakes.twilio_api import signed_inbound_sms
from tests.ingress.conftest import (
    CUSTOMER,
    NORTHWIND_NUMBER,
    OTHER_CUSTOMER,
    PUBLIC,
    TOKEN,
    FakeCases,
    Ingress,
    running,
    until,
)
from tests.ingress.test_twilio import OPT_OUT, SMS_PATH, replies, text


@dataclass
class HeldCases(FakeCases):
    """Cases whose delivery of the texts in `held` waits until `release` is set."""

    held: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)

    async def post_customer_message(self, case: CaseInput | str, message: InboundMessage) -> bool:
        self.started.append(message.text)
        if message.text in self.held:
            await self.release.wait()
        return await super().post_customer_message(case, message)


def sms(body: str, from_: str = CUSTOMER) -> tuple[dict[str, str], dict[str, str]]:
    return signed_inbound_sms(PUBLIC + SMS_PATH, TOKEN, from_=from_, to=NORTHWIND_NUMBER, body=body)


async def test_the_webhook_answers_before_the_case_has_the_text_and_nothing_is_lost(
    settings: Settings, directory: TenantDirectory, store: ChannelStore, spool: Spool
):
    cases = HeldCases(held={"slow one"})
    app = create_app(settings, tenants=directory, store=store, cases=cases, spool=spool)
    async with running(app, settle=False) as http:
        params, headers = sms("slow one")
        answered = await asyncio.wait_for(http.post(SMS_PATH, data=params, headers=headers), 5)
        assert replies(answered) == []
        await until(lambda: cases.started == ["slow one"])
        # Answered, durable, not yet in the case.
        assert cases.calls == [] and spool.depth() == 1
        cases.release.set()
        await until(lambda: cases.texts() == ["slow one"] and spool.depth() == 0)


async def test_a_slow_conversation_holds_up_only_itself(
    settings: Settings, directory: TenantDirectory, store: ChannelStore, spool: Spool
):
    cases = HeldCases(held={"first, slow"})
    app = create_app(settings, tenants=directory, store=store, cases=cases, spool=spool)
    async with running(app, settle=False) as http:
        for body, sender in [
            ("first, slow", CUSTOMER),
            ("second, behind it", CUSTOMER),
            ("someone else", OTHER_CUSTOMER),
        ]:
            params, headers = sms(body, sender)
            assert (await http.post(SMS_PATH, data=params, headers=headers)).status_code == 200
        await until(lambda: cases.texts() == ["someone else"])
        await asyncio.sleep(0.1)
        assert "second, behind it" not in cases.started  # waits for its own conversation
        cases.release.set()
        await until(lambda: len(cases.texts()) == 3)
        assert cases.texts()[1:] == ["first, slow", "second, behind it"]


async def test_stop_right_after_a_first_text_reaches_the_case_that_text_opened(
    settings: Settings, directory: TenantDirectory, store: ChannelStore, spool: Spool
):
    cases = FakeCases(up=False)
    app = create_app(
        settings, tenants=directory, store=store, cases=cases, spool=spool, retry_interval=0.05
    )
    async with running(app) as http:
        for body in ("hello", "STOP"):
            params, headers = sms(body)
            response = await http.post(SMS_PATH, data=params, headers=headers)
        assert replies(response) == [OPT_OUT]  # the consent is recorded at once...
        assert spool.depth() == 2 and cases.calls == []  # ...the case has no case yet
        cases.up = True
        await until(lambda: spool.depth() == 0)
    [case_id] = cases.opened
    assert [(c, n, p["opted_out"]) for c, n, p in cases.signals] == [(case_id, "sms_consent", True)]


async def test_a_consent_change_with_no_case_to_tell_is_dropped_not_kept(
    settings: Settings, directory: TenantDirectory, store: ChannelStore, spool: Spool
):
    cases = FakeCases()
    app = create_app(settings, tenants=directory, store=store, cases=cases, spool=spool)
    async with running(app) as http:
        params, headers = sms("STOP", from_="+13125550123")
        assert replies(await http.post(SMS_PATH, data=params, headers=headers)) == [OPT_OUT]
    assert store.opted_out(NORTHWIND_NUMBER, "+13125550123")
    assert cases.signals == [] and spool.depth() == 0


async def test_more_waiting_than_the_window_is_delivered_in_order_from_the_spool(
    tmp_path: Path, store: ChannelStore
):
    spool = Spool(tmp_path / "spool.sqlite3")
    in_memory: list[int] = []

    class Watched(FakeCases):
        async def post_customer_message(self, case: CaseInput | str, message: InboundMessage):
            in_memory.append(relay.held)
            return await super().post_customer_message(case, message)

    cases = Watched()
    relay = Relay(cases, store, spool, window=3, parallel=2)
    for i in range(25):  # one conversation: 25 texts, at most 3 of them in memory at a time
        put_text(spool, i)
    runner = asyncio.create_task(relay.run())
    try:
        await relay.settle(timeout=10)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert cases.texts() == [f"t{i}" for i in range(25)]
    assert spool.depth() == 0 and relay.held == 0
    assert max(in_memory) == 3  # never more than the window read into memory
    spool.close()


def test_a_signal_names_its_case_or_its_conversation():
    conversation = Conversation(tenant="t", channel=Channel.SMS, address=CUSTOMER)
    SignalJob(case_id="c", name="sms_consent", payload={})
    SignalJob(conversation=conversation, name="sms_consent", payload={})
    for wrong in ({}, {"case_id": "c", "conversation": conversation}):
        try:
            SignalJob(name="sms_consent", payload={}, **wrong)
        except ValueError:
            continue
        raise AssertionError(f"accepted {wrong}")


async def test_a_relay_in_another_process_finds_what_the_webhooks_wrote(
    settings: Settings, directory: TenantDirectory, store: ChannelStore, spool: Spool
):
    """As `escalate ingress` runs them: the app only writes the spool; a relay with its own
    connection to the same file (as in its own process) reads it by polling."""
    cases = FakeCases()
    app = create_app(
        settings, tenants=directory, store=store, cases=cases, spool=spool, deliver=False
    )
    elsewhere = Spool(spool.path)
    relay = Relay(cases, store, elsewhere, poll_interval=0.02)
    runner = asyncio.create_task(relay.run())
    try:
        async with running(app, settle=False) as http:
            for body in ("one", "two", "three"):
                params, headers = sms(body)
                assert (await http.post(SMS_PATH, data=params, headers=headers)).status_code == 200
            await until(lambda: cases.texts() == ["one", "two", "three"])
            await until(lambda: spool.depth() == 0)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        elsewhere.close()


def test_a_relay_process_that_dies_is_started_again_and_a_clean_stop_is_final(
    tmp_path: Path,
):
    runs = tmp_path / "runs"
    # Dies with 3 on its first two runs, then stops cleanly (as on Ctrl-C).
    script = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); n = len(p.read_text()) "
        "if p.exists() else 0; p.write_text('x' * (n + 1)); sys.exit(3 if n < 2 else 0)"
    )
    relay = RelayProcess([sys.executable, "-c", script, str(runs)])
    relay.RESTART_PAUSE = 0.01
    with server_running(relay):
        deadline = time.monotonic() + 20
        while not relay.status().startswith("stopped") and time.monotonic() < deadline:
            time.sleep(0.02)
    assert runs.read_text() == "xxx" and relay.restarts == 2
    assert relay.status() == "stopped (0)"


def test_stopping_the_ingress_stops_its_relay_process(tmp_path: Path):
    relay = RelayProcess([sys.executable, "-c", "import time; time.sleep(60)"])
    with server_running(relay):
        assert relay.status() == "running"
        started = time.monotonic()
    assert relay.status().startswith("stopped") and time.monotonic() - started < 10


def put_text(spool: Spool, i: int) -> None:
    case = CaseInput(
        case_id="northwind-telecom-sms-000000000002",
        tenant="northwind-telecom",
        customer=Customer(id="c-2", phone=CUSTOMER),
        channel=Channel.SMS,
        message="opening",
    )
    message = InboundMessage(channel=Channel.SMS, text=f"t{i}", provider_message_id=f"SM{i}")
    job = MessageJob(
        tenant="northwind-telecom",
        channel=Channel.SMS,
        address=CUSTOMER,
        case=case,
        message=message,
    )
    spool.put(job.kind, job.model_dump(mode="json"))


async def test_entries_beyond_a_window_of_set_aside_ones_go_without_a_new_webhook(
    tmp_path: Path, store: ChannelStore
):
    """Nothing but the relay's own progress wakes it here (no webhook, no settle())."""
    spool = Spool(tmp_path / "spool.sqlite3")
    for _ in range(3):
        spool.put("signal", {"kind": "signal", "case_id": "x", "name": "nonsense"})
    for i in range(2):
        put_text(spool, i)
    cases = FakeCases()
    runner = asyncio.create_task(Relay(cases, store, spool, window=3).run())
    try:
        await until(lambda: cases.texts() == ["t0", "t1"], timeout=5)
        assert spool.dead() == 3
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        spool.close()


async def test_a_spool_that_cannot_be_written_is_retried_at_the_interval_not_in_a_loop(
    tmp_path: Path, store: ChannelStore
):
    spool = Spool(tmp_path / "spool.sqlite3")
    put_text(spool, 0)
    tries = []

    def broken(ids: list[int]) -> None:
        tries.append(ids)
        raise SpoolUnavailable("disk full")

    spool.delivered = broken  # type: ignore[method-assign]
    cases = FakeCases()
    relay = Relay(cases, store, spool, retry_interval=5.0)
    runner = asyncio.create_task(relay.run())
    try:
        await until(lambda: cases.texts() == ["t0"])
        await asyncio.sleep(1.5)  # its batch is due after 1 s, then every 5 s
        assert len(tries) == 1
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        spool.close()


async def test_a_stop_whose_signal_could_not_be_kept_reaches_the_case_on_the_retry(
    ingress: Ingress,
):
    await text(ingress, "hello")
    [case_id] = ingress.cases.opened
    relay = ingress.app.state.services.relay
    real_submit = relay.submit

    async def full_disk(job: object) -> object:
        raise SpoolUnavailable("disk full")

    relay.submit = full_disk
    first = await text(ingress, "STOP", sid="SMstop")
    assert first.status_code == 503  # the case could not be told: nothing stored, Twilio retries
    assert not ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)
    relay.submit = real_submit
    assert replies(await text(ingress, "STOP", sid="SMstop")) == [OPT_OUT]
    assert ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)
    assert [(c, n, p["opted_out"]) for c, n, p in ingress.cases.signals] == [
        (case_id, "sms_consent", True)
    ]


async def test_a_second_relay_on_the_same_spool_waits_for_the_first(tmp_path: Path):
    spool_path = tmp_path / "ingress-spool.sqlite3"
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    async with sole_relay(spool_path, stop_first) as first:
        assert first
        waiting = asyncio.create_task(_enter(spool_path, stop_second))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the first still holds the spool
    assert await asyncio.wait_for(waiting, 5) is True  # ...and now it is the second's
    stop_second.set()


async def _enter(spool_path: Path, stop: asyncio.Event) -> bool:
    async with sole_relay(spool_path, stop) as sole:
        return sole
