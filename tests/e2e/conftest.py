"""The whole system as `make run` starts it: `escalate dev` (real dev server + worker process)."""

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT, tool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevSystem:
    workdir: Path
    grpc_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    ingress_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    sdk_metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ESCALATE_TEMPORAL_ADDRESS": f"127.0.0.1:{self.grpc_port}",
            "ESCALATE_UI_PORT": str(self.ui_port),
            "ESCALATE_INGRESS_PORT": str(self.ingress_port),
            "ESCALATE_METRICS_PORT": str(self.metrics_port),
            "ESCALATE_SDK_METRICS_PORT": str(self.sdk_metrics_port),
            "ESCALATE_PUBLIC_URL": self.ingress,
            "ESCALATE_DATA_DIR": str(self.workdir / ".data"),
            "ESCALATE_TENANTS_DIR": str(self.tenants_dir),
            "ESCALATE_LOG_FORMAT": "json",
        }

    @property
    def tenants_dir(self) -> Path:
        return self.workdir / "tenants"

    def write_tenants(self) -> None:
        """The sample tenants, plus `e2e-quick`: demo-express with an 8 s P2 first response, so a
        test watches a real timer fire without idling through the demo's 45 s; and `e2e-chat`
        (below)."""
        self.tenants_dir.mkdir(exist_ok=True)
        for source in (ROOT / "config" / "tenants").glob("*.*"):  # tenants and FAQ files
            (self.tenants_dir / source.name).write_text(source.read_text())
        demo = (ROOT / "config" / "tenants" / "demo-express.toml").read_text()
        quick = demo
        for old, new in [  # its own number and addresses: those of demo-express are taken
            ('id = "demo-express"', 'id = "e2e-quick"'),
            ('name = "Express Parcels (demo)"', 'name = "Quick timers (tests)"'),
            ('first_response = "45s"', 'first_response = "8s"'),
            ('numbers = ["+13125550100"]', 'numbers = ["+13125550199"]'),
            ("express-parcels.example", "quick.example"),
        ]:
            assert old in quick, old
            quick = quick.replace(old, new)
        (self.tenants_dir / "e2e-quick.toml").write_text(quick)
        # `e2e-chat`: demo-express whose offered chat goes back to SMS 6 s after the offer when
        # the customer does not open it, so a test sees the fallback without waiting 15 min.
        chat = demo
        for old, new in [
            ('id = "demo-express"', 'id = "e2e-chat"'),
            ('name = "Express Parcels (demo)"', 'name = "Chat handoff (tests)"'),
            ('numbers = ["+13125550100"]', 'numbers = ["+13125550198"]'),
            ("express-parcels.example", "chat.example"),
        ]:
            assert old in chat, old
            chat = chat.replace(old, new)
        chat += '\n[chat_handoff]\njoin_within = "6s"\nquiet_after = "1h"\n'
        (self.tenants_dir / "e2e-chat.toml").write_text(chat)

    @property
    def ingress(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def ui(self) -> str:
        return f"http://localhost:{self.ui_port}"

    def start(self, timeout: float = 90) -> None:
        self.output = []
        if not self.tenants_dir.exists():
            self.write_tenants()
        self.proc = subprocess.Popen(
            [tool("escalate"), "dev", "--no-demo"],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not any("Escalation engine running" in line for line in self.output):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("escalate dev did not start:\n" + "".join(self.output[-40:]))
            time.sleep(0.1)
        # the worker process announces itself once it polls
        while not any('"worker started"' in line for line in self.output):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("worker did not start:\n" + "".join(self.output[-40:]))
            time.sleep(0.1)

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)

    def stop(self, timeout: float = 40) -> int:
        """Ctrl-C, as a person would; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        return code

    def cli(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [tool("escalate"), *args],
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"escalate {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result


@pytest.fixture(scope="session")  # one per pytest worker (`make test` runs two)
def dev_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevSystem]:
    system = DevSystem(tmp_path_factory.mktemp("dev"))
    system.start()
    yield system
    if system.proc is not None and system.proc.poll() is None:
        system.stop()
