"""The agent console, behind a sign-in: agents see their own tenant's cases in chat.

Sign-in checks the agent's argon2 hash (`records.agents.sign_in`, in a thread: hashing is
deliberately slow) and sets a signed, expiring session cookie (itsdangerous; HttpOnly,
SameSite=Strict, Secure behind https, path /console). Forms carry a CSRF token: before
sign-in a random token in a cookie and the form (double submit), after it the one in the
session. A wrong tenant, username or password gets the same answer. Sign-out clears the
session. Five failed sign-ins for one account (thirty from one address) in 15 minutes
close sign-in for it until the oldest leaves the window (429 with Retry-After).
An agent sees only their tenant's cases: the list of cases handed to chat and
one case's transcript across channels, both live from the record store (Server-Sent
Events, `ingress.live`), with a reply box and the actions the workflow offers
(acknowledge, escalate, pause for the customer, resolve). Each goes to the case as an
update through the client API, so the page shows the case's verdict: done, or why not.
"""

import asyncio
import hashlib
import hmac
import math
import re
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer

from domain.commands import (
    NAMES,
    Acknowledge,
    AgentMessage,
    AwaitCustomer,
    Command,
    Escalate,
    EscalationKind,
    Resolve,
)
from domain.record import CaseSnapshot, TranscriptEntry
from ingress import live
from ingress.cases import CaseClosed, Refused, TemporalUnavailable
from ingress.chat import PageRefused, Written, wants_page
from ingress.signing import twilio_signing_key
from ingress.wiring import Services, Wired
from records import metrics
from records.agents import lookup, sign_in
from reports.text import period
from service.settings import Settings

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/console", tags=["console"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

SESSION = "console_session"
LOGIN_CSRF = "console_csrf"
SESSION_HOURS = 12
# A console stream ends after this (or when the session does): the browser reconnects, and
# the reconnection checks the session again, so a removed agent stops seeing cases soon.
STREAM_SECONDS = 15 * 60.0
_CONTEXT = b"escalate console-session v1"


def session_signer(settings: Settings) -> URLSafeTimedSerializer:
    base = (
        settings.chat_link_secret.get_secret_value()
        if settings.chat_link_secret is not None
        else twilio_signing_key(settings)
    )
    key = hmac.new(base.encode(), _CONTEXT, hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt="console-session")


def _cookie_args(wired: Services) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": wired.settings.public_url.startswith("https://"),
        "path": "/console",
    }


def _session(request: Request, wired: Services) -> dict[str, str] | None:
    assert wired.console is not None
    raw = request.cookies.get(SESSION)
    if not raw:
        return None
    try:
        found = wired.console.loads(raw, max_age=SESSION_HOURS * 3600)
    except BadSignature:  # tampered or expired: signed out
        return None
    return found if isinstance(found, dict) else None


def _login_page(request: Request, wired: Services, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    page = templates.TemplateResponse(
        request,
        "console_login.html",
        {"csrf": token, "error": error, "tenants": sorted(wired.tenants.tenants)},
        status_code=status,
    )
    page.set_cookie(LOGIN_CSRF, token, max_age=3600, **_cookie_args(wired))
    return page


@router.get("/login", response_class=HTMLResponse, summary="the agents' sign-in form")
async def login_form(request: Request, wired: Wired) -> Response:
    return _login_page(request, wired, None, 200)


@router.post("/login", summary="sign in")
async def login(
    request: Request,
    wired: Wired,
    tenant: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        log.warning("console sign-in without a valid form token")
        return _login_page(request, wired, "The form expired: please sign in again.", 403)
    assert wired.agents is not None
    if len(tenant) > 64 or len(username) > 64 or len(password) > 1024:
        return _login_page(request, wired, "Wrong tenant, username or password.", 401)
    account, address = f"{tenant}/{username}".lower(), request.client.host if request.client else ""
    wait = wired.sign_ins.begin(account, address)  # counted now: parallel tries queue up
    if wait > 0:
        log.warning("console sign-in throttled", tenant=tenant)
        minutes = max(1, math.ceil(wait / 60))
        page = _login_page(
            request, wired, f"Too many failed sign-ins: try again in {minutes} min.", 429
        )
        page.headers["Retry-After"] = str(math.ceil(wait))
        return page
    config = wired.tenants.tenants.get(tenant)
    agent = None
    if config is not None:
        agent = await asyncio.to_thread(sign_in, config, wired.agents, username, password)
    if agent is None:
        log.info("console sign-in refused", tenant=tenant if config else "unknown")
        return _login_page(request, wired, "Wrong tenant, username or password.", 401)
    wired.sign_ins.succeeded(account, address)
    assert wired.console is not None and config is not None
    found = await asyncio.to_thread(lookup, config, wired.agents, agent.username)
    session = {"t": agent.tenant, "u": agent.username, "n": agent.name}
    session["k"] = _fingerprint(found[1] if found else "")
    session["csrf"] = secrets.token_urlsafe(24)
    done = RedirectResponse("/console", status_code=303)
    done.set_cookie(
        SESSION, wired.console.dumps(session), max_age=SESSION_HOURS * 3600, **_cookie_args(wired)
    )
    done.delete_cookie(LOGIN_CSRF, path="/console")
    log.info("console sign-in", tenant=agent.tenant, agent=agent.username)
    return done


def _fingerprint(password_hash: str) -> str:
    """Ties a session to the password it was opened with: a new password ends it."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


async def _signed_in(request: Request, wired: Services) -> dict[str, str]:
    """The session, if it is valid and its agent still exists with the same password."""
    session = _session(request, wired)
    if session is None:
        raise SignedOut()
    config = wired.tenants.tenants.get(session["t"])
    assert wired.agents is not None
    found = await asyncio.to_thread(lookup, config, wired.agents, session["u"]) if config else None
    if found is None or not hmac.compare_digest(_fingerprint(found[1]), session.get("k", "")):
        log.info("console session ended: the agent was removed or changed password")
        raise SignedOut()
    return session


def _remaining(request: Request, wired: Services) -> float:
    """Seconds the session has left: a live stream ends then, and the page signs in again."""
    assert wired.console is not None
    try:
        _, signed_at = wired.console.loads(
            request.cookies.get(SESSION, ""), max_age=SESSION_HOURS * 3600, return_timestamp=True
        )
    except BadSignature:
        return 0.0
    left: float = signed_at.timestamp() + SESSION_HOURS * 3600 - time.time()
    return max(0.0, left)


class SignedOut(Exception):
    """No valid session: pages go to the sign-in form, scripts get a 401."""


def signed_out(request: Request, _exc: SignedOut) -> Response:
    if wants_page(request):
        return RedirectResponse("/console/login", status_code=303)
    return JSONResponse({"error": "Signed out: sign in again."}, 401)


def _form_token(session: dict[str, str], csrf: str) -> None:
    if not hmac.compare_digest(session["csrf"], csrf):
        raise PageRefused(403, "The form expired: reload the page.")


async def _own_case(wired: Services, session: dict[str, str], case_id: str) -> CaseSnapshot:
    """The case, if it is the agent's tenant's: another tenant's case does not exist here."""
    assert wired.records is not None
    found = await asyncio.to_thread(wired.records.summary, case_id)
    if found is None or found.tenant != session["t"]:
        raise PageRefused(404, "No such case for your team.")
    return found


async def _rows(wired: Services, tenant: str) -> list[dict[str, Any]]:
    """The tenant's cases handed to chat, as the list shows them (and streams them)."""
    assert wired.records is not None
    records = wired.records

    def read() -> list[dict[str, Any]]:
        cases = records.handed_to_chat(tenant)
        last = records.last_messages([c.case_id for c in cases])
        rows = []
        for case in cases:
            latest = last.get(case.case_id)
            rows.append(
                {
                    "case_id": case.case_id,
                    "priority": case.priority,
                    "team": case.team,
                    "level": case.level,
                    "status": case.status,
                    "chat": case.chat_state,
                    "chat_label": CHAT_STATES.get(case.chat_state or "", case.chat_state),
                    "breached": case.sla_breached,
                    "last_who": _who(latest) if latest else "",
                    "last_text": _text(latest)[:140] if latest else "",
                }
            )
        return rows

    return await asyncio.to_thread(read)


CHAT_STATES = {
    "waiting": "waiting for the customer",
    "joined": "in chat",
    "quiet": "back on SMS (chat went quiet)",
    "not_joined": "back on SMS (chat never opened)",
}


def _who(entry: TranscriptEntry) -> str:
    return {"customer": "Customer", "system": "Automatic", "bot": "Bot"}.get(
        entry.author.value, entry.who
    )


def _text(entry: TranscriptEntry) -> str:
    return "[erased]" if entry.erased else entry.text


def _shown(entry: TranscriptEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="seconds"),
        "mine": entry.author.value != "customer",
        "kind": entry.author.value,
        "who": _who(entry),
        "channel": entry.channel.value,
        "text": _text(entry),
        "media_count": entry.media_count,
    }


def _case_panel(case: CaseSnapshot) -> dict[str, Any]:
    return {
        "status": case.status,
        "priority": case.priority,
        "level": case.level,
        "team": case.team,
        "assignee": case.assignee,
        "channel": case.channel.value,
        "breached": case.sla_breached,
        "chat": CHAT_STATES.get(case.chat_state or "", "not offered"),
        "closed": case.closed_at is not None,
    }


@router.get("", response_class=HTMLResponse, summary="the tenant's cases handed to chat")
async def cases_in_chat(request: Request, wired: Wired) -> Response:
    session = await _signed_in(request, wired)
    tenant = wired.tenants.tenants.get(session["t"])
    return templates.TemplateResponse(
        request,
        "console_cases.html",
        {
            "agent": session["n"],
            "brand": tenant.name if tenant else session["t"],
            "rows": await _rows(wired, session["t"]),
            "csrf": session["csrf"],
            "supervisor": _supervisor(wired, session),
        },
    )


def _supervisor(wired: Services, session: dict[str, str]) -> bool:
    tenant = wired.tenants.tenants.get(session["t"])
    return tenant is not None and session["u"] in tenant.console.supervisors


@router.get("/report", response_class=HTMLResponse, summary="the tenant's report (supervisors)")
async def report_page(
    request: Request,
    wired: Wired,
    since: Annotated[str, Query()] = "",
    until: Annotated[str, Query()] = "",
) -> Response:
    """The same report as `escalate report --html`, for the supervisor's own tenant; the last
    30 days unless `since` and `until` (YYYY-MM-DD) say otherwise."""
    session = await _signed_in(request, wired)
    tenant = wired.tenants.tenants.get(session["t"])
    if tenant is None or not _supervisor(wired, session):
        raise PageRefused(403, "The report is for supervisors.")
    today = datetime.now(UTC).astimezone(ZoneInfo(tenant.timezone)).date()
    try:
        last = date.fromisoformat(until) if until else today
        first = date.fromisoformat(since) if since else last - timedelta(days=29)
    except ValueError:
        raise PageRefused(400, "Dates are YYYY-MM-DD, like 2026-03-01.") from None
    if first > last or (last - first).days > 366:
        raise PageRefused(400, "Choose a period of at most a year, the first day first.")
    start, end = period(first, last, tenant.timezone)
    assert wired.records is not None
    found = await asyncio.to_thread(
        metrics.report, wired.records, tenant.id, start, end, datetime.now(UTC), tz=tenant.timezone
    )
    from reports.html import render  # matplotlib: loaded by the first report, not at start

    page = await asyncio.to_thread(render, found, tenant.name)
    log.info("report opened", tenant=tenant.id, days=(last - first).days + 1)
    return HTMLResponse(page)


@router.get("/events", summary="the list of cases in chat, live (Server-Sent Events)")
async def cases_live(request: Request, wired: Wired) -> StreamingResponse:
    session = await _signed_in(request, wired)

    async def rows() -> list[dict[str, Any]]:
        return await _rows(wired, session["t"])

    stream = live.updates(
        request,
        watch={"cases": rows},
        poll=live.LIST_POLL_SECONDS,
        lasting=min(_remaining(request, wired), STREAM_SECONDS),
    )
    return live.sse(stream)


@router.get("/cases/{case_id}", response_class=HTMLResponse, summary="one case, live")
async def case_view(request: Request, case_id: str, wired: Wired) -> Response:
    session = await _signed_in(request, wired)
    case = await _own_case(wired, session, case_id)
    assert wired.records is not None
    page = await asyncio.to_thread(wired.records.transcript, case_id, limit=live.PAGE, newest=True)
    tenant = wired.tenants.tenants.get(session["t"])
    return templates.TemplateResponse(
        request,
        "console_case.html",
        {
            "agent": session["n"],
            "brand": tenant.name if tenant else session["t"],
            "csrf": session["csrf"],
            "case_id": case_id,
            "case": _case_panel(case),
            "messages": [_shown(e) for e in page.entries],
            "more_before": page.more_before,
            "last_seq": page.entries[-1].seq if page.entries else 0,
        },
    )


@router.get("/cases/{case_id}/messages", summary="older messages of the case")
async def case_older(
    request: Request, case_id: str, wired: Wired, before: Annotated[int, Query(ge=1)] = 1
) -> JSONResponse:
    session = await _signed_in(request, wired)
    await _own_case(wired, session, case_id)
    assert wired.records is not None
    return await live.older(wired.records, case_id, before, _shown)


@router.get("/cases/{case_id}/events", summary="the case's new messages and state, live")
async def case_live(
    request: Request, case_id: str, wired: Wired, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    session = await _signed_in(request, wired)
    await _own_case(wired, session, case_id)
    assert wired.records is not None
    records = wired.records

    async def panel() -> dict[str, Any] | None:
        found = await asyncio.to_thread(records.summary, case_id)
        return None if found is None else _case_panel(found)

    stream = live.updates(
        request,
        records=records,
        store_watch=wired.store_watch,
        case_id=case_id,
        after=live.resume_from(request, after),
        shown=_shown,
        watch={"case": panel},
        lasting=min(_remaining(request, wired), STREAM_SECONDS),
    )
    return live.sse(stream)


ACTIONS = ("acknowledge", "escalate", "await_customer", "resolve")
ACTION_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


async def _act(
    wired: Services, case_id: str, command: Command, update_id: str | None = None
) -> JSONResponse:
    """Send the command as an update; the answer says what the case did, or why it refused."""
    name = NAMES[type(command)]
    try:
        view = await wired.cases.act(case_id, command, update_id)
    except Refused as refused:
        log.info("console action refused", case_id=case_id, action=name)
        return JSONResponse({"error": f"The case refused: {refused.reason}"}, 409)
    except CaseClosed:
        return JSONResponse({"error": "This case has ended."}, 410)
    except TemporalUnavailable:
        return JSONResponse(
            {
                "error": "No answer from the case yet. Press again: "
                "it is applied once, however often you press."
            },
            503,
        )
    log.info("console action", case_id=case_id, action=name)
    return JSONResponse(
        {
            "status": view.status.value,
            "level": view.level.label,
            "message": DONE.get(name, "Done."),
        }
    )


DONE = {
    "acknowledge": "Acknowledged: the case is yours.",
    "escalate": "Escalated.",
    "await_customer": "Paused: the SLA clocks wait for the customer.",
    "resolve": "Resolved.",
    "agent_message": "Sent.",
}


async def _posted_to(request: Request, wired: Services, case_id: str, csrf: str) -> dict[str, str]:
    """A form posted to one of the agent's own cases: signed in, the session's form token."""
    session = await _signed_in(request, wired)
    _form_token(session, csrf)
    await _own_case(wired, session, case_id)
    return session


def _page_id(value: str, what: str) -> None:
    """The id the page gives a reply or an action, so a resend is applied once."""
    if not ACTION_ID.fullmatch(value):
        raise PageRefused(400, f"The page sent no {what} id: reload it.")


@router.post("/cases/{case_id}/reply", summary="the agent answers the customer")
async def reply(
    request: Request,
    case_id: str,
    wired: Wired,
    text: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> JSONResponse:
    session = await _posted_to(request, wired, case_id, csrf)
    _page_id(client_id, "message")
    try:
        written = Written(text=text.strip(), client_id=client_id)
    except ValueError:
        return JSONResponse({"error": "Write a reply (at most 4,000 characters)."}, 400)
    command = AgentMessage(
        agent=session["u"], text=written.text, message_id=f"console-{written.client_id}"
    )
    return await _act(wired, case_id, command)


@router.post("/cases/{case_id}/actions/{action}", summary="acknowledge, escalate, pause, resolve")
async def act(
    request: Request,
    case_id: str,
    action: str,
    wired: Wired,
    reason: Annotated[str, Form()] = "",
    action_id: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> JSONResponse:
    session = await _posted_to(request, wired, case_id, csrf)
    _page_id(action_id, "action")
    agent, reason = session["u"], reason.strip()
    command: Command
    match action:
        case "acknowledge":
            command = Acknowledge(actor=agent)
        case "await_customer":
            command = AwaitCustomer(actor=agent)
        case "escalate" | "resolve" if not reason or len(reason) > 1000:
            return JSONResponse({"error": "Say why, in at most 1,000 characters."}, 400)
        case "escalate":
            command = Escalate(actor=agent, kind=EscalationKind.HIERARCHICAL, reason=reason)
        case "resolve":
            command = Resolve(actor=agent, resolution=reason)
        case _:
            return JSONResponse({"error": f"Unknown action; one of {', '.join(ACTIONS)}."}, 404)
    return await _act(wired, case_id, command, f"console-{action}-{action_id}")


@router.post("/logout", summary="sign out")
async def logout(request: Request, wired: Wired, csrf: Annotated[str, Form()] = "") -> Response:
    session = _session(request, wired)
    if session is not None and not hmac.compare_digest(session["csrf"], csrf):
        return Response("The form expired: reload the page and sign out again.", 403)
    done = RedirectResponse("/console/login", status_code=303)
    done.delete_cookie(SESSION, path="/console")
    return done
