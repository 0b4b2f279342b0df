"""/healthz says the process is up; /readyz whether webhooks can reach the store and Temporal."""

import shutil

from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.spool import Spool
from records.channels import ChannelStore
from service.settings import Settings
from tests.ingress.conftest import FakeCases, Ingress, running
from tests.ingress.test_twilio import text


async def test_healthz(ingress: Ingress):
    response = await ingress.http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_the_store_and_temporal_answer(ingress: Ingress):
    response = await ingress.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "relay": "running",
        "store": "ok",
        "temporal": "ok",
        "spool": {"depth": 0, "dead": 0},
    }


async def test_not_ready_without_temporal_and_the_spool_depth_is_reported(ingress: Ingress):
    ingress.cases.up = False
    await text(ingress, "hello")
    response = await ingress.http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and body["store"] == "ok"
    assert body["temporal"] == "TemporalUnavailable: fake Temporal is down"
    assert body["spool"] == {"depth": 1, "dead": 0}


async def test_not_ready_without_the_store(ingress: Ingress, store_url: str):
    ingress.store.engine.dispose()
    shutil.rmtree(store_url.removeprefix("sqlite:///").rpartition("/")[0])
    response = await ingress.http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["store"] == "StoreUnavailable: unable to open database file"
    assert body["temporal"] == "ok"
    healthy = await ingress.http.get("/healthz")
    assert healthy.status_code == 200


async def test_not_ready_while_the_relay_process_is_down(
    settings: Settings,
    directory: TenantDirectory,
    store: ChannelStore,
    spool: Spool,
):
    status = "restarting: exited with 1"
    app = create_app(
        settings,
        tenants=directory,
        store=store,
        cases=FakeCases(),
        spool=spool,
        deliver=False,
        relay_status=lambda: status,
    )
    async with running(app, settle=False) as http:
        response = await http.get("/readyz")
        assert response.status_code == 503 and response.json()["relay"] == status
        status = "running"
        assert (await http.get("/readyz")).status_code == 200
