"""The real ingress app over a real (SQLite) channel store and spool, with a fake of `Cases`."""

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from domain.case import CaseState, Rejected
from domain.commands import NAMES, Command, InboundMessage
from domain.models import CaseInput
from domain.tenant import EmailConfig, SmsConfig, TenantConfig, TenantDirectory
from domain.views import CaseView, view
from ingress.app import create_app
from ingress.cases import CaseClosed, Refused, TemporalUnavailable
from ingress.spool import Spool
from records import migrate
from records.channels import ChannelStore
from records.store import sqlite_url
from service.settings import Settings
from tests.fakes.sendgrid_api import FakeSendGrid

PUBLIC = "https://ingress.example.com"
LOCAL = "http://127.0.0.1:8000"  # where requests arrive, behind the proxy
TOKEN = "twilio-auth-token-for-tests-0123456789"
NORTHWIND_NUMBER = "+12025550100"
HARBOUR_NUMBER = "+442079460000"
NORTHWIND_INBOUND = "support@inbound.northwind.example"
HARBOUR_INBOUND = "care@inbound.harbour.example"
NORTHWIND_HELP = "Northwind Mobile help: reply here or call 800-555-0100. Reply STOP to opt out."
CUSTOMER = "+12025550123"
OTHER_CUSTOMER = "+14155550100"


@dataclass
class Posted:
    case: CaseInput | str
    message: InboundMessage

    @property
    def case_id(self) -> str:
        return self.case if isinstance(self.case, str) else self.case.case_id


@dataclass
class FakeCases:
    """`Cases` as the client and the workflow behave: a case keeps each provider id once."""

    up: bool = True
    calls: list[Posted] = field(default_factory=list)
    opened: dict[str, CaseInput] = field(default_factory=dict)
    messages: dict[str, list[InboundMessage]] = field(default_factory=lambda: defaultdict(list))
    signals: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)
    # cases that take updates: the real domain decides (a refusal changes nothing)
    states: dict[str, CaseState] = field(default_factory=dict)
    acts: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[tuple[str, str], CaseView] = field(default_factory=dict)

    def _check(self) -> None:
        if not self.up:
            raise TemporalUnavailable("fake Temporal is down")

    async def post_customer_message(self, case: CaseInput | str, message: InboundMessage) -> bool:
        self._check()
        posted = Posted(case, message)
        self.calls.append(posted)
        if isinstance(case, CaseInput) and case.reopens is not None:
            self.closed.discard(case.case_id)  # a new run of the closed case's id
            self.opened[case.case_id] = case
        if posted.case_id in self.closed:
            raise CaseClosed(posted.case_id)
        if isinstance(case, CaseInput):
            self.opened.setdefault(case.case_id, case)
        kept = self.messages[posted.case_id]
        if all(m.provider_message_id != message.provider_message_id for m in kept):
            kept.append(message)
        return True

    async def signal(self, case_id: str, name: str, payload: Command) -> None:
        self._check()
        if case_id in self.closed:
            raise CaseClosed(case_id)
        self.signals.append((case_id, name, payload.model_dump(mode="json")))

    async def act(self, case_id: str, command: Command, update_id: str | None = None) -> CaseView:
        self._check()
        state = self.states.get(case_id)
        if case_id in self.closed or state is None:
            raise CaseClosed(case_id)
        if update_id is not None and (case_id, update_id) in self.outcomes:
            return self.outcomes[(case_id, update_id)]  # as Temporal: one update per id
        try:
            state.apply(command, state.opened_at + timedelta(minutes=len(self.acts) + 1))
        except Rejected as exc:
            raise Refused(str(exc)) from None
        self.acts.append((case_id, NAMES[type(command)], command.model_dump(mode="json")))
        outcome = view(state)
        if update_id is not None:
            self.outcomes[(case_id, update_id)] = outcome
        return outcome

    async def ping(self) -> None:
        self._check()

    def texts(self) -> list[str]:
        """Every message any case kept, in the order the cases got them."""
        return [p.message.text for p in self.calls if p.message in self.messages[p.case_id]]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for `condition` (polled), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def with_channels(tenants: dict[str, TenantConfig]) -> TenantDirectory:
    """The sample tenants, given SMS numbers and inbound addresses."""
    northwind = tenants["northwind-telecom"].model_copy(
        update={
            "sms": SmsConfig(numbers=[NORTHWIND_NUMBER], help_text=NORTHWIND_HELP),
            "email": EmailConfig(inbound_address=NORTHWIND_INBOUND),
        }
    )
    harbour = tenants["harbour-retail"].model_copy(
        update={
            "sms": SmsConfig(numbers=[HARBOUR_NUMBER]),
            "email": EmailConfig(inbound_address=HARBOUR_INBOUND),
        }
    )
    return TenantDirectory({**tenants, northwind.id: northwind, harbour.id: harbour})


@pytest.fixture(scope="session")
def directory(tenants: dict[str, TenantConfig]) -> TenantDirectory:
    return with_channels(tenants)


@pytest.fixture(scope="session")
def sendgrid() -> FakeSendGrid:
    """Only its signing key is used: no server needed."""
    return FakeSendGrid()


@pytest.fixture
def settings(tmp_path: Path, sendgrid: FakeSendGrid) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        public_url=PUBLIC + "/",
        twilio_auth_token=TOKEN,
        sendgrid_event_public_key=sendgrid.public_key,
    )


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "records" / "records.sqlite3")
    migrate.upgrade(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[ChannelStore]:
    found = ChannelStore(url=store_url)
    yield found
    found.close()


@pytest.fixture
def spool(settings: Settings) -> Iterator[Spool]:
    found = Spool.in_data_dir(settings.data_dir)
    yield found
    found.close()


@pytest.fixture
def cases() -> FakeCases:
    return FakeCases()


@dataclass
class Ingress:
    app: FastAPI
    http: httpx.AsyncClient
    cases: FakeCases
    store: ChannelStore
    spool: Spool
    settings: Settings

    async def settle(self) -> None:
        """Wait for the relay to deliver what was accepted (or to pause for an outage)."""
        await self.app.state.services.relay.settle(timeout=10)


@pytest.fixture
async def ingress(
    settings: Settings,
    directory: TenantDirectory,
    store: ChannelStore,
    cases: FakeCases,
    spool: Spool,
) -> AsyncIterator[Ingress]:
    app = create_app(
        settings, tenants=directory, store=store, cases=cases, spool=spool, retry_interval=0.05
    )
    async with running(app) as http:
        yield Ingress(app, http, cases, store, spool, settings)


def running(app: FastAPI, settle: bool = True) -> Any:
    """The app with its lifespan (the relay's deliveries) running, and a client to it.

    A webhook answers once its call is in the spool; the case gets it a moment later. With
    `settle`, each answer is followed by waiting for the relay to deliver everything it can
    (or to pause for an outage), so a test reads the cases as they are after the webhook.
    """
    from contextlib import asynccontextmanager

    relay = app.state.services.relay

    async def delivered(_response: httpx.Response) -> None:
        await relay.settle(timeout=10)

    hooks = {"response": [delivered]} if settle else {}

    @asynccontextmanager
    async def serve() -> AsyncIterator[httpx.AsyncClient]:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=LOCAL, event_hooks=hooks
            ) as http,
        ):
            yield http

    return serve()
