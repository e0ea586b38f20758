"""Splitting over-long inputs: every piece fits, nothing but whitespace at cuts is dropped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.segment import split_ranges


def _words(limit):
    return lambda s: len(s.split()) <= limit


def test_cuts_prefer_sentence_then_clause_then_word_boundaries():
    t = "One two three. Four five six seven! Eight, nine ten eleven; twelve thirteen fourteen fifteen."
    parts = [t[a:b] for a, b in split_ranges(t, _words(3))]
    assert parts[0] == "One two three."
    assert "Eight," in parts and "nine ten eleven;" in parts
    assert all(len(p.split()) <= 3 for p in parts)


def test_text_that_fits_is_one_piece_and_unspaced_text_is_cut_between_characters():
    assert split_ranges("Short one.", _words(5)) == [(0, 10)]
    t = "無空白的長句子沒有任何邊界"
    parts = [t[a:b] for a, b in split_ranges(t, lambda s: len(s) <= 4)]
    assert "".join(parts) == t and all(len(p) <= 4 for p in parts)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["word", "longer", "x", ".", "!", ",", ";", "  ", " ", "\n", "abc."]),
                min_size=1, max_size=80), st.integers(min_value=3, max_value=30))
def test_pieces_fit_and_cover_the_text(tokens, limit):
    text = "".join(tokens)
    ranges = split_ranges(text, lambda s: len(s) <= limit)
    assert all(0 <= a < b <= len(text) or a == b == 0 for a, b in ranges)
    assert all(b - a <= limit for a, b in ranges)
    assert all(ranges[i][1] <= ranges[i + 1][0] for i in range(len(ranges) - 1))
    covered = "".join(text[a:b] for a, b in ranges)
    assert covered.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
