"""The agent console, behind a sign-in: agents see their own tenant's cases in chat.

Sign-in checks the agent's argon2 hash (`records.agents.sign_in`, in a thread: hashing is
deliberately slow) and sets a signed, expiring session cookie (itsdangerous; HttpOnly,
SameSite=Strict, Secure behind https, path /console). Forms carry a CSRF token: before
sign-in a random token in a cookie and the form (double submit), after it the one in the
session. A wrong tenant, username or password gets the same answer. Sign-out clears the
session. So far the console lists the tenant's open cases on chat, read from the record
store; the case view, live updates and actions come next.
"""

import asyncio
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ingress.signing import twilio_signing_key
from ingress.wiring import Services, Wired
from records.agents import sign_in
from service.settings import Settings

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/console", tags=["console"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

SESSION = "console_session"
LOGIN_CSRF = "console_csrf"
SESSION_HOURS = 12
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
    config = wired.tenants.tenants.get(tenant)
    agent = None
    if config is not None:
        agent = await asyncio.to_thread(sign_in, config, wired.agents, username, password)
    if agent is None:
        log.info("console sign-in refused", tenant=tenant if config else "unknown")
        return _login_page(request, wired, "Wrong tenant, username or password.", 401)
    assert wired.console is not None
    session = {"t": agent.tenant, "u": agent.username, "n": agent.name}
    session["csrf"] = secrets.token_urlsafe(24)
    done = RedirectResponse("/console", status_code=303)
    done.set_cookie(
        SESSION, wired.console.dumps(session), max_age=SESSION_HOURS * 3600, **_cookie_args(wired)
    )
    done.delete_cookie(LOGIN_CSRF, path="/console")
    log.info("console sign-in", tenant=agent.tenant, agent=agent.username)
    return done


@router.get("", response_class=HTMLResponse, summary="the tenant's cases in chat")
async def cases_in_chat(request: Request, wired: Wired) -> Response:
    session = _session(request, wired)
    if session is None:
        return RedirectResponse("/console/login", status_code=303)
    assert wired.records is not None
    found = await asyncio.to_thread(wired.records.open_on_channel, session["t"], "chat")
    rows = []
    for case in found:
        page = await asyncio.to_thread(wired.records.transcript, case.case_id, limit=1, newest=True)
        last = page.entries[-1] if page.entries else None
        rows.append({"case": case, "last": last})
    tenant = wired.tenants.tenants.get(session["t"])
    return templates.TemplateResponse(
        request,
        "console_cases.html",
        {
            "agent": session["n"],
            "brand": tenant.name if tenant else session["t"],
            "rows": rows,
            "csrf": session["csrf"],
        },
    )


@router.post("/logout", summary="sign out")
async def logout(request: Request, wired: Wired, csrf: Annotated[str, Form()] = "") -> Response:
    session = _session(request, wired)
    if session is not None and not hmac.compare_digest(session["csrf"], csrf):
        return Response("The form expired: reload the page and sign out again.", 403)
    done = RedirectResponse("/console/login", status_code=303)
    done.delete_cookie(SESSION, path="/console")
    return done
