"""`escalate ingress`: the app with its real store, spool and Temporal client, on uvicorn."""

import structlog
import uvicorn
from fastapi import FastAPI

from activities.tenants import load_directory
from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.cases import TemporalCases
from ingress.spool import Spool
from records import migrate
from records.channels import ChannelStore
from records.store import StoreUnavailable
from service.settings import Settings

log = structlog.get_logger(__name__)


def build_app(settings: Settings) -> FastAPI:
    """The ingress for these settings. Refuses a bad tenant configuration or an out-of-date
    store schema; starts without Temporal or with the store away (/readyz says so)."""
    tenants = TenantDirectory(load_directory(settings.tenants_dir))
    try:
        migrate.require_current(settings.records_url)
    except StoreUnavailable as exc:
        log.warning(
            "the store is unavailable; webhooks answer 503 until it is back", error=str(exc)
        )
    return create_app(
        settings,
        tenants=tenants,
        store=ChannelStore(url=settings.records_url),
        cases=TemporalCases(settings),
        spool=Spool.in_data_dir(settings.data_dir),
    )


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn finishes the requests in flight)."""
    app = build_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.ingress_host,
        port=settings.ingress_port,
        log_config=None,  # our structlog set-up renders uvicorn's records too
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
