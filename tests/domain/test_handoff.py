"""The SMS-to-chat triggers: each fires at its tenant threshold with its reason (pure)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.handoff import HandoffTrigger, InboundText, chat_triggers
from domain.sentiment import compound
from domain.tenant import ChatHandoffConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONFIG = ChatHandoffConfig()


def inbound(**changes: object) -> InboundText:
    values: dict[str, object] = {
        "text": "My router drops the connection every evening",
        "media_count": 0,
        "exchanges": 1,
        "sentiment": 0.0,
        "opened_at": T0,
        "at": T0 + timedelta(minutes=5),
    }
    values.update(changes)
    return InboundText(**values)  # type: ignore[arg-type]


def kinds(found: list) -> list[HandoffTrigger]:
    return [r.trigger for r in found]


def test_a_plain_text_early_in_a_calm_conversation_triggers_nothing():
    assert chat_triggers(CONFIG, inbound(), in_chat=False) == []


def test_each_trigger_fires_at_its_threshold_with_its_reason():
    cases = {
        HandoffTrigger.ASKED: inbound(text="Can I talk to a human please?"),
        HandoffTrigger.EXCHANGES: inbound(exchanges=CONFIG.max_exchanges + 1),
        HandoffTrigger.LONG_MESSAGE: inbound(text="x" * CONFIG.long_message_chars),
        HandoffTrigger.PICTURES: inbound(media_count=2),
        HandoffTrigger.NEGATIVE: inbound(sentiment=CONFIG.negative_sentiment),
        HandoffTrigger.SLOW: inbound(at=T0 + CONFIG.slow_progress),
    }
    for trigger, text in cases.items():
        [reason] = chat_triggers(CONFIG, text, in_chat=False)
        assert reason.trigger is trigger and reason.detail
    below = [
        inbound(exchanges=CONFIG.max_exchanges),
        inbound(text="x" * (CONFIG.long_message_chars - 1)),
        inbound(sentiment=CONFIG.negative_sentiment + 0.01),
        inbound(at=T0 + CONFIG.slow_progress - timedelta(seconds=1)),
        inbound(text="I chatted with your agentless bot"),  # whole words only
    ]
    assert all(chat_triggers(CONFIG, text, in_chat=False) == [] for text in below)


def test_thresholds_are_the_tenants():
    strict = ChatHandoffConfig(keywords=["web chat"], max_exchanges=2, pictures=False)
    assert kinds(chat_triggers(strict, inbound(exchanges=3, media_count=1), False)) == [
        HandoffTrigger.EXCHANGES
    ]
    assert chat_triggers(strict, inbound(text="an agent please"), False) == []
    assert kinds(chat_triggers(strict, inbound(text="Web chat?"), False)) == [HandoffTrigger.ASKED]


texts = st.builds(
    inbound,
    text=st.text(max_size=700),
    media_count=st.integers(0, 10),
    exchanges=st.integers(1, 50),
    sentiment=st.floats(-1, 1),
    at=st.datetimes(min_value=datetime(2026, 3, 2, 9), max_value=datetime(2026, 3, 9)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
)


@given(texts)
def test_a_case_in_chat_or_a_tenant_without_it_is_never_offered_chat(text: InboundText):
    assert chat_triggers(CONFIG, text, in_chat=True) == []
    assert chat_triggers(ChatHandoffConfig(enabled=False), text, in_chat=False) == []


@given(texts, st.integers(1, 20))
def test_more_of_anything_never_takes_a_reason_away(text: InboundText, more: int):
    before = set(kinds(chat_triggers(CONFIG, text, False)))
    worse = inbound(
        text=text.text,
        media_count=text.media_count + more,
        exchanges=text.exchanges + more,
        sentiment=max(-1.0, text.sentiment - more / 20),
        opened_at=text.opened_at,
        at=text.at + timedelta(minutes=more),
    )
    after = kinds(chat_triggers(CONFIG, worse, False))
    assert before <= set(after) and len(after) == len(set(after))
    assert after == sorted(after, key=list(HandoffTrigger).index)  # a fixed order


def test_sentiment_scores_angry_texts_below_the_default_threshold_and_plain_ones_neutral():
    angry = "This is useless, I am furious and nothing works!!"
    assert compound(angry) <= CONFIG.negative_sentiment
    assert compound("My router drops the connection every evening") == 0.0
    assert compound("Thanks, that fixed it") > 0
    assert compound("   ") == 0.0
