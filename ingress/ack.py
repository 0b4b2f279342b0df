"""Acknowledging an escalation from its notice: a signed link by email, a reply code by text.

Either way the case gets the `acknowledge` update, as the person the notice went to and only
while it still waits for their level, with an update id of its own (the link's notice, the
text's message id), so a second press or a provider's retry is applied once. The answer says
what happened: the case is theirs, someone else took it, or the case has moved on.
"""

import asyncio
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.templating import Jinja2Templates

from domain import matrix as routing
from domain.commands import Acknowledge
from domain.models import Level
from domain.privacy import mask_phone
from domain.tenant import TenantConfig
from ingress.cases import Verdict, act_once
from ingress.chat_links import LinkProblem, LinkRefused
from ingress.links import AckClaim
from ingress.wiring import Services, Wired
from records.channels import AckCode

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/ack", tags=["acknowledge"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# "ACK", "ack 4821", "Acknowledge #4821." (a staff phone with a live code; else a message).
SMS_ACK = re.compile(r"^\s*ack(?:nowledged?)?\s*#?\s*(\d{4})?\s*[.!]?\s*$", re.IGNORECASE)

REFUSED_LINK = {
    LinkProblem.EXPIRED: "This link has expired. Open the case in the Temporal Web UI to "
    "acknowledge it there.",
    LinkProblem.TAMPERED: "This link is not valid: it may have been cut short. Copy the whole "
    "link from the notice.",
    LinkProblem.OTHER_CASE: "This link is not valid.",
}


async def acknowledge(
    wired: Services,
    case_id: str,
    level: Level,
    who: str,
    update_id: str,
    escalation: int | None = None,
) -> Verdict:
    command = Acknowledge(actor=who, level=level, escalation=escalation)
    verdict = await act_once(
        wired.cases,
        case_id,
        command,
        update_id,
        lambda view: (
            f"Case {case_id} is acknowledged at {level.label}; its owner is {view.assignee or who}."
        ),
    )
    log.info("acknowledge from a notice", case_id=case_id, level=level.label, status=verdict.status)
    return verdict


def _claim(wired: Services, token: str) -> AckClaim:
    assert wired.ack_links is not None
    return wired.ack_links.read(token, wired.tenants.tenants)


def _page(request: Request, status: int, message: str, claim: AckClaim | None = None) -> Response:
    return templates.TemplateResponse(
        request, "ack.html", {"message": message, "claim": claim}, status_code=status
    )


@router.get("/{token}", summary="The page behind an escalation notice's acknowledge link")
async def ack_page(request: Request, token: str, wired: Wired) -> Response:
    try:
        claim = _claim(wired, token)
    except LinkRefused as refused:
        return _page(request, 403, REFUSED_LINK[refused.problem])
    return _page(request, 200, "", claim)


@router.post("/{token}", summary="Acknowledge the escalation a notice's link names")
async def ack_link(request: Request, token: str, wired: Wired) -> Response:
    try:
        claim = _claim(wired, token)
    except LinkRefused as refused:
        return _page(request, 403, REFUSED_LINK[refused.problem])
    digest = hashlib.sha256(f"{claim.notice_key}\0{claim.contact}".encode()).hexdigest()[:32]
    verdict = await acknowledge(
        wired, claim.case_id, claim.level, claim.contact, f"ack-{digest}", claim.escalation
    )
    return _page(request, verdict.status, verdict.message)


async def sms_reply(
    wired: Services, tenant: TenantConfig, sender: str, body: str, sid: str
) -> str | None:
    """The answer to a staff member's "ACK 4821"; None when the text is no acknowledgement:
    not that shape, or from a phone that is no staff contact's and holds no code (a
    customer's "ack" is a message like any other). The code is required: the sender's
    number alone proves little."""
    match = SMS_ACK.match(body)
    if match is None:
        return None
    now = datetime.now(UTC)
    code = match.group(1)
    staff = sender in routing.staff_phones(tenant.escalation)
    found = [
        c
        for c in await asyncio.to_thread(wired.store.live_ack_codes, sender, now, code)
        if c.tenant == tenant.id
    ]
    if code is None or not found:
        if not staff and not found:
            held = await asyncio.to_thread(wired.store.live_ack_codes, sender, now)
            if not any(c.tenant == tenant.id for c in held):
                return None
        return _ask_for_code(code, found if code is None else [])
    chosen = found[0]
    log.info("acknowledge by text", case_id=chosen.case_id, staff=mask_phone(sender))
    verdict = await acknowledge(
        wired,
        chosen.case_id,
        Level(chosen.level),
        chosen.contact,
        f"ack-sms-{sid}",
        chosen.escalation,
    )
    return verdict.message


def _ask_for_code(code: str | None, live: list[AckCode]) -> str:
    """A bare "ACK", or a code this phone does not hold: say what to send."""
    if code is not None:
        return f"No escalation waits for code {code} from this phone. Check the code in the notice."
    cases: dict[str, AckCode] = {}
    for found in live:
        cases.setdefault(found.case_id, found)  # the newest code of each case
    listed = ", ".join(f"ACK {c.code} for case {c.case_id}" for c in list(cases.values())[:5])
    return "Reply ACK and the code from the notice" + (f": {listed}." if listed else ".")
