"""Rating the help in one click: the page behind the CSAT email's link, and the chat's widget.

Both send the case the `rate` command as an update with an id of their own (the link's, the
chat's), so a second press is applied once, and show what the case answered: thanks, or
that it was already rated. The page asks the NPS question too when the tenant asks it.
"""

import hashlib
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request, Response
from fastapi.templating import Jinja2Templates

from domain.commands import Rate
from domain.tenant import TenantConfig
from ingress.cases import Verdict, act_once
from ingress.chat_links import LinkProblem, LinkRefused
from ingress.links import RatingClaim
from ingress.wiring import Services, Wired

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/rate", tags=["rating"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

REFUSED_LINK = {
    LinkProblem.EXPIRED: "This link has expired. Thank you all the same.",
    LinkProblem.TAMPERED: "This link is not valid: it may have been cut short. Copy the whole "
    "link from the email.",
    LinkProblem.OTHER_CASE: "This link is not valid.",
}


def tenant_of(wired: Services, tenant_id: str) -> TenantConfig | None:
    return wired.tenants.tenants.get(tenant_id)


def _claim(wired: Services, token: str) -> RatingClaim:
    assert wired.rating_links is not None
    return wired.rating_links.read(token, wired.tenants.tenants)


async def rate(
    wired: Services, case_id: str, score: int, nps: int | None, source: str, update_id: str
) -> Verdict:
    """Send the rating; a score out of range is refused before the case hears of it."""
    try:
        command = Rate.model_validate({"score": score, "nps": nps, "source": source})
    except ValueError:
        return Verdict(400, "Choose a rating from 1 to 5 (and, if you like, 0 to 10).")
    verdict = await act_once(
        wired.cases, case_id, command, update_id, lambda _: "Thank you for your rating."
    )
    log.info("rating", case_id=case_id, source=source, status=verdict.status)
    return verdict


def _page(request: Request, status: int, message: str, **extra: object) -> Response:
    return templates.TemplateResponse(
        request, "rate.html", {"message": message, **extra}, status_code=status
    )


@router.get("/{token}", summary="The page behind a CSAT email's rating link")
async def rating_page(request: Request, token: str, wired: Wired) -> Response:
    try:
        claim = _claim(wired, token)
    except LinkRefused as refused:
        return _page(request, 403, REFUSED_LINK[refused.problem])
    tenant = tenant_of(wired, claim.tenant)
    return _page(
        request,
        200,
        "",
        claim=claim,
        brand=tenant.name if tenant else "us",
        nps=bool(tenant and tenant.csat.nps),
    )


@router.post("/{token}", summary="Rate the help from a CSAT email's link")
async def rate_by_link(
    request: Request,
    token: str,
    wired: Wired,
    score: Annotated[int, Form()] = 0,
    nps: Annotated[str, Form()] = "",
) -> Response:
    try:
        claim = _claim(wired, token)
    except LinkRefused as refused:
        return _page(request, 403, REFUSED_LINK[refused.problem])
    digest = hashlib.sha256(token.encode()).hexdigest()[:32]
    verdict = await rate(
        wired, claim.case_id, score, optional_score(nps), "link", f"rate-link-{digest}"
    )
    return _page(request, verdict.status, verdict.message)


def optional_score(value: str) -> int | None:
    """The optional NPS field: empty is no answer; anything else must be a number."""
    value = value.strip()
    return int(value) if value.isdigit() else (None if not value else -1)
