"""End to end: texts and emails through the real ingress that `escalate dev` starts, into cases
on the real dev server and worker."""

import json
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
from tests.fakes.twilio_api import FakeTwilio

pytestmark = pytest.mark.e2e

TENANT_NUMBER = "+13125550100"  # demo-express
INBOUND = "support@inbound.express-parcels.example"
CUSTOMER = "+12025550177"


@dataclass
class IngressDev(DevSystem):
    """`escalate dev` with texts going out through Twilio's SDK to a local fake of its API."""

    twilio: FakeTwilio | None = None

    @property
    def env(self) -> dict[str, str]:
        assert self.twilio is not None
        return {
            **super().env,
            "ESCALATE_SMS_PROVIDER": "twilio",
            "ESCALATE_TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "ESCALATE_TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "ESCALATE_TWILIO_API_URL": self.twilio.url,
        }

    def channels(self) -> ChannelStore:
        return ChannelStore(url=sqlite_url(self.workdir / ".data" / "records.sqlite3"))

    def settings(self) -> Settings:
        assert self.twilio is not None
        return Settings(
            data_dir=self.workdir / ".data",
            public_url=self.ingress,
            twilio_auth_token=self.twilio.auth_token,
        )


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngressDev]:
    twilio = FakeTwilio().start()
    system = IngressDev(tmp_path_factory.mktemp("dev-ingress"), twilio=twilio)
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
    try:
        if system.proc is not None and system.proc.poll() is None:
            assert system.stop() == 0
    finally:
        twilio.stop()


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


def events(dev: IngressDev, case_id: str) -> list[dict[str, Any]]:
    listing = dev.cli("case", "timeline", case_id, "--all", "--json").stdout
    return [json.loads(line) for line in listing.splitlines() if line.strip()]


def test_a_text_in_gets_a_reply_out_through_twilio_until_the_customer_says_stop(
    dev: IngressDev,
):
    assert dev.twilio is not None
    customer = "+12025550188"
    dev.cli("simulate", "sms", "--from", customer, "--to", TENANT_NUMBER, "Where is my parcel?")
    channels = dev.channels()
    case_id = wait_for(
        lambda: channels.conversation("demo-express", Channel.SMS, customer), bool, timeout=30
    )
    wait_for(lambda: texts(show(dev, case_id)), lambda found: found == ["Where is my parcel?"])

    reply = {"agent": "dana", "text": "It is at the depot, out for delivery tomorrow."}
    dev.cli("case", "signal", case_id, "agent_message", json.dumps(reply))
    sent = wait_for(
        lambda: [m for m in dev.twilio.messages if m["to"] == customer], bool, timeout=30
    )
    [message] = sent
    assert message["from_"] == TENANT_NUMBER
    assert message["body"].startswith("It is at the depot, out for delivery tomorrow.\n")
    assert "Reply YES for a call back" in message["body"]
    assert message["status_callback"] == f"{dev.ingress}/webhooks/twilio/status"
    stored = wait_for(
        lambda: channels.delivery_by_provider_id("twilio", message["sid"]), bool, timeout=30
    )
    assert stored.case_id == case_id

    # The carrier reports it undelivered: the case hears of it (no email to fall back to).
    assert dev.twilio.status_callback(message["sid"], "undelivered", error_code="30003") == 200
    timeline = wait_for(
        lambda: events(dev, case_id),
        lambda found: any(e["type"] == "delivery_report" for e in found),
    )
    report = next(e for e in timeline if e["type"] == "delivery_report")
    assert report["reason"] == "undelivered (error 30003)"

    stop = dev.cli("simulate", "sms", "--from", customer, "--to", TENANT_NUMBER, "Stop.")
    assert "unsubscribed" in stop.stdout
    wait_for(
        lambda: events(dev, case_id),
        lambda found: any(e["type"] == "sms_opted_out" for e in found),
    )
    dev.cli(
        "case", "signal", case_id, "agent_message", json.dumps({"agent": "dana", "text": "Hi?"})
    )
    wait_for(
        lambda: events(dev, case_id),
        lambda found: any(
            e["type"] == "delivery_failed" and "opted out" in (e["reason"] or "") for e in found
        ),
    )
    # Nothing more was texted after STOP.
    assert [m["sid"] for m in dev.twilio.messages if m["to"] == customer] == [message["sid"]]
    channels.close()
