"""`escalate demo`: a handful of realistic cases that escalate, each by a different route."""

from datetime import UTC, datetime

from domain.models import CaseInput
from service.settings import Settings
from starters.client import CaseClient


def demo_cases(stamp: str) -> list[CaseInput]:
    raw = [
        {  # client-initiated: the customer asks for a supervisor in the first text
            "tenant": "northwind-telecom",
            "channel": "sms",
            "category": "billing",
            "priority": "P2",
            "subject": "Disputed roaming charges",
            "customer": {"id": "nw-cust-1042", "name": "Jordan", "phone": "+12025550111"},
            "message": "I was charged $240 roaming on a domestic trip. I want a supervisor.",
        },
        {  # priority-based: a P1 outage goes straight to L3, 24/7 clock
            "tenant": "northwind-telecom",
            "channel": "chat",
            "category": "outage",
            "priority": "P1",
            "subject": "No service in Brooklyn",
            "customer": {"id": "nw-cust-2210", "name": "Sam"},
            "message": "No signal since 7am across our whole office block.",
        },
        {  # priority-based: a VIP customer starts at L2
            "tenant": "harbour-retail",
            "channel": "email",
            "category": "delivery",
            "priority": "P3",
            "subject": "Wedding order not delivered",
            "customer": {
                "id": "hr-key-77",
                "name": "Priya",
                "email": "priya@example.com",
                "tier": "vip",
            },
            "message": "The order for Saturday's wedding hasn't arrived and tracking has not moved.",
        },
        {  # time-based: a one-minute first response that nobody answers, then the ack ladder
            "tenant": "demo-express",
            "channel": "sms",
            "category": "lost",
            "priority": "P3",
            "subject": "Parcel lost",
            "customer": {"id": "ex-cust-5", "name": "Lee", "phone": "+447400123456"},
            "message": "My parcel shows delivered but it never came.",
        },
        {  # functional: a refund routes to the payments team at open
            "tenant": "harbour-retail",
            "channel": "sms",
            "category": "refund",
            "priority": "P4",
            "subject": "Refund not received",
            "customer": {"id": "hr-cust-310", "phone": "+447911123456"},
            "message": "Returned a coat 3 weeks ago and the refund still isn't on my card.",
        },
    ]
    return [
        CaseInput.model_validate({**case, "case_id": f"demo-{stamp}-{i}"})
        for i, case in enumerate(raw, start=1)
    ]


# The demo tenant's console agent; its hash is in config/tenants/demo-express.toml.
DEMO_AGENT = ("demo-express", "demo", "demo-agent-pass")


def demo_sign_in(settings: Settings) -> str | None:
    """The demo agent's sign-in, if the demo tenant still has it (its hash is checked)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error

    from activities.tenants import load_directory
    from domain.tenant import TenantConfigError

    tenant, username, password = DEMO_AGENT
    try:
        config = load_directory(settings.tenants_dir).get(tenant)
    except TenantConfigError:
        return None
    agent = next((a for a in config.agents if a.username == username), None) if config else None
    if agent is None:
        return None
    try:
        PasswordHasher().verify(agent.password_hash, password)
    except Argon2Error:
        return None
    return f"tenant {tenant}, user {username}, password {password}"


async def seed(settings: Settings) -> list[str]:
    cases = await CaseClient.connect(settings)
    stamp = datetime.now(UTC).strftime("%H%M%S")
    ids = []
    for case in demo_cases(stamp):
        await cases.open_case(case)
        ids.append(case.case_id)
    return ids
