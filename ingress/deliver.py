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
import fcntl
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import structlog

from activities.tenants import load_directory
from domain.tenant import TenantDirectory
from ingress.cases import TemporalCases
from ingress.relay import Relay
from ingress.reopen import reopener
from ingress.spool import Spool
from records.channels import ChannelStore
from records.store import CaseStore
from service import logs
from service.settings import Settings, load_settings

log = structlog.get_logger(__name__)

# How often the spool is read for entries the HTTP process wrote (it cannot wake this one).
POLL_SECONDS = 0.02
STOP_GRACE_SECONDS = 5.0


@contextlib.asynccontextmanager
async def sole_relay(spool_path: Path, stop: asyncio.Event) -> AsyncIterator[bool]:
    """Hold an exclusive lock beside the spool: two relays on one spool would deliver one
    conversation's entries side by side, out of order (an orphan of a killed ingress, a
    second ingress on the same data directory). Waits for the lock; yields False if asked
    to stop first."""
    path = spool_path.with_suffix(".relay.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        warned = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not warned:
                    log.warning("another relay holds the spool; waiting for it", lock=str(path))
                    warned = True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await stop.wait()
                if stop.is_set():
                    yield False
                    return
        yield True
    finally:
        os.close(fd)  # releases the lock


async def orphaned(stop: asyncio.Event) -> None:
    """Stop when the ingress that started this process is gone (it was killed)."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            log.warning("the ingress that started the relay is gone; stopping")
            stop.set()


async def deliver(settings: Settings, stop: asyncio.Event) -> None:
    spool_path = Spool.in_data_dir(settings.data_dir).path
    async with sole_relay(spool_path, stop) as sole:
        if sole:
            await _deliver(settings, stop)


async def _deliver(settings: Settings, stop: asyncio.Event) -> None:
    spool = Spool.in_data_dir(settings.data_dir)
    records = CaseStore(settings.records_url)
    store = ChannelStore(engine=records.engine)
    tenants = TenantDirectory(load_directory(settings.tenants_dir))
    relay = Relay(
        TemporalCases(settings),
        store,
        spool,
        poll_interval=POLL_SECONDS,
        reopen=reopener(records, tenants),
    )
    runner = asyncio.create_task(relay.run(), name="relay")
    log.info("relay started", spool=str(spool.path))
    try:
        await stop.wait()
        with contextlib.suppress(TimeoutError):
            await relay.settle(timeout=STOP_GRACE_SECONDS)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        records.close()
        await asyncio.to_thread(spool.close)  # may wait for a spool call still in its thread
        log.info("relay stopped")


async def main() -> None:
    settings = load_settings()
    logs.configure(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch = asyncio.create_task(orphaned(stop))
    try:
        await deliver(settings, stop)
    finally:
        watch.cancel()


if __name__ == "__main__":
    asyncio.run(main())
