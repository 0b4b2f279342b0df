"""The case worker: registration, data converter, tenant validation, graceful shutdown."""

import asyncio
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.delivery import DeliveryActivities
from activities.journal import JournalActivities
from activities.outbox import Outbox
from activities.tenants import TenantActivities, load_directory
from domain.tenant import TenantConfig
from records import migrate
from records.store import CaseStore
from service.settings import Settings
from workers.interceptors import CaseLogContext
from workers.sandbox import workflow_runner
from workflows.case import CaseWorkflow

log = structlog.get_logger(__name__)


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=pydantic_data_converter,
    )


def build_worker(
    client: Client,
    settings: Settings,
    tenants: dict[str, TenantConfig],
    outbox: Outbox,
    store: CaseStore,
) -> Worker:
    tenant_activities = TenantActivities(tenants)
    delivery = DeliveryActivities(outbox)
    journal = JournalActivities(store)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[CaseWorkflow],
        activities=[
            tenant_activities.load_tenant_policy,
            delivery.notify_escalation,
            delivery.send_customer_message,
            journal.journal_case,
        ],
        workflow_runner=workflow_runner(),
        interceptors=[CaseLogContext()],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; refuses to start on a bad tenant configuration or a case
    record store whose schema is not current (raises before connecting to Temporal)."""
    tenants = load_directory(settings.tenants_dir)
    migrate.require_current(settings.records_url)
    store = CaseStore(settings.records_url)
    client = await connect(settings)
    worker = build_worker(client, settings, tenants, Outbox(settings.outbox_path), store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        task_queue=settings.task_queue,
        namespace=settings.namespace,
        tenants=sorted(tenants),
    )
    async with worker:
        await stop.wait()
        log.info("worker stopping")
    log.info("worker stopped")
