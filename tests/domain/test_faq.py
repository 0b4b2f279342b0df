"""The FAQ file and the bot's retrieval over it: plain tests and properties."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.tenants import load_directory
from domain.faq import FaqError, FaqIndex, parse_faq, words
from domain.tenant import TenantConfigError
from tests.conftest import TENANTS_DIR

FAQ = """# Notes for editors: not a question

## How do I return an item?
Bring it to any store within 30 days.

## When will I get my refund?
3 to 5 working days after we receive the return.

## Where is my order?
Follow the tracking link in your dispatch email.
"""


def test_each_heading_is_a_question_with_the_text_below_as_its_answer():
    entries = parse_faq(FAQ)
    assert [e.question for e in entries] == [
        "How do I return an item?",
        "When will I get my refund?",
        "Where is my order?",
    ]
    assert entries[0].answer == "Bring it to any store within 30 days."


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("## A question\n\n## Another\nan answer", "line 1: the question 'A question' has no"),
        ("just some notes", "no questions"),
        ("## " + "x" * 501 + "\nanswer", "line 1: a question must have 1 to 500 characters"),
        ("## Long?\n" + "y" * 4001, "over 4,000 characters"),
    ],
)
def test_a_broken_faq_says_what_and_where(text: str, problem: str):
    with pytest.raises(FaqError, match=problem.replace("?", r"\?")):
        parse_faq(text)


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("can I return this jacket?", "How do I return an item?"),
        ("returning items", "How do I return an item?"),
        ("where's my order", "Where is my order?"),
        ("when do refunds arrive", "When will I get my refund?"),
        ("the weather is lovely", None),
        ("hello?", None),  # nothing but function words
        ("my parcel never came", None),  # "parcel" is not in this FAQ: it says it does not know
    ],
)
def test_retrieval_finds_the_entry_by_its_words_or_nothing(asked: str, expected: str | None):
    found = FaqIndex(parse_faq(FAQ)).best(asked, min_coverage=0.5)
    assert (found.entry.question if found else None) == expected


def test_a_higher_coverage_threshold_answers_less():
    index = FaqIndex(parse_faq(FAQ))
    assert index.best("return my shoes", min_coverage=0.5) is not None
    assert index.best("return my shoes", min_coverage=1.0) is None  # "shoes" is not there


@given(st.text(max_size=200), st.floats(min_value=0.01, max_value=1.0))
def test_an_answer_always_covers_enough_of_the_question(asked: str, threshold: float):
    found = FaqIndex(parse_faq(FAQ)).best(asked, min_coverage=threshold)
    if found is not None:
        assert found.coverage >= threshold and found.score > 0
        assert set(words(asked)) & set(words(found.entry.question + " " + found.entry.answer))


def test_each_sample_question_asked_verbatim_finds_itself(tenants):
    config = tenants["harbour-retail"].chat_bot
    index = FaqIndex(config.entries)
    for entry in config.entries:
        found = index.best(entry.question, config.min_coverage)
        assert found is not None and found.entry == entry


def test_the_faq_never_travels_with_the_policy(tenants):
    dumped = tenants["harbour-retail"].model_dump(mode="json")
    assert dumped["chat_bot"]["enabled"] and "entries" not in dumped["chat_bot"]


def test_a_missing_or_broken_faq_file_names_the_tenant_file(tmp_path: Path):
    source = (TENANTS_DIR / "harbour-retail.toml").read_text()
    (tmp_path / "harbour-retail.toml").write_text(source)
    with pytest.raises(TenantConfigError, match=r"chat_bot\.faq: cannot read"):
        load_directory(tmp_path)
    (tmp_path / "harbour-retail.faq.md").write_text("## Only a question\n")
    with pytest.raises(TenantConfigError) as raised:
        load_directory(tmp_path)
    assert "harbour-retail.toml" in str(raised.value)
    assert "has no answer under it" in str(raised.value)
    (tmp_path / "harbour-retail.toml").write_text(
        source.replace('faq = "harbour-retail.faq.md"\n', "")
    )
    with pytest.raises(TenantConfigError, match="an enabled chat bot needs faq"):
        load_directory(tmp_path)
