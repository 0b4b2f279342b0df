"""The workflow sandbox, shared by the worker, the replayer and the tests."""

import compileall
from pathlib import Path

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows

# Pure data libraries the domain models use while validating; passing them through keeps
# their lazy, lock-guarded metadata loading out of the sandbox (it is deterministic).
PASSTHROUGH_MODULES = ("domain", "phonenumbers", "email_validator", "holidays", "dateutil")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def precompile_workflows() -> bool:
    """Write the bytecode of the workflow modules, if it is missing or stale.

    The sandbox executes the workflow modules afresh for every workflow instance it creates
    (a case's start, its replay after the cache evicts it). Without a bytecode cache (as with
    PYTHONDONTWRITEBYTECODE=1, which development shells and images often set) each of those
    compiles the source again: about a third of the worker's CPU while cases open. Python
    reads a cache it did not write itself, so writing it once here is enough. False when the
    directory is read-only (an image compiles at build time instead).
    """
    return bool(compileall.compile_dir(Path(workflows.__file__).parent, quiet=2))
