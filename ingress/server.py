"""`escalate ingress`: the app with its real store, spool and Temporal client, on uvicorn,
and its relay (`ingress.deliver`) in a second process that it starts, watches and stops."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import structlog
import uvicorn
from fastapi import FastAPI

from activities.tenants import load_directory
from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.cases import TemporalCases
from ingress.chat_links import ChatLinks
from ingress.spool import Spool
from records import migrate
from records.channels import ChannelStore
from records.store import CaseStore, StoreUnavailable
from service.settings import Settings

log = structlog.get_logger(__name__)


class RelayProcess:
    """Runs the relay as a child process and starts it again if it dies (not when it stops
    cleanly, as it does on the Ctrl-C its process group also received)."""

    RESTART_PAUSE = 1.0

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self.command = list(command or [sys.executable, "-m", "ingress.deliver"])
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._status = "starting"
        self._watcher = threading.Thread(target=self._watch, name="relay-watcher", daemon=True)

    def status(self) -> str:
        return self._status

    def start(self) -> "RelayProcess":
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while True:
            with self._lock:  # stop() sees either no child yet (and none comes) or this one
                if self._stopping.is_set():
                    return
                self._proc = subprocess.Popen(self.command, env=os.environ.copy())
            self._status = "running"
            code = self._proc.wait()
            if self._stopping.is_set() or code in (0, -signal.SIGINT, -signal.SIGTERM):
                self._status = f"stopped ({code})"
                return
            self.restarts += 1
            self._status = f"restarting: exited with {code}"
            log.error("the relay process died; starting it again", code=code)
            self._stopping.wait(self.RESTART_PAUSE)

    def stop(self, timeout: float = 15.0) -> None:
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("the relay process did not stop; killed")
                proc.kill()
                proc.wait()
        self._watcher.join(timeout)


@contextmanager
def running(relay: RelayProcess) -> Iterator[RelayProcess]:
    relay.start()
    deadline = time.monotonic() + 5
    while relay.status() == "starting" and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield relay
    finally:
        relay.stop()


class _Stop(Exception):
    pass


def _stop(signum: int, _frame: object) -> None:
    # Once stopping, a second Ctrl-C must not cut short the wait for the relay process.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise _Stop(signum)


def build_app(settings: Settings, relay: RelayProcess | None = None) -> FastAPI:
    """The ingress for these settings. Refuses a bad tenant configuration or an out-of-date
    store schema; starts without Temporal or with the store away (/readyz says so)."""
    tenants = TenantDirectory(load_directory(settings.tenants_dir))
    try:
        migrate.require_current(settings.records_url)
    except StoreUnavailable as exc:
        log.warning(
            "the store is unavailable; webhooks answer 503 until it is back", error=str(exc)
        )
    records = CaseStore(settings.records_url)
    return create_app(
        settings,
        tenants=tenants,
        store=ChannelStore(engine=records.engine),
        records=records,
        links=ChatLinks.from_settings(settings),
        cases=TemporalCases(settings),
        spool=Spool.in_data_dir(settings.data_dir),
        deliver=relay is None,
        relay_status=relay.status if relay is not None else None,
    )


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn finishes the requests in flight), with the relay
    in its own process."""
    relay = RelayProcess()
    app = build_app(settings, relay)  # a bad configuration is refused before anything starts
    # uvicorn handles SIGINT/SIGTERM while it serves, then raises the signal again for the
    # handlers it found: these, so the relay is stopped (and waited for) on the way out.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    try:
        with running(relay):
            _serve(app, settings)
    except _Stop:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)


def _serve(app: FastAPI, settings: Settings) -> None:
    config = uvicorn.Config(
        app,
        host=settings.ingress_host,
        port=settings.ingress_port,
        log_config=None,  # our structlog set-up renders uvicorn's records too
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
