"""`escalate dev`: the whole system on one machine, the embedded default behind `make run`.

Starts the Temporal dev server (Web UI, SQLite under the data directory, the case
search attributes registered), then a worker process and the ingress (webhooks); stops
them all on Ctrl-C.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import structlog
from temporalio.client import Client

from service.settings import Settings
from workflows import visibility

log = structlog.get_logger(__name__)


def tool(name: str) -> str:
    """A console script installed beside this interpreter (the venv), else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name!r} is not installed; run `make run` (it installs it)")
    return found


# Server settings a case needs beyond Temporal's defaults; docker-compose's dynamic config
# (deploy/compose/dynamicconfig) sets the same. A chatty case takes a burst of messages while
# a workflow task is in flight: past 100 buffered events (the default) the server fails that
# task, the worker replays the run while more arrive, and under a sustained burst the case
# made no progress until the run's signal limit (measured: 25 s, 18 failed tasks, at about
# 900 messages a second into one case). 1,000 stays under the 2 MiB byte limit.
SERVER_LIMITS = {"history.maximumBufferedEventsBatch": 1000}


def server_limit_flags() -> list[str]:
    """SERVER_LIMITS as `temporal server start-dev` flags."""
    return [f"--dynamic-config-value={key}={value}" for key, value in SERVER_LIMITS.items()]


def server_command(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    return [
        tool("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.sqlite3"),
        # Write-ahead logging, same durability: the server's SQLite did a rollback journal
        # per signal, which halved a burst's rate (3,000 signals into one case: 8.6 s, 8.4 s
        # of server CPU, against 3.8 s and 4.0 s). The mode is kept in the file; an older
        # file is switched on open, its workflows kept.
        "--sqlite-pragma",
        "journal_mode=wal",
        *server_limit_flags(),
        "--ip",
        host or "127.0.0.1",
        "--port",
        port,
        "--ui-port",
        str(settings.ui_port),
        "--namespace",
        settings.namespace,
        "--ui-disable-news-fetch",
        *visibility.dev_server_flags(),
    ]


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def wait_for_server(
    settings: Settings, server: subprocess.Popen[bytes], timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {server.returncode}")
        try:
            client = await Client.connect(settings.temporal_address, namespace=settings.namespace)
            await client.service_client.check_health()
            return
        except Exception as exc:  # not up yet
            last = exc
            await asyncio.sleep(0.25)
    raise TimeoutError(f"Temporal did not start on {settings.temporal_address}: {last}")


def _stop(proc: subprocess.Popen[bytes], name: str, grace: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log.warning("did not stop in time, killing", process=name)
        proc.kill()
        proc.wait()


def run_dev(settings: Settings, demo: bool) -> int:
    host, _, port = settings.temporal_address.rpartition(":")
    for name, on, number in (
        ("Temporal gRPC", host or "127.0.0.1", int(port)),
        ("Web UI", host or "127.0.0.1", settings.ui_port),
        ("Ingress", settings.ingress_host, settings.ingress_port),
    ):
        if not port_free(on, number):
            print(
                f"{name} port {number} is already in use: is another `make run` still running? "
                "Stop it, or set ESCALATE_TEMPORAL_ADDRESS / ESCALATE_UI_PORT / "
                "ESCALATE_INGRESS_PORT.",
                file=sys.stderr,
            )
            return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from records import migrate
    from records.store import StoreUnavailable

    try:
        migrate.upgrade(settings.records_url)
    except StoreUnavailable as exc:
        print(f"case record store unavailable: {exc}", file=sys.stderr)
        return 1
    if settings.twilio_auth_token is None:
        from ingress.signing import dev_secret

        # Made before the ingress starts: it and `escalate simulate` sign with the same one.
        dev_secret(settings.dev_secret_path)
    env = {**os.environ, **_settings_env(settings)}
    server_log = (settings.data_dir / "temporal.log").open("ab")
    server = subprocess.Popen(
        server_command(settings),
        stdout=server_log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    worker: subprocess.Popen[bytes] | None = None
    ingress: subprocess.Popen[bytes] | None = None
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            asyncio.run(wait_for_server(settings, server))
        except (RuntimeError, TimeoutError) as exc:
            print(f"{exc}; see {settings.data_dir / 'temporal.log'}", file=sys.stderr)
            return 1
        worker = subprocess.Popen([tool("escalate"), "worker"], env=env, start_new_session=True)
        ingress = subprocess.Popen([tool("escalate"), "ingress"], env=env, start_new_session=True)
        from starters.demo import demo_sign_in

        if demo:
            from starters.demo import seed

            ids = asyncio.run(seed(settings))
            print(f"Seeded {len(ids)} demo cases: {', '.join(ids)}", flush=True)
        agent = demo_sign_in(settings)
        console = f"{settings.public_url}/console/login" + (f" ({agent})" if agent else "")
        print(
            "\nEscalation engine running\n"
            f"  Temporal Web UI : http://localhost:{settings.ui_port}/namespaces/{settings.namespace}/workflows\n"
            f"  Temporal gRPC   : {settings.temporal_address}\n"
            f"  Data            : {settings.data_dir.resolve()} (SQLite; cases survive restarts)\n"
            f"  Case records    : {settings.records_where}\n"
            f"  Ingress         : http://{settings.ingress_host}:{settings.ingress_port} "
            f"(webhooks signed for {settings.public_url})\n"
            f"  Agent console   : {console}\n"
            f"  Server log      : {settings.data_dir / 'temporal.log'}\n"
            "  Try             : escalate case list | escalate case show ID | escalate outbox\n"
            "  Chat handoff    : escalate simulate sms --from +13125550123 --to +13125550100 "
            "'can we chat?'  (then: escalate outbox)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            if server.poll() is not None:
                print(
                    f"Temporal server exited ({server.returncode}); see the server log",
                    file=sys.stderr,
                )
                return 1
            if worker.poll() is not None:
                print(f"worker exited ({worker.returncode})", file=sys.stderr)
                return 1
            if ingress.poll() is not None:
                print(f"ingress exited ({ingress.returncode})", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        print("Stopping ingress, worker and Temporal server...", flush=True)
        if ingress is not None:
            _stop(ingress, "ingress")
        if worker is not None:
            _stop(worker, "worker")
        _stop(server, "temporal")
        server_log.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("Stopped.", flush=True)


def _settings_env(settings: Settings) -> dict[str, str]:
    """Hand the resolved settings to the worker process, whatever their source was."""
    return {
        "ESCALATE_DATABASE_URL": settings.records_url,
        "ESCALATE_TEMPORAL_ADDRESS": settings.temporal_address,
        "ESCALATE_NAMESPACE": settings.namespace,
        "ESCALATE_TASK_QUEUE": settings.task_queue,
        "ESCALATE_DATA_DIR": str(settings.data_dir),
        "ESCALATE_TENANTS_DIR": str(settings.tenants_dir),
        "ESCALATE_LOG_FORMAT": settings.log_format,
        "ESCALATE_INGRESS_HOST": settings.ingress_host,
        "ESCALATE_INGRESS_PORT": str(settings.ingress_port),
        "ESCALATE_PUBLIC_URL": settings.public_url,
    }
