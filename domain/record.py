"""A case's record: what it keeps (a bounded window) and what it journals to the store.

The workflow never holds a case's whole story. It keeps counters, a recent window
of messages and events, recent provider message ids for dedupe, and the entries
not yet written to the case record store. The journal takes those in ordered
batches; once the store has them, only the window remains.
"""

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr
from pydantic_core import to_json

from domain.models import Author, Channel
from domain.models import BodyRef as BodyRef  # part of the record's vocabulary

# A customer body over this many UTF-8 bytes travels by reference (claim check).
CLAIM_CHECK_BYTES = 4096
PREVIEW_CHARS = 500
WINDOW_MESSAGES = 20
WINDOW_EVENTS = 50
RECENT_PROVIDER_IDS = 500
# One journal batch stays well under Temporal's 512 KB payload warning.
BATCH_ENTRIES = 200
BATCH_BYTES = 256 * 1024
# Flush at once past this many unwritten entries or bytes; otherwise within FLUSH_DELAY.
FLUSH_ENTRIES = 20
FLUSH_BYTES = 64 * 1024
FLUSH_DELAY = timedelta(minutes=5)
# Unwritten entries a continue-as-new may carry (a store outage); beyond it the case waits.
CARRY_BYTES = 192 * 1024
# Events the store must show at once: they change who owns the case or its state.
URGENT_EVENTS = frozenset(
    {
        "opened",
        "escalated",
        "acknowledged",
        "assigned",
        "priority_changed",
        "awaiting_customer",
        "resolved",
        "reopened",
        "closed",
        "sla_breached",
        "delivery_failed",
        "rejected",  # a supervisor who sent a bad signal looks for the reason at once
        # the channels: an agent looks for why a reply did not go, or went elsewhere
        "channel_fallback",
        "message_deferred",
        "delivery_report",
        "sms_opted_out",
        "sms_opted_in",
        "callback_requested",
    }
)
# The web chat's events, urgent from the workflow patch `chat-events-urgent` on: the chat page
# opens on the SMS story and the console's list follows waiting / joined / back on SMS.
CHAT_EVENTS = frozenset(
    {"chat_offered", "chat_joined", "chat_fallback", "channel_changed", "bot_handover"}
)
_ENTRY_OVERHEAD = 320  # bytes of JSON around an entry's text


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TranscriptEntry(BaseModel):
    seq: int
    at: datetime
    author: Author
    who: str
    channel: Channel
    text: str = Field(description="the full text; a preview when `body` or `truncated` says so")
    media_count: int = 0
    provider_message_id: str | None = None
    sent_at: datetime | None = Field(
        default=None, description="when the customer's side sent it, if the channel says"
    )
    body: BodyRef | None = Field(default=None, description="claim check: the body is in the store")
    truncated: bool = False
    erased: bool = False

    def size(self, as_json: bool = False) -> int:
        """Bytes the entry weighs in a payload: its JSON exactly, or (before the `json-sizes`
        patch) its text's UTF-8 plus a fixed allowance, which misses JSON's escapes."""
        if as_json:
            return len(to_json(self))
        return len(self.text.encode("utf-8")) + _ENTRY_OVERHEAD


class TimelineEvent(BaseModel):
    seq: int = 0
    at: datetime
    type: str
    actor: str
    reason: str | None = None
    detail: dict[str, str | int | bool | None] = Field(default_factory=dict)

    def size(self, as_json: bool = False) -> int:
        if as_json:
            return len(to_json(self))
        extra = sum(len(str(k)) + len(str(v)) for k, v in self.detail.items())
        return len((self.reason or "").encode("utf-8")) + extra + _ENTRY_OVERHEAD


class CaseSnapshot(BaseModel):
    """The case's summary row in the store, as of the batch that carries it."""

    case_id: str
    tenant: str
    customer_id: str | None
    channel: Channel
    status: str
    priority: str
    level: int
    team: str
    assignee: str | None
    sla_breached: bool
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    messages: int
    events: int
    escalations: int
    updated_at: datetime
    chat_state: str | None = Field(
        default=None,
        description="waiting, joined, quiet or not_joined once the web chat was offered",
    )
    csat_asked_at: datetime | None = None
    csat_score: int | None = None
    nps_score: int | None = None
    review: bool = Field(default=False, description="marked for review (a low rating)")


class JournalBatch(BaseModel):
    """Entries not yet written, in order, and the summary as of the last of them."""

    case_id: str
    messages: list[TranscriptEntry] = Field(default_factory=list)
    events: list[TimelineEvent] = Field(default_factory=list)
    summary: CaseSnapshot


class JournalResult(BaseModel):
    messages_written: int = 0
    events_written: int = 0
    duplicates: list[int] = Field(
        default_factory=list,
        description="message seqs the store refused: their provider id was already stored",
    )


def _urgent_message(entry: TranscriptEntry) -> bool:
    """Agents' replies and live chat are read from the store at once."""
    return entry.author is not Author.CUSTOMER or entry.channel is Channel.CHAT


class TranscriptWindow(BaseModel):
    """What the `transcript` query answers: the recent messages and how many there are."""

    total: int
    entries: list[TranscriptEntry]


class TimelineWindow(BaseModel):
    total: int
    events: list[TimelineEvent]


class CaseRecord(BaseModel):
    """Counters, windows and the journal's backlog: bounded whatever the case's age.

    The backlog's size and urgency are kept as running totals: the workflow asks for
    them in wait conditions, many times per task, so they must not cost a scan.
    """

    messages: int = 0
    events: int = 0
    recent_messages: list[TranscriptEntry] = Field(default_factory=list)
    recent_events: list[TimelineEvent] = Field(default_factory=list)
    recent_provider_ids: list[str] = Field(default_factory=list)
    unwritten_messages: list[TranscriptEntry] = Field(default_factory=list)
    unwritten_events: list[TimelineEvent] = Field(default_factory=list)
    duplicates_dropped: int = 0
    _unwritten_bytes: int = PrivateAttr(default=0)
    _urgent: bool = PrivateAttr(default=False)
    _unwritten_ids: set[str] = PrivateAttr(default_factory=set)
    _chat_urgent: bool = PrivateAttr(default=False)  # set per run by the workflow
    _json_sizes: bool = PrivateAttr(default=False)  # likewise

    def model_post_init(self, context: Any, /) -> None:
        self._recount()

    def _recount(self) -> None:
        self._unwritten_bytes = sum(m.size(self._json_sizes) for m in self.unwritten_messages)
        self._unwritten_bytes += sum(e.size(self._json_sizes) for e in self.unwritten_events)
        self._urgent = any(_urgent_message(m) for m in self.unwritten_messages) or any(
            self._urgent_event(e.type) for e in self.unwritten_events
        )
        self._unwritten_ids = {
            m.provider_message_id for m in self.unwritten_messages if m.provider_message_id
        }

    def chat_events_urgent(self, on: bool) -> None:
        """Whether the chat's events make the journal write at once (a per-run patch gate)."""
        self._chat_urgent = on
        self._recount()

    def json_sizes(self, on: bool) -> None:
        """Whether the backlog is weighed as the JSON it travels as (a per-run patch gate).

        Without it a text of quotes, backslashes or control characters weighs up to six
        times its estimate once escaped, and a batch or a carried backlog can pass the
        payload warning its limits are meant to keep it under.
        """
        self._json_sizes = on
        self._recount()

    def _urgent_event(self, kind: str) -> bool:
        return kind in URGENT_EVENTS or (self._chat_urgent and kind in CHAT_EVENTS)

    # ----- writing --------------------------------------------------------------------------
    def seen(self, provider_message_id: str) -> bool:
        """A recent id, or one not yet in the store (whose unique key guards the older ones)."""
        return (
            provider_message_id in self._unwritten_ids
            or provider_message_id in self.recent_provider_ids
        )

    def remember(self, provider_message_id: str) -> None:
        self.recent_provider_ids.append(provider_message_id)
        del self.recent_provider_ids[:-RECENT_PROVIDER_IDS]

    def add_message(self, entry: TranscriptEntry) -> TranscriptEntry:
        """Number `entry`, queue it for the store and keep a shortened copy in the window."""
        self.messages += 1
        entry = entry.model_copy(update={"seq": self.messages})
        self.unwritten_messages.append(entry)
        self._unwritten_bytes += entry.size(self._json_sizes)
        self._urgent = self._urgent or _urgent_message(entry)
        if entry.provider_message_id:
            self._unwritten_ids.add(entry.provider_message_id)
        shown = entry
        if len(entry.text) > PREVIEW_CHARS:
            shown = entry.model_copy(update={"text": preview(entry.text), "truncated": True})
        self.recent_messages.append(shown)
        del self.recent_messages[:-WINDOW_MESSAGES]
        if entry.provider_message_id:
            self.remember(entry.provider_message_id)
        return entry

    def add_event(self, event: TimelineEvent) -> TimelineEvent:
        self.events += 1
        event = event.model_copy(update={"seq": self.events})
        self.unwritten_events.append(event)
        self._unwritten_bytes += event.size(self._json_sizes)
        self._urgent = self._urgent or self._urgent_event(event.type)
        self.recent_events.append(event)
        del self.recent_events[:-WINDOW_EVENTS]
        return event

    # ----- the journal ----------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        return bool(self.unwritten_messages or self.unwritten_events)

    def unwritten_bytes(self) -> int:
        return self._unwritten_bytes

    def flush_at(self) -> datetime | None:
        """When the journal should write next: None if nothing waits."""
        if not self.pending:
            return None
        oldest = min(
            [m.at for m in self.unwritten_messages[:1]] + [e.at for e in self.unwritten_events[:1]]
        )
        urgent = (
            self._urgent
            or len(self.unwritten_messages) + len(self.unwritten_events) >= FLUSH_ENTRIES
            or self._unwritten_bytes >= FLUSH_BYTES
        )
        return oldest if urgent else oldest + FLUSH_DELAY

    def next_batch(
        self, max_entries: int = BATCH_ENTRIES, max_bytes: int = BATCH_BYTES
    ) -> tuple[list[TranscriptEntry], list[TimelineEvent]]:
        """The oldest unwritten entries, merged by time, within the batch limits (at least one)."""
        messages: list[TranscriptEntry] = []
        events: list[TimelineEvent] = []
        mi = ei = size = 0
        while mi < len(self.unwritten_messages) or ei < len(self.unwritten_events):
            take_message = ei >= len(self.unwritten_events) or (
                mi < len(self.unwritten_messages)
                and self.unwritten_messages[mi].at <= self.unwritten_events[ei].at
            )
            entry: TranscriptEntry | TimelineEvent = (
                self.unwritten_messages[mi] if take_message else self.unwritten_events[ei]
            )
            cost = entry.size(self._json_sizes)
            full = len(messages) + len(events) >= max_entries or size + cost > max_bytes
            if full and (messages or events):
                break
            size += cost
            if take_message:
                messages.append(self.unwritten_messages[mi])
                mi += 1
            else:
                events.append(self.unwritten_events[ei])
                ei += 1
        return messages, events

    def written(self, messages_through: int, events_through: int, duplicates: list[int]) -> None:
        """The store holds every entry up to these seqs; drop them from the backlog."""
        self.unwritten_messages = [m for m in self.unwritten_messages if m.seq > messages_through]
        self.unwritten_events = [e for e in self.unwritten_events if e.seq > events_through]
        self.duplicates_dropped += len(duplicates)
        self._recount()

    # ----- reading --------------------------------------------------------------------------
    @property
    def held(self) -> int:
        """Messages the case holds: those numbered, less provider retries the store refused.

        A retry can pass the client's check of the store and the case's recent ids when it
        races the journal (its first copy written a moment before it arrives, after it fell
        out of the recent ids); the store's unique key refuses it, and its seq stays unused.
        """
        return self.messages - self.duplicates_dropped

    def transcript(self) -> TranscriptWindow:
        return TranscriptWindow(total=self.held, entries=list(self.recent_messages))

    def timeline(self) -> TimelineWindow:
        return TimelineWindow(total=self.events, events=list(self.recent_events))


class TranscriptPage(BaseModel):
    """A page of the complete transcript, read from the store."""

    case_id: str
    total: int
    entries: list[TranscriptEntry]
    more_before: bool = Field(description="older messages exist before this page")
    more_after: bool = Field(description="newer messages exist after this page")


class TimelinePage(BaseModel):
    case_id: str
    total: int
    events: list[TimelineEvent]
    more_before: bool
    more_after: bool


class ErasureReport(BaseModel):
    """What erasing one customer's records changed; counts and times stay for metrics."""

    tenant: str
    customer_id: str
    cases: list[str]
    messages: int
    bodies: int
    events: int
