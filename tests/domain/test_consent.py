"""Consent keywords: whole-message matching in any case and padding, YES semantics, replies."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.consent import (
    HELP_WORDS,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    ConsentAction,
    confirmation,
    consent_action,
)
from domain.sms import Encoding, segments

EXPECTED = {
    **dict.fromkeys(OPT_OUT_WORDS, ConsentAction.OPT_OUT),
    **dict.fromkeys(OPT_IN_WORDS, ConsentAction.OPT_IN),
    **dict.fromkeys(HELP_WORDS, ConsentAction.HELP),
}
# Curly quotes, an ellipsis, a zero-width space and an emoji are padding too.
padding = st.text(alphabet=" \t\n\r.!?,;:'\"«»“”\u2018\u2019()-…\u200b🙏", max_size=5)
casing = st.sampled_from([str.lower, str.upper, str.title, lambda w: w[0].upper() + w[1:]])


def test_the_word_lists():
    assert {w.upper() for w in OPT_OUT_WORDS} == {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
    }
    assert {w.upper() for w in OPT_IN_WORDS} == {"START", "UNSTOP"}
    assert {w.upper() for w in HELP_WORDS} == {"HELP", "INFO"}


@pytest.mark.parametrize(
    "text",
    [
        "stop",
        "STOP",
        " Stop! ",
        "STOP.",
        "stop!!",
        "«stop»",
        '"Stop"',
        "\tstop\n",
        "\uff33\uff34\uff2f\uff30",
    ],
)
def test_stop_in_the_ways_people_write_it(text: str):
    assert consent_action(text, opted_out=False) is ConsentAction.OPT_OUT


@pytest.mark.parametrize("text", ["Opt-Out", "opt out", "OPT OUT!", "opt\u2013out", "Opt  -  out"])
def test_optout_may_be_split_by_a_hyphen_or_space(text: str):
    assert consent_action(text, opted_out=False) is ConsentAction.OPT_OUT


@pytest.mark.parametrize("text", ["sto p", "st-op", "un subscribe", "opt-in", "optin", "op tout"])
def test_other_keywords_are_not_split(text: str):
    assert consent_action(text, opted_out=True) is None


@pytest.mark.parametrize(
    "text",
    [
        "Stop calling me at night",
        "please stop",
        "STOP STOP",
        "cancel my order",
        "I need help",
        "help me",
        "start over",
        "the end",
        "stopped",
        "helpful",
        "",
        "   ",
        "?!",
    ],
)
def test_a_sentence_with_a_keyword_is_for_an_agent(text: str):
    assert consent_action(text, opted_out=False) is None
    assert consent_action(text, opted_out=True) is None


def test_yes_resubscribes_only_an_opted_out_number():
    assert consent_action("YES", opted_out=True) is ConsentAction.OPT_IN
    assert consent_action(" yes! ", opted_out=True) is ConsentAction.OPT_IN
    assert consent_action("YES", opted_out=False) is None
    assert consent_action("yes please", opted_out=True) is None


def test_keywords_act_whatever_the_current_state():
    # A repeated STOP or START is confirmed again rather than sent to an agent.
    assert consent_action("STOP", opted_out=True) is ConsentAction.OPT_OUT
    assert consent_action("START", opted_out=False) is ConsentAction.OPT_IN
    assert consent_action("HELP", opted_out=True) is ConsentAction.HELP


@given(st.sampled_from(sorted(EXPECTED)), casing, padding, padding, st.booleans())
def test_every_keyword_in_any_case_and_padding(
    word: str, case, before: str, after: str, opted_out: bool
):
    assert consent_action(before + case(word) + after, opted_out) is EXPECTED[word]


@given(
    st.sampled_from(sorted(EXPECTED | {"yes": ConsentAction.OPT_IN})),
    casing,
    st.sampled_from(["please", "now", "it", "calling", "me", "thanks", "2"]),
    st.booleans(),
    st.booleans(),
)
def test_a_keyword_with_any_other_word_is_not_a_keyword(
    word: str, case, other: str, other_first: bool, opted_out: bool
):
    text = f"{other} {case(word)}" if other_first else f"{case(word)}, {other}!"
    assert consent_action(text, opted_out) is None


BRANDS = ["Acme", "Northwind Energy", "Contoso Home Insurance", "Fabrikam Telecom & Broadband"]


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("action", list(ConsentAction))
def test_confirmations_fit_one_gsm7_segment(brand: str, action: ConsentAction):
    text = confirmation(action, brand, None)
    assert brand in text
    result = segments(text)
    assert (result.encoding, result.count) == (Encoding.GSM7, 1)


def test_confirmation_texts():
    assert confirmation(ConsentAction.OPT_OUT, "Acme", None) == (
        "You have been unsubscribed from Acme messages and will not receive any more. "
        "Reply START to resubscribe."
    )
    assert confirmation(ConsentAction.OPT_IN, "Acme", None) == (
        "You are resubscribed to Acme messages. Reply STOP to unsubscribe."
    )
    assert confirmation(ConsentAction.HELP, "Acme", None) == (
        "Acme support: reply to this number to reach us. Reply STOP to unsubscribe. "
        "Msg&data rates may apply."
    )


def test_the_tenants_help_text_wins():
    own = "Acme Water: call 0800 123 4567, 8am-8pm. Reply STOP to opt out."
    assert confirmation(ConsentAction.HELP, "Acme", own) == own
    assert confirmation(ConsentAction.HELP, "Acme", "  ").startswith("Acme support:")
    # Only HELP has tenant text; the opt-out wording is fixed.
    assert confirmation(ConsentAction.OPT_OUT, "Acme", own).startswith("You have been")


def test_a_reply_needs_a_brand():
    with pytest.raises(ValueError, match="brand"):
        confirmation(ConsentAction.OPT_OUT, " ", None)
