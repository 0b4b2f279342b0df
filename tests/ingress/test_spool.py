"""While Temporal is away, accepted webhooks wait in the spool; they reach their cases in order."""

import os
import stat
from pathlib import Path

from domain.models import Channel
from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.spool import Spool
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
from tests.ingress.test_twilio import OPT_OUT, replies, text


async def test_temporal_down_the_text_is_accepted_and_spooled_then_delivered_in_order(
    ingress: Ingress,
):
    ingress.cases.up = False
    for i in range(5):
        response = await text(ingress, f"message {i}", from_=[CUSTOMER, OTHER_CUSTOMER][i % 2])
        assert replies(response) == []
    assert ingress.spool.depth() == 5
    assert ingress.cases.calls == []
    ready = await ingress.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["spool"] == {"depth": 5, "dead": 0}

    ingress.cases.up = True
    await until(lambda: ingress.spool.depth() == 0)
    # Each customer's texts in the order they came (customers are delivered side by side).
    first, second = (c.customer.phone for c in ingress.cases.opened.values())
    texts = {phone: [] for phone in (first, second)}
    for call in ingress.cases.calls:
        texts[ingress.cases.opened[call.case_id].customer.phone].append(call.message.text)
    assert texts[CUSTOMER] == ["message 0", "message 2", "message 4"]
    assert texts[OTHER_CUSTOMER] == ["message 1", "message 3"]
    assert len(ingress.cases.opened) == 2  # one case per customer, as if Temporal had been up


async def test_while_the_spool_holds_anything_new_texts_queue_behind_it(ingress: Ingress):
    ingress.cases.up = False
    await text(ingress, "first")
    ingress.cases.up = True
    # The drainer may or may not have replayed "first" yet: either way "second" comes after.
    await text(ingress, "second")
    await until(lambda: ingress.spool.depth() == 0 and len(ingress.cases.calls) == 2)
    assert ingress.cases.texts() == ["first", "second"]


async def test_consent_and_status_signals_are_spooled_too(ingress: Ingress):
    await text(ingress, "hello")
    [case_id] = ingress.cases.opened
    ingress.cases.up = False
    assert replies(await text(ingress, "STOP")) == [OPT_OUT]
    assert ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)
    assert ingress.spool.depth() == 1
    ingress.cases.up = True
    await until(lambda: ingress.spool.depth() == 0)
    assert [(c, n, p["opted_out"]) for c, n, p in ingress.cases.signals] == [
        (case_id, "sms_consent", True)
    ]


async def test_the_spool_is_drained_after_a_restart(
    settings: Settings,
    directory: TenantDirectory,
    store: ChannelStore,
    spool: Spool,
):
    down = FakeCases(up=False)
    first = create_app(
        settings, tenants=directory, store=store, cases=down, spool=spool, retry_interval=60
    )
    async with running(first) as http:
        for i in range(3):
            params, headers = signed_inbound_sms(
                PUBLIC + "/webhooks/twilio/sms",
                TOKEN,
                from_=CUSTOMER,
                to=NORTHWIND_NUMBER,
                body=f"before restart {i}",
            )
            assert (
                await http.post("/webhooks/twilio/sms", data=params, headers=headers)
            ).is_success
    spool.close()

    reopened = Spool.in_data_dir(settings.data_dir)
    assert reopened.depth() == 3
    back = FakeCases()
    second = create_app(
        settings, tenants=directory, store=store, cases=back, spool=reopened, retry_interval=60
    )
    async with running(second):
        await until(lambda: reopened.depth() == 0)
    assert back.texts() == [f"before restart {i}" for i in range(3)]
    assert down.calls == []
    reopened.close()


async def test_a_call_for_a_case_that_closed_meanwhile_goes_to_a_new_case(ingress: Ingress):
    await text(ingress, "first case")
    [old] = ingress.cases.opened
    ingress.cases.closed.add(old)
    await text(ingress, "after it closed")
    assert len(ingress.cases.opened) == 2
    new = ingress.cases.calls[-1].case_id
    assert new != old
    assert ingress.store.conversation("northwind-telecom", Channel.SMS, CUSTOMER) == new
    assert [m.text for m in ingress.cases.messages[new]] == ["after it closed"]


async def test_an_entry_that_can_never_be_delivered_is_set_aside_not_lost(ingress: Ingress):
    ingress.cases.up = False
    await text(ingress, "good one")
    ingress.spool.put("signal", {"kind": "signal", "case_id": "x", "name": "nonsense"})
    await text(ingress, "after the bad one")
    ingress.cases.up = True
    await until(lambda: ingress.spool.depth() == 0)
    assert ingress.cases.texts() == ["good one", "after the bad one"]
    assert ingress.spool.dead() == 1
    ready = (await ingress.http.get("/readyz")).json()
    assert ready["spool"] == {"depth": 0, "dead": 1}


def test_the_spool_file_is_private_and_keeps_order_across_reopening(tmp_path: Path):
    spool = Spool(tmp_path / "spool.sqlite3")
    ids = [spool.put("signal", {"n": n}) for n in range(3)]
    spool.delivered([ids[1]])
    spool.close()
    assert stat.S_IMODE(os.stat(tmp_path / "spool.sqlite3").st_mode) == 0o600
    again = Spool(tmp_path / "spool.sqlite3")
    assert [e.payload["n"] for e in again.pending()] == [0, 2]
    again.attempted(ids[0], "still down")
    assert again.pending()[0].attempts == 1
    again.close()
