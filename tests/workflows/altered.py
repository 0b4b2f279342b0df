"""A CaseWorkflow changed without a patch, on purpose: it starts a timer the recorded
histories do not have (the audit replay test must catch it)."""

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.views import CaseView
    from workflows.case import CaseWorkflow


@workflow.defn(name="CaseWorkflow")
class UnpatchedCaseWorkflow(CaseWorkflow):
    @workflow.run
    async def run(self, case: dict[str, Any]) -> CaseView:
        await workflow.sleep(timedelta(seconds=1), summary="a change without a patch")
        return await super().run(case)
