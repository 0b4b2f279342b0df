"""What the case workflow takes, carries across continue-as-new, and queues for its loop.

These models live outside `workflows/` on purpose: the workflow sandbox re-executes the
workflow module for every workflow instance it creates (each case's start, each replay after
the cache evicts it), and building pydantic model classes is the costliest part of that.
Here, in a pass-through module, they are built once per worker process.
"""

from typing import Any

from pydantic import BaseModel, Field

from domain.case import CaseState
from domain.models import CaseInput
from domain.views import CaseView

DEFAULT_CONTINUE_AFTER_EVENTS = 10_000


class Pending(BaseModel):
    """A signal or update waiting for the main loop; `payload` is the raw JSON as sent."""

    name: str
    payload: Any = None
    update_id: int | None = None


class Outcome(BaseModel):
    view: CaseView | None = None
    error: str | None = None


class CaseRun(BaseModel):
    """What a continued run carries over (and the knobs tests use to force it)."""

    state: CaseState | None = None
    inbox: list[Pending] = Field(default_factory=list)
    continue_after_events: int = DEFAULT_CONTINUE_AFTER_EVENTS


class CaseStart(CaseInput):
    """The start input: the public CaseInput, plus what a continued run carries."""

    continued: CaseRun | None = None
