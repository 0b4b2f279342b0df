"""Binds the case to every log line an activity writes (structlog contextvars)."""

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class _BindCase(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        case_id = info.workflow_id.removeprefix("case-") if info.workflow_id else None
        with structlog.contextvars.bound_contextvars(
            case_id=case_id, activity=info.activity_type, attempt=info.attempt
        ):
            return await self.next.execute_activity(input)


class CaseLogContext(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindCase(next)
