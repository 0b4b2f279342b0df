"""The case worker: registration, data converter, tenant validation, graceful shutdown."""

import asyncio
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.delivery import DeliveryActivities
from activities.digest import DigestActivities
from activities.email import EmailProvider, OutboxEmail, SendGridEmail
from activities.journal import JournalActivities
from activities.outbox import Outbox
from activities.sms import OutboxSms, SmsProvider, TwilioSms
from activities.tenants import TenantActivities, load_directory
from domain.tenant import TenantConfig, TenantConfigError
from ingress.chat_links import ChatLinks
from ingress.links import AckLinks, RatingLinks
from records import migrate
from records.channels import ChannelStore
from records.store import CaseStore
from service import metrics
from service.settings import Settings
from workers.interceptors import CaseLogContext
from workers.sandbox import precompile_workflows, workflow_runner
from workflows.case import CaseWorkflow
from workflows.digest import BreachDigestWorkflow
from workflows.rca import RcaWorkflow

log = structlog.get_logger(__name__)


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


def sdk_metrics_runtime(settings: Settings) -> Runtime | None:
    """A runtime whose Temporal SDK metrics (workflow and activity task latencies, polls,
    slots...) are served to Prometheus; None when not asked for."""
    if not settings.sdk_metrics_port:
        return None
    bind = f"{settings.metrics_host}:{settings.sdk_metrics_port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
    except Exception as exc:
        log.warning("Temporal SDK metrics not served", bind=bind, error=str(exc))
        return None


def providers(settings: Settings, outbox: Outbox) -> tuple[SmsProvider, EmailProvider]:
    """The SMS and email providers the settings choose (the outbox unless configured)."""
    sms: SmsProvider = OutboxSms(outbox)
    email: EmailProvider = OutboxEmail(outbox)
    if settings.sms_provider == "twilio":
        assert settings.twilio_account_sid and settings.twilio_auth_token
        sms = TwilioSms(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_api_url,
        )
    if settings.email_provider == "sendgrid":
        assert settings.sendgrid_api_key
        email = SendGridEmail(
            settings.sendgrid_api_key.get_secret_value(), settings.sendgrid_api_url
        )
    return sms, email


def check_channels(settings: Settings, tenants: dict[str, TenantConfig]) -> None:
    """A real provider needs each tenant's sender: refuse to start without it."""
    problems = []
    for tenant in tenants.values():
        if settings.sms_provider == "twilio" and not tenant.sms.numbers:
            problems.append(
                f"{tenant.id}: sms.numbers is empty (Twilio needs a number to send from)"
            )
        if settings.email_provider == "sendgrid" and not tenant.email.from_address:
            problems.append(f"{tenant.id}: email.from_address is not set (SendGrid needs a sender)")
    if problems:
        raise TenantConfigError(str(settings.tenants_dir), problems)


def build_worker(
    client: Client,
    settings: Settings,
    tenants: dict[str, TenantConfig],
    outbox: Outbox,
    store: CaseStore,
) -> Worker:
    tenant_activities = TenantActivities(tenants)
    sms, email = providers(settings, outbox)
    delivery = DeliveryActivities(
        outbox,
        ChannelStore(engine=store.engine),
        tenants,
        sms=sms,
        email=email,
        public_url=settings.public_url,
        ui_url=settings.web_ui_url,
        namespace=settings.namespace,
        chat_links=ChatLinks.from_settings(settings),
        ack_links=AckLinks.from_settings(settings),
        rating_links=RatingLinks.from_settings(settings),
    )
    journal = JournalActivities(store)
    digests = DigestActivities(client, settings.task_queue, tenants)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[CaseWorkflow, RcaWorkflow, BreachDigestWorkflow],
        activities=[
            tenant_activities.load_tenant_policy,
            tenant_activities.answer_from_faq,
            delivery.notify_escalation,
            delivery.send_customer_message,
            digests.post_to_digest,
            journal.journal_case,
            journal.record_rca,
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
    check_channels(settings, tenants)
    migrate.require_current(settings.records_url)
    store = CaseStore(settings.records_url)
    if not precompile_workflows():
        log.info("workflow bytecode not written (read-only install?): cases open slower")
    client = await connect(settings, sdk_metrics_runtime(settings))
    if settings.metrics_port:
        metrics.watch_cases(store)
        metrics.serve(settings.metrics_host, settings.metrics_port)
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
        sms=_describe(settings.sms_provider, "SMS"),
        email=_describe(settings.email_provider, "email"),
    )
    async with worker:
        await stop.wait()
        log.info("worker stopping")
    log.info("worker stopped")


def _describe(provider: str, channel: str) -> str:
    if provider == "outbox":
        return f"local outbox (no {channel} provider configured; `escalate outbox` shows it)"
    return provider
