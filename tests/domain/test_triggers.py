from hypothesis import given
from hypothesis import strategies as st

from domain.privacy import mask_email, mask_phone, redact
from domain.triggers import escalation_keyword

KEYWORDS = ["supervisor", "manager", "escalate", "speak to a human"]


def test_keywords_match_whole_words_in_any_case_with_punctuation():
    assert escalation_keyword("MANAGER!!!", KEYWORDS) == "manager"
    assert escalation_keyword("get me a Supervisor, now.", KEYWORDS) == "supervisor"
    assert escalation_keyword("I want to SPEAK to a... human!", KEYWORDS) == "speak to a human"
    assert escalation_keyword("please escalate.", KEYWORDS) == "escalate"


def test_no_match_inside_other_words_or_without_keywords():
    assert escalation_keyword("my account manager-approved plan", ["supervisor"]) is None
    assert escalation_keyword("the managerial team", KEYWORDS) is None
    assert escalation_keyword("escalated already?", KEYWORDS) is None
    assert escalation_keyword("", KEYWORDS) is None


@given(
    st.sampled_from(KEYWORDS),
    st.text(alphabet=" .,!?;:-'\"()", max_size=4),
    st.text(alphabet=" .,!?;:-'\"()", max_size=4),
    st.booleans(),
)
def test_keyword_survives_case_and_surrounding_punctuation(keyword, before, after, upper):
    word = keyword.upper() if upper else keyword.title()
    assert escalation_keyword(f"ok{before or ' '}{word}{after or ' '}thanks", KEYWORDS) == keyword


def test_masking():
    assert mask_phone("+12025550123") == "+12******123"
    assert mask_email("dana.smith@example.com") == "d***@e***.com"
    assert (
        redact("reach me at +447400123456 or dana@example.org")
        == "reach me at +44*******456 or d***@e***.org"
    )
    assert redact("case 2026-11-23T10:00:00Z") == "case 2026-11-23T10:00:00Z"
