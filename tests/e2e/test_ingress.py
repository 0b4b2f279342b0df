"""End to end: texts and emails through the real ingress that `escalate dev` starts, into cases
on the real dev server and worker."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from domain.models import Channel
from records.channels import ChannelStore
from records.store import sqlite_url
from service.settings import Settings
from starters.simulate import sms_request
from tests.e2e.conftest import DevSystem
from tests.e2e.test_cli import show, wait_for

pytestmark = pytest.mark.e2e

TENANT_NUMBER = "+13125550100"  # demo-express
INBOUND = "support@inbound.express-parcels.example"
CUSTOMER = "+12025550177"


@dataclass
class IngressDev(DevSystem):
    def channels(self) -> ChannelStore:
        return ChannelStore(url=sqlite_url(self.workdir / ".data" / "records.sqlite3"))

    def settings(self) -> Settings:
        return Settings(data_dir=self.workdir / ".data", public_url=self.ingress)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngressDev]:
    system = IngressDev(tmp_path_factory.mktemp("dev-ingress"))
    system.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(system.ingress + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the ingress did not start:\n" + "".join(system.output[-40:]))
        time.sleep(0.1)
    yield system
    if system.proc is not None and system.proc.poll() is None:
        assert system.stop() == 0


def texts(view: dict[str, Any]) -> list[str]:
    return [m["text"] for m in view["last_messages"] if m["author"] == "customer"]


def test_texts_open_one_case_a_retry_adds_nothing_and_stop_opts_out(dev: IngressDev):
    said = dev.cli("simulate", "sms", "--from", CUSTOMER, "--to", TENANT_NUMBER, "Parcel lost")
    assert said.stdout.startswith("HTTP 200")
    channels = dev.channels()
    case_id = wait_for(
        lambda: channels.conversation("demo-express", Channel.SMS, CUSTOMER), bool, timeout=30
    )
    wait_for(lambda: texts(show(dev, case_id)), lambda found: found == ["Parcel lost"])

    # Twilio retrying the same webhook: the case keeps the message once.
    retried = sms_request(dev.settings(), from_=CUSTOMER, to=TENANT_NUMBER, text="Any news?")
    for _ in range(2):
        response = httpx.post(
            dev.ingress + retried.path, data=retried.fields, headers=retried.headers, timeout=20
        )
        assert response.status_code == 200
    dev.cli("simulate", "sms", "--from", CUSTOMER, "--to", TENANT_NUMBER, "Hello?")
    view = wait_for(lambda: show(dev, case_id), lambda v: "Hello?" in texts(v))
    assert texts(view) == ["Parcel lost", "Any news?", "Hello?"]

    stop = dev.cli("simulate", "sms", "--from", CUSTOMER, "--to", TENANT_NUMBER, "STOP")
    assert "unsubscribed" in stop.stdout
    assert channels.opted_out(TENANT_NUMBER, CUSTOMER)
    channels.close()


def test_an_email_opens_a_case_for_its_sender(dev: IngressDev):
    sent = dev.cli(
        "simulate", "email", "--from", "Dana <dana@example.com>", "--to", INBOUND,
        "--subject", "Damaged parcel", "The box arrived crushed.",
    )  # fmt: skip
    assert sent.stdout.startswith("HTTP 200")
    channels = dev.channels()
    case_id = wait_for(
        lambda: channels.conversation("demo-express", Channel.EMAIL, "dana@example.com"),
        bool,
        timeout=30,
    )
    view = wait_for(lambda: show(dev, case_id), lambda v: texts(v))
    assert texts(view) == ["The box arrived crushed."] and view["channel"] == "email"
    channels.close()
