"""The customer's side of the built-in web chat, opened from the signed link in a text.

`GET /chat/{case}?t=TOKEN` shows the case's recent messages on every channel (the SMS story
first: the customer repeats nothing) and a box to write; older messages load on scroll
(`/chat/{case}/messages?before=SEQ`). New messages arrive live over Server-Sent Events
(`/chat/{case}/events`), read from the case record store, never by querying the workflow;
a page that reconnects sends the last seq it has (`Last-Event-ID`) and misses nothing.
What the customer writes goes through the spool and the relay like a text, with a message
id made by the page, so a double click or a resend is one message.

Every request carries the link's token and is checked like the link: a tampered, expired
or other case's link gets a page that says so, never a stack trace.
"""

import asyncio
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from domain.commands import InboundMessage
from domain.models import CaseInput, Channel, Customer
from domain.record import CaseSnapshot, TranscriptEntry
from ingress import live, rating
from ingress.chat_links import LinkProblem, LinkRefused
from ingress.relay import MessageJob, SignalJob, new_case_id
from ingress.wiring import Services, Wired

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/chat", tags=["chat"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

PAGE = live.PAGE  # messages shown at first, and per older page
REFUSALS = {
    LinkProblem.TAMPERED: (403, "This chat link is not valid. Please use the link we texted you."),
    LinkProblem.EXPIRED: (
        410,
        "This chat link has expired. Text us again and we will send a new one.",
    ),
    LinkProblem.OTHER_CASE: (403, "This chat link belongs to another conversation."),
}


class PageRefused(Exception):
    """A request the chat or the console refuses: a page saying why, or JSON for scripts."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check(wired: Services, case_id: str, token: str) -> None:
    assert wired.links is not None
    try:
        wired.links.check(case_id, token)
    except LinkRefused as refused:
        log.info("chat link refused", problem=refused.problem.value)
        status, message = REFUSALS[refused.problem]
        raise PageRefused(status, message) from None


async def _case(wired: Services, case_id: str) -> CaseSnapshot:
    assert wired.records is not None
    found = await asyncio.to_thread(wired.records.summary, case_id)
    if found is None:
        raise PageRefused(404, "We could not find this conversation. Text us again, please.")
    return found


class Shown(BaseModel):
    """A message as the customer's page shows it (no provider ids, no agent surnames)."""

    seq: int
    at: str
    mine: bool
    who: str
    channel: str
    text: str
    media_count: int = 0


def _shown(entry: TranscriptEntry) -> Shown:
    mine = entry.author.value == "customer"
    who = (
        "You"
        if mine
        else {"system": "Support", "bot": "Assistant"}.get(entry.author.value, entry.who)
    )
    return Shown(
        seq=entry.seq,
        at=entry.at.isoformat(timespec="seconds"),
        mine=mine,
        who=who,
        channel=entry.channel.value,
        text="[removed]" if entry.erased else entry.text,
        media_count=entry.media_count,
    )


@router.get("/{case_id}", response_class=HTMLResponse, summary="the customer's chat page")
async def chat_page(
    request: Request, case_id: str, wired: Wired, t: Annotated[str, Query()] = ""
) -> Response:
    _check(wired, case_id, t)
    case = await _case(wired, case_id)
    assert wired.records is not None
    if case.closed_at is None:  # the case moves to chat (and stops waiting for the customer)
        await wired.relay.submit(SignalJob(case_id=case_id, name="chat_joined", payload={}))
    page = await asyncio.to_thread(wired.records.transcript, case_id, limit=PAGE, newest=True)
    tenant = wired.tenants.tenants.get(case.tenant)
    brand = tenant.name if tenant is not None else "Support"
    return templates.TemplateResponse(
        request,
        "chat.html",
        {
            "brand": brand,
            "case_id": case_id,
            "token": t,
            "messages": [_shown(e) for e in page.entries],
            "more_before": page.more_before,
            "last_seq": page.entries[-1].seq if page.entries else 0,
            "closed": case.closed_at is not None,
            "rating": wants_rating(case),
            "nps": bool(tenant and tenant.csat.nps),
        },
    )


@router.get("/{case_id}/messages", summary="older messages, for scrolling back")
async def older(
    case_id: str,
    wired: Wired,
    t: Annotated[str, Query()] = "",
    before: Annotated[int, Query(ge=1)] = 1,
) -> JSONResponse:
    _check(wired, case_id, t)
    await _case(wired, case_id)
    assert wired.records is not None
    return await live.older(wired.records, case_id, before, lambda e: _shown(e).model_dump())


@router.get("/{case_id}/events", summary="new messages as Server-Sent Events")
async def events(
    request: Request,
    case_id: str,
    wired: Wired,
    t: Annotated[str, Query()] = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    _check(wired, case_id, t)
    await _case(wired, case_id)

    async def ended() -> dict[str, bool]:  # the page closes its form when the case ends
        found = await _case(wired, case_id)  # and shows the rating widget while it is asked
        return {"closed": found.closed_at is not None, "rate": wants_rating(found)}

    stream = live.updates(
        request,
        records=wired.records,
        store_watch=wired.store_watch,
        case_id=case_id,
        after=live.resume_from(request, after),
        shown=lambda entry: _shown(entry).model_dump(),
        watch={"case": ended},
    )
    return live.sse(stream)


class Written(BaseModel):
    text: str = Field(min_length=1, max_length=4_000)
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


@router.post("/{case_id}/messages", summary="the customer writes in the chat")
async def write(
    case_id: str,
    wired: Wired,
    text: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
    t: Annotated[str, Query()] = "",
) -> JSONResponse:
    _check(wired, case_id, t)
    case = await _case(wired, case_id)
    try:
        written = Written(text=text.strip(), client_id=client_id)
    except ValueError:
        return JSONResponse({"error": "write a message (at most 4,000 characters)"}, 400)
    customer = case.customer_id or f"chat-{case_id}"
    message = InboundMessage(
        channel=Channel.CHAT, text=written.text, provider_message_id=f"chat-{written.client_id}"
    )
    opening = CaseInput(  # only used if the case has closed: the chat then opens a new one
        case_id=new_case_id(case.tenant, Channel.CHAT),
        tenant=case.tenant,
        customer=Customer(id=customer),
        channel=Channel.CHAT,
        message=written.text,
        message_id=message.provider_message_id,
    )
    await wired.relay.submit(
        MessageJob(
            tenant=case.tenant,
            channel=Channel.CHAT,
            address=customer,
            case=opening,
            message=message,
            reply_to=case_id,
        )
    )
    log.info("chat message accepted", case_id=case_id)
    return JSONResponse({"status": "accepted", "id": message.provider_message_id}, 202)


def wants_rating(case: CaseSnapshot) -> bool:
    """The case asked for a rating and has none yet (the widget shows)."""
    return case.status == "resolved" and case.csat_asked_at is not None and case.csat_score is None


@router.post("/{case_id}/rate", summary="the customer rates the help from the chat's widget")
async def rate_in_chat(
    case_id: str,
    wired: Wired,
    score: Annotated[int, Form()] = 0,
    nps: Annotated[str, Form()] = "",
    t: Annotated[str, Query()] = "",
) -> JSONResponse:
    _check(wired, case_id, t)
    await _case(wired, case_id)
    verdict = await rating.rate(
        wired, case_id, score, rating.optional_score(nps), "chat", f"rate-chat-{case_id}"
    )
    return JSONResponse({"message": verdict.message}, verdict.status)


def wants_page(request: Request) -> bool:
    """A browser loading a page (else a page's script: a form post, a stream, a list)."""
    return request.method == "GET" and not request.url.path.endswith(("/messages", "/events"))


def refused_page(request: Request, refused: PageRefused) -> Response:
    """A bad link, a missing case, a foreign one: the page says what to do."""
    if not wants_page(request):
        return JSONResponse({"error": refused.message}, refused.status)
    return templates.TemplateResponse(
        request, "chat_refused.html", {"message": refused.message}, status_code=refused.status
    )
