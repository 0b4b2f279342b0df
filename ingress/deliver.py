"""The relay in a process of its own: delivers what the webhooks accepted into the spool.

`escalate ingress` runs this beside its HTTP process (`python -m ingress.deliver`, same
settings from the same environment) and restarts it if it dies. Apart, the HTTP process only
checks, writes and answers: a burst of cases opening (the Temporal calls, the store reads,
their logging) costs this process's CPU and event loop, not the webhooks' answers.

SIGTERM or SIGINT: deliver what can be delivered within a few seconds, then stop; the rest
waits in the spool for the next start.
"""

import asyncio
import contextlib
import signal

import structlog

from ingress.cases import TemporalCases
from ingress.relay import Relay
from ingress.spool import Spool
from records.channels import ChannelStore
from service import logs
from service.settings import Settings, load_settings

log = structlog.get_logger(__name__)

# How often the spool is read for entries the HTTP process wrote (it cannot wake this one).
POLL_SECONDS = 0.02
STOP_GRACE_SECONDS = 5.0


async def deliver(settings: Settings, stop: asyncio.Event) -> None:
    spool = Spool.in_data_dir(settings.data_dir)
    store = ChannelStore(url=settings.records_url)
    relay = Relay(TemporalCases(settings), store, spool, poll_interval=POLL_SECONDS)
    runner = asyncio.create_task(relay.run(), name="relay")
    log.info("relay started", spool=str(spool.path))
    try:
        await stop.wait()
        with contextlib.suppress(TimeoutError):
            await relay.settle(timeout=STOP_GRACE_SECONDS)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        store.close()
        spool.close()
        log.info("relay stopped")


async def main() -> None:
    settings = load_settings()
    logs.configure(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await deliver(settings, stop)


if __name__ == "__main__":
    asyncio.run(main())
