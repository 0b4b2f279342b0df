"""The FAQ bot in the chat, in the domain alone: who answers, and when a person takes over."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.case import CaseState
from domain.commands import AgentMessage, ChatJoined, CustomerMessage
from domain.effects import AskBot, BotAnswer, Notify, ReplyToCustomer
from domain.models import Author, CaseInput, Channel
from domain.tenant import resolve

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def texting(tenants, tenant: str = "harbour-retail") -> CaseState:
    """A case opened by a text, able to offer the chat."""
    policy = resolve(tenants[tenant], range(2025, 2029))
    state, _ = CaseState.open(
        CaseInput.model_validate(
            {
                "case_id": "c-bot",
                "tenant": tenant,
                "customer": {"id": "cust-1", "phone": "+447700123456"},
                "channel": "sms",
                "message": "My order is late",
                "message_id": "SM0",
            }
        ),
        policy,
        "run-origin-1",
        T0,
    )
    state.chat_handoff_on = True
    return state


def in_chat(tenants, tenant: str = "harbour-retail") -> CaseState:
    state = texting(tenants, tenant)
    state.apply(CustomerMessage(channel=Channel.SMS, text="can we chat?"), T0)
    state.apply(ChatJoined(), T0 + timedelta(minutes=1))
    return state


def say(state: CaseState, text: str, minute: int) -> list:
    message = CustomerMessage(channel=Channel.CHAT, text=text, provider_message_id=f"c{minute}")
    return state.apply(message, T0 + timedelta(minutes=minute))


def bot_lines(state: CaseState) -> list[str]:
    return [m.text for m in state.record.recent_messages if m.author is Author.BOT]


def events(state: CaseState, kind: str) -> list:
    return [e for e in state.record.recent_events if e.type == kind]


def test_a_chat_question_asks_the_faq_and_the_answer_is_written_as_the_bot(tenants):
    state = in_chat(tenants)
    [asked] = say(state, "how do I return an item?", 2)
    assert isinstance(asked, AskBot) and asked.question == "how do I return an item?"
    answer = BotAnswer(answer="Bring it to a store.", matched="How do I return an item?")
    [sent] = state.bot_answered(asked, answer, T0 + timedelta(minutes=2))
    assert isinstance(sent, ReplyToCustomer) and sent.channel is Channel.CHAT
    [line] = bot_lines(state)
    assert sent.text == line  # the chat provider gets what the transcript shows
    assert line.startswith("Bring it to a store.") and "agent" in line
    assert events(state, "bot_answered")[0].detail["faq"] == "How do I return an item?"
    assert state.clocks  # a bot's answer is not a person's: the response clocks still run
    assert state.first_response_at is None


def test_a_greeting_or_a_picture_is_neither_a_question_nor_a_miss(tenants):
    state = in_chat(tenants)
    assert say(state, "thanks!", 2) == [] and say(state, "hi", 3) == []
    assert state.bot_misses == 0 and not state.bot_handed_over


def test_a_text_that_asked_for_a_person_starts_the_chat_with_one(tenants):
    state = texting(tenants)
    state.apply(CustomerMessage(channel=Channel.SMS, text="I want a human"), T0)
    assert state.chat_offered_at is not None and state.bot_handed_over
    assert events(state, "bot_handover")[0].reason == "asked for a person by text ('human')"
    state.apply(ChatJoined(), T0 + timedelta(minutes=1))
    assert say(state, "how do I return an item?", 2) == []  # a person answers


def test_a_chat_the_case_never_offered_gets_no_bot(tenants):
    state = in_chat(tenants)
    state.chat_offered_at = None  # e.g. a case opened by writing in an old case's chat page
    assert say(state, "how do I return an item?", 2) == []


def test_asking_for_a_person_hands_over_for_good_and_tells_the_staff(tenants):
    state = in_chat(tenants)
    out = say(state, "I want to talk to a human please", 2)
    [notice] = [e for e in out if isinstance(e, Notify)]
    assert notice.kind == "chat_handover" and "'human'" in notice.text
    assert "no need to repeat" in bot_lines(state)[-1]
    assert state.bot_handed_over and events(state, "bot_handover")[0].actor == "customer"
    assert say(state, "how do I return an item?", 3) == []  # a person answers from now on


def test_unanswered_questions_in_a_row_hand_over(tenants):
    state = in_chat(tenants)
    for minute in (2, 3):
        [asked] = say(state, "what about the weather", minute)
        out = state.bot_answered(asked, BotAnswer(), T0 + timedelta(minutes=minute))
    assert "not sure" in bot_lines(state)[0]
    assert [n.kind for n in out if isinstance(n, Notify)] == ["chat_handover"]
    assert "could not answer 2 questions in a row" in (
        events(state, "bot_handover")[0].reason or ""
    )


def test_an_answer_in_between_resets_the_misses(tenants):
    state = in_chat(tenants)
    [a] = say(state, "weather?", 2)
    state.bot_answered(a, BotAnswer(), T0)
    [b] = say(state, "returns?", 3)
    state.bot_answered(b, BotAnswer(answer="Bring it back."), T0)
    [c] = say(state, "weather again?", 4)
    state.bot_answered(c, BotAnswer(), T0)
    assert not state.bot_handed_over and state.bot_misses == 1


def test_an_agent_answering_in_the_chat_stops_the_bot_and_a_late_answer_is_dropped(tenants):
    state = in_chat(tenants)
    [asked] = say(state, "how do I return an item?", 2)
    state.apply(AgentMessage(agent="kim", text="Hi, Kim here"), T0 + timedelta(minutes=3))
    assert state.bot_handed_over and events(state, "bot_handover")[0].actor == "kim"
    late = state.bot_answered(asked, BotAnswer(answer="Bring it back."), T0)  # dropped
    assert late == [] and bot_lines(state) == []


def test_an_unreachable_faq_hands_over(tenants):
    state = in_chat(tenants)
    [asked] = say(state, "how do I return an item?", 2)
    out = state.delivery_failed(asked, "FAQ index unavailable", T0 + timedelta(minutes=2))
    assert [n.kind for n in out if isinstance(n, Notify)] == ["chat_handover"]
    assert "unavailable" in (events(state, "bot_handover")[0].reason or "")


@pytest.mark.parametrize("tenant", ["northwind-telecom", "demo-express"])
def test_a_tenant_without_the_bot_gets_no_bot(tenants, tenant: str):
    state = in_chat(tenants, tenant)
    assert say(state, "how do I return an item?", 2) == []
    assert bot_lines(state) == []


def test_the_bot_answers_in_the_chat_only(tenants):
    state = in_chat(tenants)
    text = CustomerMessage(channel=Channel.SMS, text="how do I return an item?")
    assert not any(isinstance(e, AskBot) for e in state.apply(text, T0 + timedelta(minutes=2)))
