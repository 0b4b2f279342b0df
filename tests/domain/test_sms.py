"""SMS segments: the GSM-7 / UCS-2 boundaries, escape and surrogate pairs, and the body limit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_SMS_CHARS,
    Encoding,
    Segments,
    check_body,
    fits,
    segments,
)

GSM7_CHARS = sorted(GSM7_BASIC | GSM7_EXTENSION)
gsm7_text = st.text(alphabet=GSM7_CHARS, max_size=400)
non_gsm7_char = st.characters(codec="utf-8").filter(
    lambda c: c not in GSM7_BASIC and c not in GSM7_EXTENSION
)
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)


@pytest.mark.parametrize(
    ("length", "count"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (1530, 10)]
)
def test_gsm7_boundaries(length: int, count: int):
    assert segments("a" * length) == Segments(Encoding.GSM7, length, count)


@pytest.mark.parametrize(("length", "count"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_boundaries(length: int, count: int):
    # ł is Polish and not in GSM 03.38; é would be (it is in the basic table).
    assert segments("ł" * length) == Segments(Encoding.UCS2, length, count)


def test_the_whole_basic_table_is_gsm7():
    table = (
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    assert len(table) == 127  # 128 codes minus the escape
    assert segments(table) == Segments(Encoding.GSM7, 127, 1)


@pytest.mark.parametrize("char", ["ç", "ë", "á", "“", "\u2019", "—", "\t", "ł", "😀"])
def test_lookalikes_outside_the_table_need_ucs2(char: str):
    # Smart quotes and em dashes from word processors are the usual surprise.
    assert segments(f"Your order ships today{char}").encoding is Encoding.UCS2


def test_extension_characters_cost_two_septets():
    assert segments("€") == Segments(Encoding.GSM7, 2, 1)
    assert segments("^{}\\[~]|€\f").units == 20
    assert segments("a" * 158 + "€").count == 1
    assert segments("a" * 159 + "€").count == 2


def test_an_escape_pair_is_never_split_across_segments():
    # 306 septets would fit in 2 x 153, but the euro sign cannot straddle the boundary:
    # segment 1 carries 152, segment 2 carries € + 151, segment 3 carries the last a.
    text = "a" * 152 + "€" + "a" * 152
    assert segments(text) == Segments(Encoding.GSM7, 306, 3)
    assert segments("a" * 152 + "€" + "a" * 151).count == 2


def test_an_emoji_is_two_utf16_units_and_never_split():
    assert segments("😀") == Segments(Encoding.UCS2, 2, 1)
    assert segments("😀" * 35).count == 1
    assert segments("😀" * 36).count == 2
    text = "ł" * 66 + "😀" + "ł" * 66
    assert segments(text) == Segments(Encoding.UCS2, 134, 3)
    assert segments("ł" * 66 + "😀" + "ł" * 65).count == 2


def test_per_segment_depends_on_single_or_concatenated():
    assert segments("a").per_segment == 160
    assert segments("a" * 161).per_segment == 153
    assert segments("ł").per_segment == 70
    assert segments("ł" * 71).per_segment == 67


def test_empty_text_is_no_segments():
    assert segments("") == Segments(Encoding.GSM7, 0, 0)
    assert fits("", 0)


def test_fits_a_budget():
    assert fits("a" * 160, 1)
    assert not fits("a" * 161, 1)
    assert fits("a" * 161, 2)
    assert not fits("ł" * 71, 1)


def test_check_body_refuses_what_the_provider_would():
    check_body("x")
    check_body("a" * MAX_SMS_CHARS)
    with pytest.raises(ValueError, match="empty"):
        check_body("")
    with pytest.raises(ValueError, match="empty"):
        check_body(" \n\t")
    with pytest.raises(ValueError, match="1601 characters"):
        check_body("a" * 1601)
    with pytest.raises(ValueError, match="1600"):
        check_body("😀" * 801)  # 801 characters, 1602 UTF-16 code units


@given(any_text, st.characters(codec="utf-8"))
def test_appending_a_character_never_lowers_the_count(text: str, char: str):
    assert segments(text + char).count >= segments(text).count


@given(gsm7_text)
def test_gsm7_text_is_never_ucs2(text: str):
    result = segments(text)
    assert result.encoding is Encoding.GSM7
    assert result.units >= len(text)
    assert result.units == len(text) + sum(c in GSM7_EXTENSION for c in text)


@given(gsm7_text, non_gsm7_char, gsm7_text)
def test_any_character_outside_gsm7_switches_to_ucs2(before: str, char: str, after: str):
    assert segments(before + char + after).encoding is Encoding.UCS2


@given(any_text)
def test_segments_hold_all_units_and_no_segment_is_wasted(text: str):
    result = segments(text)
    assert result.count * result.per_segment >= result.units
    # At most one unit per segment is lost to an unsplit pair.
    assert (result.count - 1) * (result.per_segment - 1) < max(result.units, 1)
