"""The workflow sandbox, shared by the worker, the replayer and the tests."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Pure data libraries the domain models use while validating; passing them through keeps
# their lazy, lock-guarded metadata loading out of the sandbox (it is deterministic).
PASSTHROUGH_MODULES = ("domain", "phonenumbers", "email_validator", "holidays", "dateutil")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
