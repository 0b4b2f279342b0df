"""The ingress app: provider webhooks into cases, health and readiness.

`create_app` takes everything it talks to, so tests hand it a real store and spool and a
fake of `Cases`; `ingress.server` builds the real ones from the settings.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from domain.tenant import TenantDirectory
from ingress import ack, chat, console, live, rating
from ingress.bodies import WebhookError
from ingress.cases import Cases
from ingress.chat_links import ChatLinks
from ingress.links import AckLinks, RatingLinks
from ingress.relay import Relay
from ingress.reopen import reopener
from ingress.sendgrid import router as sendgrid_webhooks
from ingress.signing import parse_password, twilio_signing_key
from ingress.spool import Spool, SpoolUnavailable
from ingress.twilio import router as twilio_webhooks
from ingress.wiring import Services, Wired
from records.agents import AgentStore
from records.channels import ChannelStore
from records.store import CaseStore, StoreUnavailable
from service import metrics
from service.settings import Settings

log = structlog.get_logger(__name__)

# Twilio and SendGrid retry a 503; a short pause is enough for a store that restarts.
RETRY_AFTER_SECONDS = 10
STOP_GRACE_SECONDS = 5.0


def create_app(
    settings: Settings,
    *,
    tenants: TenantDirectory,
    store: ChannelStore,
    cases: Cases,
    spool: Spool,
    retry_interval: float = 5.0,
    deliver: bool = True,
    relay_status: Callable[[], str] | None = None,
    records: CaseStore | None = None,
    links: ChatLinks | None = None,
) -> FastAPI:
    """The ingress; `retry_interval` is how long deliveries pause while Temporal is away.

    With `deliver` (tests, a single process), the app's own relay delivers what the webhooks
    accept; without it, another process does (`ingress.deliver`, which `escalate ingress`
    runs beside the app) and `relay_status` says how that process is ("running" when well).
    """
    signing_key = twilio_signing_key(settings)
    reopen = reopener(records, tenants) if records is not None else None
    relay = Relay(cases, store, spool, retry_interval=retry_interval, reopen=reopen)
    services = Services(
        settings=settings,
        tenants=tenants,
        store=store,
        cases=cases,
        spool=spool,
        relay=relay,
        twilio=RequestValidator(signing_key),
        parse_password=parse_password(signing_key),
        events=_event_verifier(settings.sendgrid_event_public_key),
        links=links,
        records=records,
        agents=AgentStore(engine=records.engine) if records is not None else None,
        console=console.session_signer(settings) if records is not None else None,
        store_watch=live.StoreWatch(records) if records is not None else None,
        ack_links=AckLinks.from_settings(settings),
        rating_links=RatingLinks.from_settings(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Delivers what an earlier run accepted and left, then whatever this one accepts.
        if not deliver:
            yield
            return
        drainer = asyncio.create_task(relay.run(), name="ingress-relay")
        try:
            yield
        finally:
            # A graceful stop delivers what was accepted; what is left waits for next start.
            try:
                await relay.settle(timeout=STOP_GRACE_SECONDS)
            except (TimeoutError, SpoolUnavailable):
                log.info("stopping with calls still in the spool; they go after next start")
            finally:
                drainer.cancel()
                done, _ = await asyncio.wait({drainer}, timeout=10)
                if not done:
                    log.error("the relay did not stop; the spool keeps what it holds")

    app = FastAPI(
        title="Escalation engine ingress",
        summary="Provider webhooks (Twilio, SendGrid) into customer cases",
        lifespan=lifespan,
    )
    app.state.services = services
    app.include_router(twilio_webhooks)
    app.include_router(sendgrid_webhooks)
    app.include_router(ack.router)
    app.include_router(rating.router)
    if records is not None and links is not None:
        app.include_router(chat.router)
        app.include_router(console.router)
        app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), "static")
        app.add_exception_handler(chat.PageRefused, chat.refused_page)  # type: ignore[arg-type]
        app.add_exception_handler(console.SignedOut, console.signed_out)  # type: ignore[arg-type]
    _errors(app)

    if records is not None:
        metrics.watch_cases(records)

    @app.middleware("http")
    async def time_webhooks(request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith("/webhooks/"):
            response: Response = await call_next(request)
            return response
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            name = getattr(route, "path", "unmatched")  # the template: bounded labels
            metrics.WEBHOOK_SECONDS.labels(name, str(status)).observe(time.perf_counter() - started)

    # A plain def: FastAPI runs it on a thread, so the open-cases count (a store query) never
    # holds up a webhook. Keep /metrics off the public internet (see the README).
    @app.get("/metrics", summary="Prometheus metrics of this ingress", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", summary="the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="the store and Temporal are reachable; the spool's depth")
    async def readyz(wired: Wired) -> JSONResponse:
        return await _readiness(wired, relay_status() if relay_status else "running")

    return app


def _event_verifier(public_key: str | None) -> EventWebhook | None:
    if not public_key:
        return None
    try:
        return EventWebhook(public_key)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "ESCALATE_SENDGRID_EVENT_PUBLIC_KEY is not a verification key as SendGrid shows "
            f"it (base64 of an EC public key): {exc}"
        ) from exc


async def _readiness(wired: Services, relay: str) -> JSONResponse:
    found: dict[str, object] = {"relay": relay}
    try:
        # Any read of the channels' tables will do: it needs the database and its schema.
        await asyncio.to_thread(wired.store.case_for_token, "readyz")
        found["store"] = "ok"
    except Exception as exc:
        found["store"] = _reason(exc)
    try:
        await wired.cases.ping()
        found["temporal"] = "ok"
    except Exception as exc:
        found["temporal"] = _reason(exc)
    try:
        depth, dead = await asyncio.gather(
            asyncio.to_thread(wired.spool.depth), asyncio.to_thread(wired.spool.dead)
        )
        found["spool"] = {"depth": depth, "dead": dead}
        spool_ok = True
    except SpoolUnavailable as exc:
        found["spool"] = _reason(exc)
        spool_ok = False
    ready = found["store"] == "ok" and found["temporal"] == "ok" and spool_ok
    ready = ready and relay == "running"
    return JSONResponse({"ready": ready, **found}, status_code=200 if ready else 503)


def _reason(exc: BaseException) -> str:
    said = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {said[0]}" if said else type(exc).__name__


def _errors(app: FastAPI) -> None:
    """Bad input is a 4xx that says what is wrong; an outage is a 503 the provider retries."""

    @app.exception_handler(WebhookError)
    async def refused(request: Request, exc: WebhookError) -> JSONResponse:
        log.info("webhook refused", path=request.url.path, status=exc.status, error=exc.message)
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lines = [
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg')}"
            for error in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "problems": lines}, status_code=400)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        what = {
            StoreUnavailable: "the channel store",
            SpoolUnavailable: "the ingress spool",
        }.get(type(exc), "a dependency")
        log.warning("webhook deferred: unavailable", path=request.url.path, what=what)
        return JSONResponse(
            {"error": f"{what} is unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for kind in (StoreUnavailable, SpoolUnavailable):
        app.add_exception_handler(kind, unavailable)
