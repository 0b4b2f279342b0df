"""What the webhook handlers share, built once by the app factory, and its dependency."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from itsdangerous import URLSafeTimedSerializer
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from domain.tenant import TenantDirectory
from ingress.cases import Cases
from ingress.chat_links import ChatLinks
from ingress.links import AckLinks, RatingLinks
from ingress.live import StoreWatch
from ingress.relay import Relay
from ingress.spool import Spool
from ingress.throttle import SignInThrottle
from records.agents import AgentStore
from records.channels import ChannelStore
from records.store import CaseStore
from service.settings import Settings


@dataclass
class Services:
    settings: Settings
    tenants: TenantDirectory
    store: ChannelStore
    cases: Cases
    spool: Spool
    relay: Relay
    twilio: RequestValidator
    parse_password: str
    events: EventWebhook | None  # None: no verification key configured, events refused
    links: ChatLinks | None = None  # with records: the web chat is served
    records: CaseStore | None = None
    agents: AgentStore | None = None  # with records and console: the agent console is served
    console: URLSafeTimedSerializer | None = None
    sign_ins: SignInThrottle = field(default_factory=SignInThrottle)
    store_watch: StoreWatch | None = None  # with records: what wakes the chat streams
    ack_links: AckLinks | None = None  # checks the acknowledge links in staff notices
    rating_links: RatingLinks | None = None  # checks the rating links in CSAT emails


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


Wired = Annotated[Services, Depends(_services)]
