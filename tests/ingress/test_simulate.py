"""`escalate simulate` posts what the providers post, and the ingress accepts it as theirs."""

import json
import os
import subprocess
from pathlib import Path

import httpx

from domain.models import Channel
from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.spool import Spool
from records.channels import ChannelStore
from service.settings import Settings
from starters.simulate import email_request, post, sms_request
from tests.conftest import ROOT, tool
from tests.ingress.conftest import (
    CUSTOMER,
    LOCAL,
    NORTHWIND_INBOUND,
    NORTHWIND_NUMBER,
    FakeCases,
    Ingress,
    running,
)


def transport(ingress: Ingress) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=ingress.app)


async def test_a_simulated_text_is_accepted_as_twilios(ingress: Ingress):
    request = sms_request(
        ingress.settings,
        from_=CUSTOMER,
        to=NORTHWIND_NUMBER,
        text="Hello from the CLI",
        media_urls=["https://example.com/photo.png"],
    )
    response = await post(request, LOCAL, transport=transport(ingress))
    assert response.status_code == 200, response.text
    await ingress.settle()
    [posted] = ingress.cases.calls
    assert posted.message.text == "Hello from the CLI" and posted.message.media_count == 1
    assert request.fields["MediaContentType0"] == "image/png"


async def test_a_simulated_email_is_accepted_as_inbound_parses(ingress: Ingress):
    request = email_request(
        ingress.settings,
        from_="Dana <dana@example.com>",
        to=NORTHWIND_INBOUND,
        subject="Bill",
        text="My bill is wrong",
    )
    response = await post(request, LOCAL, transport=transport(ingress))
    assert response.status_code == 200, response.text
    await ingress.settle()
    [posted] = ingress.cases.calls
    assert posted.message.channel is Channel.EMAIL and posted.message.text == "My bill is wrong"


async def test_a_forged_simulation_is_refused(ingress: Ingress):
    other = ingress.settings.model_copy(update={"twilio_auth_token": None})
    request = sms_request(other, from_=CUSTOMER, to=NORTHWIND_NUMBER, text="hi")
    response = await post(request, LOCAL, transport=transport(ingress))
    assert response.status_code == 403


async def test_without_a_twilio_token_the_ingress_and_simulate_share_the_dev_secret(
    tmp_path: Path, directory: TenantDirectory, store: ChannelStore
):
    settings = Settings(data_dir=tmp_path / "dev", public_url="http://localhost:8000")
    assert not settings.dev_secret_path.exists()
    spool = Spool.in_data_dir(settings.data_dir)
    cases = FakeCases()
    app = create_app(settings, tenants=directory, store=store, cases=cases, spool=spool)
    assert settings.dev_secret_path.exists()
    async with running(app):
        for request in (
            sms_request(settings, from_=CUSTOMER, to=NORTHWIND_NUMBER, text="hi"),
            email_request(
                settings, from_="dana@example.com", to=NORTHWIND_INBOUND, subject="s", text="hi"
            ),
        ):
            response = await post(request, LOCAL, transport=httpx.ASGITransport(app=app))
            assert response.status_code == 200, response.text
    assert len(cases.calls) == 2
    spool.close()


def test_tenants_json_lists_numbers_and_inbound_addresses(tmp_path: Path):
    result = subprocess.run(
        [tool("escalate"), "tenants", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ESCALATE_DATA_DIR": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    listed = {t["id"]: t for t in json.loads(result.stdout)}
    assert set(listed) >= {"northwind-telecom", "harbour-retail", "demo-express"}
    for tenant in listed.values():
        assert set(tenant) == {"id", "name", "timezone", "sms_numbers", "inbound_email"}
        assert isinstance(tenant["sms_numbers"], list)
    assert listed["harbour-retail"]["timezone"] == "Europe/London"
