"""CSAT: the rating read leniently, asked once per resolution, a low one acted on."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.case import CaseState, Rejected
from domain.commands import CustomerMessage, Rate, Resolve
from domain.csat import Unclear, parse_nps, parse_rating
from domain.effects import Notify, ReplyToCustomer
from domain.models import CaseInput, CaseStatus, Channel
from domain.tenant import CsatConfig, resolve

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        (" 4 ", 4),
        ("five", 5),
        ("Five!", 5),
        ("5 stars", 5),
        ("3 star", 3),
        ("4/5", 4),
        ("5/5", 5),
        ("4 out of 5", 4),
        ("★★★★", 4),
        ("⭐⭐", 2),
        ("I'd say 2", 2),
        ("thanks, it works now", None),  # no number: an ordinary message
        ("", None),
    ],
)
def test_a_rating_is_read_leniently(text: str, rating: int | None):
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text", ["10", "0", "3 or 4", "6 stars", "between two and three", "123456"]
)
def test_a_number_that_is_not_one_rating_is_unclear(text: str):
    with pytest.raises(Unclear):
        parse_rating(text)


@given(st.text(max_size=60))
def test_any_text_is_a_rating_from_1_to_5_none_or_unclear(text: str):
    try:
        found = parse_rating(text)
    except Unclear:
        return
    assert found is None or 1 <= found <= 5


def resolved(tenants, **overrides) -> CaseState:
    policy = resolve(tenants["northwind-telecom"], range(2025, 2029))
    data = {
        "case_id": "c-csat",
        "tenant": "northwind-telecom",
        "customer": {"id": "cust-1", "phone": "+12025550123", "email": "ada@example.com"},
        "channel": "sms",
        "message": "My bill doubled",
        "message_id": "SM0",
    } | overrides
    state, _ = CaseState.open(CaseInput.model_validate(data), policy, "run-1", T0)
    state.csat_on = True
    return state


def text(body: str, i: int) -> CustomerMessage:
    return CustomerMessage(channel=Channel.SMS, text=body, provider_message_id=f"SM{i}")


def test_resolving_asks_once_on_the_customers_channel(tenants):
    state = resolved(tenants)
    out = state.apply(Resolve(actor="sam", resolution="credit"), T0)
    [ask] = [e for e in out if isinstance(e, ReplyToCustomer)]
    assert ask.channel is Channel.SMS and "1 (poor) to 5 (great)" in ask.text
    assert state.csat_asked_at == T0


def test_a_rating_is_kept_thanked_and_the_case_stays_resolved(tenants):
    state = resolved(tenants)
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    [thanks] = state.apply(text("5 stars", 1), T0 + timedelta(minutes=5))
    assert isinstance(thanks, ReplyToCustomer) and "Thank you" in thanks.text
    assert state.csat_score == 5 and not state.csat_review
    assert state.status is CaseStatus.RESOLVED
    # After the rating, a message is a message again: the case reopens.
    state.apply(text("still broken", 2), T0 + timedelta(hours=1))
    assert state.status is CaseStatus.OPEN


def test_a_low_rating_notifies_and_marks_the_case_for_review(tenants):
    state = resolved(tenants)
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    out = state.apply(text("one", 1), T0 + timedelta(minutes=5))
    [notice] = [e for e in out if isinstance(e, Notify)]
    assert notice.kind == "csat_low" and "rated 1 of 5" in notice.text
    assert "+1202" not in notice.text and state.csat_review
    assert [e.type for e in state.record.recent_events][-2:] == ["csat_received", "csat_low"]


def test_an_unclear_reply_gets_one_polite_retry_then_counts_as_a_message(tenants):
    state = resolved(tenants)
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    [retry] = state.apply(text("10", 1), T0 + timedelta(minutes=1))
    assert isinstance(retry, ReplyToCustomer) and "one number from 1 to 5" in retry.text
    assert state.status is CaseStatus.RESOLVED
    state.apply(text("3 or 4", 2), T0 + timedelta(minutes=2))  # no second retry
    assert state.status is CaseStatus.OPEN and state.csat_score is None


def test_a_message_without_a_number_reopens_as_before(tenants):
    state = resolved(tenants)
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    state.apply(text("it is broken again", 1), T0 + timedelta(minutes=1))
    assert state.status is CaseStatus.OPEN and state.csat_score is None


def test_a_tenant_that_turns_csat_off_is_not_asked(tenants):
    config = tenants["northwind-telecom"]
    off = config.model_copy(update={"csat": config.csat.model_copy(update={"enabled": False})})
    state = resolved({"northwind-telecom": off})
    out = state.apply(Resolve(actor="sam", resolution="credit"), T0)
    assert not any(isinstance(e, ReplyToCustomer) for e in out)


def test_a_customer_who_opted_out_of_texts_is_asked_by_email_or_not_at_all(tenants):
    from domain.commands import SmsConsent

    state = resolved(tenants)
    state.apply(SmsConsent(opted_out=True, keyword="STOP"), T0)
    [ask] = [
        e
        for e in state.apply(Resolve(actor="sam", resolution="credit"), T0)
        if isinstance(e, ReplyToCustomer)
    ]
    assert ask.channel is Channel.EMAIL and ask.to == "ada@example.com"
    no_email = resolved(tenants, customer={"id": "c-2", "phone": "+12025550124"})
    no_email.apply(SmsConsent(opted_out=True, keyword="STOP"), T0)
    out = no_email.apply(Resolve(actor="sam", resolution="credit"), T0)
    assert not any(isinstance(e, ReplyToCustomer) for e in out)
    assert no_email.record.recent_events[-1].type == "csat_not_asked"
    assert ask.rating_link and "{rating_link}" in ask.text  # the email's one-click page


def with_nps(tenants):
    config = tenants["northwind-telecom"]
    return {"northwind-telecom": config.model_copy(update={"csat": CsatConfig(nps=True)})}


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("9", 9),
        ("nine", 9),
        ("0", 0),
        ("zero", 0),
        ("10", 10),
        ("10/10", 10),
        ("8/10", 8),
        ("ten out of 10", 10),
        ("thanks a lot", None),
    ],
)
def test_an_nps_score_is_read_leniently(text: str, score: int | None):
    assert parse_nps(text) == score


@pytest.mark.parametrize("text", ["11", "9 or 10", "between seven and eight", "100"])
def test_a_number_that_is_not_one_nps_score_is_unclear(text: str):
    with pytest.raises(Unclear):
        parse_nps(text)


def test_with_nps_on_the_rating_is_followed_by_one_more_question(tenants):
    state = resolved(with_nps(tenants))
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    [ask] = state.apply(text("4", 1), T0 + timedelta(minutes=1))
    assert isinstance(ask, ReplyToCustomer) and "0 (not at all) to 10" in ask.text
    [retry] = state.apply(text("9 or 10", 2), T0 + timedelta(minutes=2))
    assert isinstance(retry, ReplyToCustomer) and "from 0 to 10" in retry.text
    [thanks] = state.apply(text("nine", 3), T0 + timedelta(minutes=3))
    assert isinstance(thanks, ReplyToCustomer) and "Thank you" in thanks.text
    assert (state.csat_score, state.nps_score, state.status) == (4, 9, CaseStatus.RESOLVED)
    # Both answered: a message is a message again.
    state.apply(text("one more thing", 4), T0 + timedelta(minutes=4))
    assert state.status is CaseStatus.OPEN


def test_a_rating_from_the_link_or_the_widget_counts_once(tenants):
    state = resolved(with_nps(tenants))
    with pytest.raises(Rejected, match="a rating is for a resolved case"):
        state.apply(Rate(score=5, source="link"), T0)
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    out = state.apply(Rate(score=2, nps=6, source="link"), T0 + timedelta(hours=1))
    assert (state.csat_score, state.nps_score, state.csat_review) == (2, 6, True)
    assert any(isinstance(e, Notify) and e.kind == "csat_low" for e in out)
    assert not any(isinstance(e, ReplyToCustomer) and "recommend" in e.text for e in out)
    with pytest.raises(Rejected, match="already rated"):
        state.apply(Rate(score=5, source="chat"), T0 + timedelta(hours=2))
    # A later text is an ordinary message: nothing more is awaited.
    state.apply(text("5", 9), T0 + timedelta(hours=3))
    assert state.status is CaseStatus.OPEN and state.csat_score == 2


def test_a_link_pressed_after_the_case_reopened_is_refused(tenants):
    state = resolved(tenants)
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    state.apply(text("still broken", 1), T0 + timedelta(minutes=1))  # reopens
    with pytest.raises(Rejected, match="the case is open: a rating is for a resolved case"):
        state.apply(Rate(score=5, source="link"), T0 + timedelta(minutes=2))
    assert state.csat_score is None


@pytest.mark.parametrize(("words", "rated"), [(True, None), (False, 1)])
def test_number_words_count_as_whole_words_from_the_patch_on(tenants, words: bool, rated):
    """A case from before `csat-words` keeps reading "done" as holding a "one" (its history
    says so); from the patch on it is an ordinary message."""
    state = resolved(tenants)
    state.csat_words_on = words
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    state.apply(text("done, thanks", 1), T0 + timedelta(minutes=1))
    assert state.csat_score == rated
    assert state.status is (CaseStatus.RESOLVED if rated else CaseStatus.OPEN)
