"""The bounded record: what a case carries stays small for life; nothing unwritten is lost."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.case import CaseState
from domain.commands import AgentMessage, CustomerMessage, parse_command
from domain.models import Author, CaseInput, Channel
from domain.record import (
    BATCH_BYTES,
    BATCH_ENTRIES,
    FLUSH_DELAY,
    FLUSH_ENTRIES,
    PREVIEW_CHARS,
    WINDOW_MESSAGES,
    CaseRecord,
    JournalResult,
    TimelineEvent,
    TranscriptEntry,
)
from domain.tenant import resolve

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The carried state (what continue-as-new sends) after any number of messages. Temporal warns
# at 512 KB per payload; the bound leaves most of that as margin.
CARRIED_BOUND = 128 * 1024


def opened(tenants, case_id: str, channel: str, customer: dict, message: str) -> CaseState:
    """A northwind-telecom case, just opened at T0."""
    policy = resolve(tenants["northwind-telecom"], range(2025, 2029))
    case = CaseInput.model_validate(
        {
            "case_id": case_id,
            "tenant": "northwind-telecom",
            "customer": customer,
            "channel": channel,
            "message": message,
        }
    )
    state, _ = CaseState.open(case, policy, "origin", T0)
    return state


def size(model) -> int:
    return len(model.model_dump_json().encode())


def test_twenty_thousand_1kb_messages_leave_the_carried_state_under_its_bound(tenants):
    state = opened(
        tenants,
        "long-1",
        "email",
        {"id": "c", "phone": "+12025550123", "email": "ada@example.com"},
        "hello",
    )
    now, largest_batch, written_messages, written_events = T0, 0, 0, 0
    body = "lorem ipsum dolor sit amet, " * 37  # ~1 KB
    for i in range(20_000):
        now += timedelta(seconds=30)
        state.tick(now)
        if i % 50 == 0:
            state.apply(AgentMessage(agent="dana", text=f"reply {i}"), now)
        state.apply(
            CustomerMessage(channel=Channel.EMAIL, text=f"{i} {body}", provider_message_id=f"E{i}"),
            now,
        )
        # The journal: a flush whenever the record says one is due, as the workflow does.
        at = state.record.flush_at()
        if at is not None and at <= now:
            batch = state.journal_batch(now)
            assert batch is not None
            largest_batch = max(largest_batch, size(batch))
            written_messages += len(batch.messages)
            written_events += len(batch.events)
            state.journalled(batch, JournalResult(), now)
        assert size(state) < CARRIED_BOUND, f"after {i + 1} messages: {size(state)} bytes"
    assert state.record.messages == 20_000 + 1 + 400
    assert written_messages + len(state.record.unwritten_messages) == state.record.messages
    assert written_events + len(state.record.unwritten_events) == state.record.events
    assert largest_batch < BATCH_BYTES + 16 * 1024
    assert size(state.record.transcript()) < 64 * 1024
    assert size(state.record.timeline()) < 64 * 1024


# Quotes and backslashes escape to two bytes, a control character to six.
ESCAPED = '"\\\x01' * 1_000  # 3,000 characters, under the claim check's 4 KB


@pytest.mark.parametrize("json_sizes", [True, False], ids=["weighed as JSON", "before the patch"])
def test_texts_full_of_escapes_keep_the_carried_state_under_its_bound(tenants, json_sizes):
    """Weighed as JSON, the backlog flushes before escapes can swell it past the bound; the
    old estimate (UTF-8 plus an allowance) lets it reach several times that."""
    state = opened(tenants, "esc-1", "email", {"id": "c", "email": "ada@example.com"}, "x")
    state.record.json_sizes(json_sizes)
    now, largest_state, largest_batch = T0, 0, 0
    for i in range(300):
        now += timedelta(seconds=1)
        message = CustomerMessage(
            channel=Channel.EMAIL, text=f"{i}{ESCAPED}", provider_message_id=f"E{i}"
        )
        state.apply(message, now)
        at = state.record.flush_at()
        if at is not None and at <= now:
            batch = state.journal_batch(now)
            assert batch is not None
            largest_batch = max(largest_batch, size(batch))
            state.journalled(batch, JournalResult(), now)
        largest_state = max(largest_state, size(state))
    assert state.record.unwritten_bytes() >= 0
    if json_sizes:
        assert largest_state < CARRIED_BOUND
        assert largest_batch < BATCH_BYTES + 16 * 1024
    else:
        assert largest_state > CARRIED_BOUND  # what the patch mends


@given(
    texts=st.lists(
        st.text(alphabet=st.sampled_from('a"\\\x01\x1fé😀\n'), max_size=4_000), max_size=60
    )
)
def test_weighed_as_json_a_batch_is_the_json_it_travels_as(texts):
    record = CaseRecord()
    record.json_sizes(True)
    for i, text in enumerate(texts):
        at = T0 + timedelta(seconds=i)
        record.add_message(entry(0, at, text))
        record.add_event(TimelineEvent(at=at, type="note", actor="x", reason=text[:100]))
    assert record.unwritten_bytes() == sum(
        size(e) for e in [*record.unwritten_messages, *record.unwritten_events]
    )
    while record.pending:
        messages, events = record.next_batch(max_bytes=32 * 1024)
        if len(messages) + len(events) > 1:
            assert sum(size(e) for e in [*messages, *events]) <= 32 * 1024
        record.written(
            max((m.seq for m in messages), default=0),
            max((e.seq for e in events), default=0),
            [],
        )
    assert record.unwritten_bytes() == 0


def entry(seq: int, at: datetime, text: str = "hi", author=Author.CUSTOMER, channel=Channel.SMS):
    return TranscriptEntry(seq=seq, at=at, author=author, who="c", channel=channel, text=text)


def test_the_window_keeps_recent_messages_shortened_and_the_backlog_keeps_them_whole():
    record = CaseRecord()
    for i in range(WINDOW_MESSAGES + 5):
        record.add_message(entry(0, T0 + timedelta(seconds=i), "x" * 2_000))
    assert record.messages == WINDOW_MESSAGES + 5
    assert [m.seq for m in record.recent_messages] == list(range(6, WINDOW_MESSAGES + 6))
    assert all(m.truncated and len(m.text) == PREVIEW_CHARS for m in record.recent_messages)
    assert all(len(m.text) == 2_000 for m in record.unwritten_messages)


def test_flush_waits_for_a_quiet_backlog_but_not_for_what_readers_need_now():
    record = CaseRecord()
    record.add_message(entry(0, T0))
    assert record.flush_at() == T0 + FLUSH_DELAY
    record.add_event(TimelineEvent(at=T0, type="customer_replied", actor="customer"))
    assert record.flush_at() == T0 + FLUSH_DELAY
    record.add_event(TimelineEvent(at=T0 + timedelta(seconds=5), type="escalated", actor="x"))
    assert record.flush_at() == T0
    quiet = CaseRecord()
    quiet.add_message(entry(0, T0, author=Author.AGENT))
    assert quiet.flush_at() == T0
    busy = CaseRecord()
    for i in range(FLUSH_ENTRIES):
        busy.add_message(entry(0, T0 + timedelta(seconds=i)))
    assert busy.flush_at() == T0


@pytest.mark.parametrize(
    "kind", ["chat_offered", "chat_joined", "chat_fallback", "channel_changed", "bot_handover"]
)
def test_the_chats_events_are_written_at_once_from_the_patch_on(kind: str):
    before = CaseRecord()  # a run from before `chat-events-urgent`: its commands stay
    before.add_message(entry(0, T0))
    before.add_event(TimelineEvent(at=T0, type=kind, actor="system"))
    assert before.flush_at() == T0 + FLUSH_DELAY
    before.chat_events_urgent(True)  # the next run: what it carries is urgent now
    assert before.flush_at() == T0
    after = CaseRecord()
    after.chat_events_urgent(True)
    after.add_message(entry(0, T0))
    assert after.flush_at() == T0 + FLUSH_DELAY
    after.add_event(TimelineEvent(at=T0 + timedelta(seconds=1), type=kind, actor="system"))
    assert after.flush_at() == T0


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=30_000), min_size=1, max_size=300),
    kinds=st.lists(st.booleans(), min_size=1, max_size=300),
)
def test_batches_are_ordered_bounded_and_lose_nothing(sizes, kinds):
    record = CaseRecord()
    for i, (n, is_message) in enumerate(zip(sizes, kinds, strict=False)):
        at = T0 + timedelta(seconds=i)
        if is_message:
            record.add_message(entry(0, at, "m" * n))
        else:
            record.add_event(TimelineEvent(at=at, type="rejected", actor="x", reason="r" * n))
    seen_messages: list[int] = []
    seen_events: list[int] = []
    while record.pending:
        messages, events = record.next_batch()
        assert messages or events
        assert len(messages) + len(events) <= BATCH_ENTRIES
        if len(messages) + len(events) > 1:
            assert sum(m.size() for m in messages) + sum(e.size() for e in events) <= BATCH_BYTES
        seen_messages += [m.seq for m in messages]
        seen_events += [e.seq for e in events]
        record.written(
            max((m.seq for m in messages), default=0),
            max((e.seq for e in events), default=0),
            [],
        )
    assert seen_messages == list(range(1, record.messages + 1))
    assert seen_events == list(range(1, record.events + 1))


def test_provider_ids_are_remembered_in_a_bounded_window():
    record = CaseRecord()
    for i in range(2_000):
        record.remember(f"SM{i}")
    assert record.seen("SM1999") and not record.seen("SM0")
    assert len(record.recent_provider_ids) == 500


def test_a_plain_text_from_the_web_ui_still_parses_and_a_claim_check_carries_a_preview():
    plain = parse_command("customer_message", {"channel": "sms", "text": "hello"})
    assert isinstance(plain, CustomerMessage) and plain.body is None
    ref = {"ref": "a" * 64, "sha256": "a" * 64, "bytes": 50_000}
    checked = parse_command(
        "customer_message", {"channel": "email", "text": "Dear team…", "body": ref}
    )
    assert isinstance(checked, CustomerMessage) and checked.body is not None
    with pytest.raises(ValueError, match="preview"):
        parse_command("customer_message", {"channel": "email", "text": "x" * 600, "body": ref})


def test_a_state_from_the_unbounded_release_is_carried_over_without_losing_anything(tenants):
    state = opened(tenants, "old-1", "sms", {"id": "c", "phone": "+12025550123"}, "hello")
    old = json.loads(state.model_dump_json())
    record = old.pop("record")
    old["transcript"] = [
        {**m, "text": f"old message {i}"}
        for i, m in enumerate(record["unwritten_messages"] * 30, start=1)
    ]
    for i, m in enumerate(old["transcript"], start=1):
        m["seq"] = i
    old["timeline"] = [
        {k: v for k, v in e.items() if k != "seq"} for e in record["unwritten_events"]
    ]
    old["seen_message_ids"] = [f"SM{i}" for i in range(700)]
    old["first_response_done"] = True
    old.pop("escalation_count")
    old.pop("first_response_at")
    old.pop("closed_at")
    carried = CaseState.model_validate(old)
    assert carried.record.messages == 30
    assert len(carried.record.unwritten_messages) == 30
    assert len(carried.record.recent_messages) == WINDOW_MESSAGES
    assert carried.record.events == len(old["timeline"])
    assert carried.record.seen("SM699") and not carried.record.seen("SM0")
    assert carried.first_response_at is not None


def test_an_id_not_yet_in_the_store_is_remembered_beyond_the_window():
    record = CaseRecord()
    for i in range(1_000):
        record.add_message(
            TranscriptEntry(
                seq=0,
                at=T0,
                author=Author.CUSTOMER,
                who="c",
                channel=Channel.SMS,
                text="hi",
                provider_message_id=f"SM{i}",
            )
        )
    assert record.seen("SM0"), "unwritten: the case still has it"
    record.written(1_000, 0, [])
    assert not record.seen("SM0") and record.seen("SM999")  # the store guards older ones
    again = CaseRecord.model_validate(record.model_dump())
    assert again.seen("SM999") and again.unwritten_bytes() == 0


def test_a_retry_the_store_refused_is_counted_out_of_the_case(tenants):
    """A retry racing the journal: past the recent ids, numbered, then refused by the store."""
    state = opened(tenants, "race-1", "chat", {"id": "c"}, "hello")
    state.apply(CustomerMessage(channel=Channel.CHAT, text="a", provider_message_id="A"), T0)
    state.apply(CustomerMessage(channel=Channel.CHAT, text="b", provider_message_id="B"), T0)
    batch = state.journal_batch(T0)
    assert batch is not None
    refused = batch.messages[-1].seq
    state.journalled(batch, JournalResult(messages_written=2, duplicates=[refused]), T0)
    assert state.record.messages == 3 and state.record.held == 2
    assert state.record.transcript().total == 2
    from domain.views import view

    assert view(state).messages == 2
    assert [e.type for e in state.record.recent_events][-1] == "duplicate_dropped"
