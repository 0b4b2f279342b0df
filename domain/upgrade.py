"""Carrying a case over from the release that kept its whole story in the workflow.

Such a case's continue-as-new input holds `transcript`, `timeline` and
`seen_message_ids`; they become the bounded record, and every entry is queued for
the store, so nothing it had is lost.
"""

from typing import Any

from domain.escalation import ESCALATIONS_KEPT
from domain.record import (
    PREVIEW_CHARS,
    RECENT_PROVIDER_IDS,
    WINDOW_EVENTS,
    WINDOW_MESSAGES,
    preview,
)


def _window_copy(entry: dict[str, Any]) -> dict[str, Any]:
    text = str(entry.get("text", ""))
    if len(text) <= PREVIEW_CHARS:
        return entry
    return {**entry, "text": preview(text), "truncated": True}


def from_unbounded_state(data: Any) -> Any:
    """The state in today's shape; today's state passes through unchanged."""
    if not isinstance(data, dict) or "transcript" not in data:
        return data
    data = dict(data)
    transcript: list[dict[str, Any]] = list(data.pop("transcript") or [])
    timeline = [{**event, "seq": i} for i, event in enumerate(data.pop("timeline") or [], start=1)]
    seen: list[str] = list(data.pop("seen_message_ids") or [])
    escalations: list[Any] = list(data.get("escalations") or [])
    data["escalations"] = escalations[-ESCALATIONS_KEPT:]
    data["escalation_count"] = len(escalations)
    if data.pop("first_response_done", False):
        clocks = data.get("clocks") or {}
        first = clocks.get("first_response") or {}
        data["first_response_at"] = first.get("stopped_at") or data.get("opened_at")
    data["record"] = {
        "messages": len(transcript),
        "events": len(timeline),
        "recent_messages": [_window_copy(m) for m in transcript[-WINDOW_MESSAGES:]],
        "recent_events": timeline[-WINDOW_EVENTS:],
        "recent_provider_ids": seen[-RECENT_PROVIDER_IDS:],
        "unwritten_messages": transcript,
        "unwritten_events": timeline,
    }
    return data
