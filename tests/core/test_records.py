"""Records and tag schemes: spans <-> tags in IOB1/IOB2/BIOES, repair and strict rejection,
tokenisation and the character-cut check."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.records import (
    SCHEMES,
    Example,
    RepairWarning,
    Span,
    cuts_character,
    spans_to_tags,
    tags_to_spans,
    tokenize,
)

LABELS = ["PER", "ORG", "LOC", "MISC"]


@st.composite
def token_spans(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, str]]]:
    """A token count and non-overlapping spans over it (adjacent same-label spans included)."""
    n = draw(st.integers(0, 25))
    spans, pos = [], 0
    while pos < n:
        gap = draw(st.integers(0, 3))
        start = pos + gap
        if start >= n:
            break
        length = draw(st.integers(1, min(4, n - start)))
        spans.append((start, start + length, draw(st.sampled_from(LABELS))))
        pos = start + length
    return n, spans


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=300, deadline=None)
@given(data=token_spans())
def test_spans_tags_round_trip(scheme: str, data: tuple[int, list[tuple[int, int, str]]]) -> None:
    n, spans = data
    tags = spans_to_tags(spans, n, scheme)
    assert len(tags) == n
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)  # well-formed tags need no repair
        assert tags_to_spans(tags, scheme, strict=True) == spans


def test_scheme_examples() -> None:
    spans = [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
    assert spans_to_tags(spans, 5, "iob2") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert spans_to_tags(spans, 5, "iob1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert spans_to_tags(spans, 5, "bioes") == ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
    # BILOU spellings are read as BIOES
    assert tags_to_spans(["B-PER", "L-PER", "U-LOC"], "bioes") == [(0, 2, "PER"), (2, 3, "LOC")]


@pytest.mark.parametrize(
    ("tags", "scheme", "expected"),
    [
        (["O", "I-PER", "I-PER"], "iob2", [(1, 3, "PER")]),
        (["B-PER", "I-LOC"], "iob2", [(0, 1, "PER"), (1, 2, "LOC")]),
        (["I-PER", "E-PER"], "bioes", [(0, 2, "PER")]),
        (["B-PER", "I-PER", "O"], "bioes", [(0, 2, "PER")]),
        (["B-PER", "I-PER"], "bioes", [(0, 2, "PER")]),
    ],
)
def test_ill_formed_tags_are_repaired_with_a_warning(tags, scheme, expected) -> None:
    with pytest.warns(RepairWarning, match="file.conll:3"):
        assert tags_to_spans(tags, scheme, where="file.conll:3") == expected


@pytest.mark.parametrize(
    ("tags", "scheme"),
    [(["O", "I-PER"], "iob2"), (["B-PER", "I-LOC"], "iob2"), (["B-PER", "O"], "bioes"),
     (["I-PER", "E-PER"], "bioes")],
)
def test_ill_formed_tags_are_rejected_under_strict(tags, scheme) -> None:
    with pytest.raises(InputError, match=r"x\.conll:7.*tag \d") as info:
        tags_to_spans(tags, scheme, strict=True, where="x.conll:7")
    assert "strict" in str(info.value)


def test_iob1_i_after_o_is_well_formed() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        assert tags_to_spans(["O", "I-PER", "I-PER", "B-PER"], "iob1") == [(1, 3, "PER"), (3, 4, "PER")]


@pytest.mark.parametrize("bad", ["PER", "X-PER", "B-", "b-PER", ""])
def test_malformed_tag_is_an_input_error(bad: str) -> None:
    with pytest.raises(InputError, match="is not O or PREFIX-LABEL"):
        tags_to_spans(["O", bad], "iob2", where="f:1")


def test_unknown_scheme() -> None:
    with pytest.raises(InputError, match="unknown tag scheme 'bilou2'"):
        tags_to_spans(["O"], "bilou2")
    with pytest.raises(InputError, match="unknown tag scheme"):
        spans_to_tags([], 1, "io")
    with pytest.raises(InputError, match="unknown tag scheme"):
        Example.from_tokens("a", ["x"], ["O"], scheme="nope")


def test_from_tokens_locates_tokens_in_text() -> None:
    ex = Example.from_tokens("s1", ["Hello", ",", "Ada", "Lovelace", "!"],
                             ["O", "O", "B-PER", "I-PER", "O"], text="Hello, Ada  Lovelace!")
    assert ex.text == "Hello, Ada  Lovelace!"
    assert ex.tokens == ["Hello", ",", "Ada", "Lovelace", "!"]
    assert [(s.start, s.end, s.label, s.token_start, s.token_end) for s in ex.spans] == [
        (7, 20, "PER", 2, 4)]
    assert ex.text[ex.spans[0].start:ex.spans[0].end] == "Ada  Lovelace"
    ex.validate()


def test_from_tokens_falls_back_to_joined_tokens() -> None:
    ex = Example.from_tokens("s1", ["New", "York"], ["B-LOC", "I-LOC"], text="something else")
    assert ex.text == "New York"
    assert ex.tags("bioes") == ["B-LOC", "E-LOC"]


def test_from_tokens_tag_count_mismatch() -> None:
    with pytest.raises(InputError, match=r"f\.conll:4: 1 tags for 2 tokens"):
        Example.from_tokens("s", ["a", "b"], ["O"], where="f.conll:4")


def test_from_text_splits_tokens_at_span_boundaries() -> None:
    ex = Example.from_text("d1", "Visit Berlin-Mitte today", [(6, 12, "LOC")])
    sp = ex.spans[0]
    assert ex.text[sp.start:sp.end] == "Berlin"
    assert ex.tokens[sp.token_start:sp.token_end] == ["Berlin"]
    ex.validate()


def test_from_text_trims_whitespace_and_rejects_bad_spans() -> None:
    ex = Example.from_text("d1", "Ada Lovelace  wrote", [(0, 13, "PER")])
    assert (ex.spans[0].start, ex.spans[0].end) == (0, 12)
    with pytest.raises(InputError, match="overlaps"):
        Example.from_text("d2", "New York City", [(0, 8, "LOC"), (4, 13, "LOC")])
    with pytest.raises(InputError, match="out of range"):
        Example.from_text("d3", "short", [(2, 9, "LOC")])
    with pytest.raises(InputError, match="covers no token"):
        Example.from_text("d4", "a   b", [(1, 3, "LOC")])


def test_validate_catches_misaligned_spans() -> None:
    ex = Example("e", "Ada Lovelace", [(0, 3), (4, 12)], [Span(0, 5, "PER", 0, 2)])
    with pytest.raises(InputError, match="example e: span 0-5 'PER' does not match"):
        ex.validate()
    ex = Example("e", "Ada", [(0, 3)], [Span(0, 3, "PER", 0, 2)])
    with pytest.raises(InputError, match="token range"):
        ex.validate()
    with pytest.raises(InputError, match="outside the text"):
        Example("e", "Ada", [(0, 4)]).validate()


def test_tokenize_keeps_combining_marks_and_emoji_sequences() -> None:
    def toks(text: str) -> list[str]:
        return [text[a:b] for a, b in tokenize(text)]

    assert toks("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs are marks, not \\w
    assert toks("cafe\u0301 ok") == ["cafe\u0301", "ok"]
    assert toks("fire 👨\u200d🚒 👍🏽 🇩🇪🇫🇷") == ["fire", "👨\u200d🚒", "👍🏽", "🇩🇪", "🇫🇷"]
    assert toks("東京に行く") == ["東", "京", "に", "行", "く"]
    assert toks("O'Neil's Berlin-based") == ["O'Neil's", "Berlin-based"]
    assert toks("Berlin-based", ) == ["Berlin-based"]
    assert [("Berlin-based")[a:b] for a, b in tokenize("Berlin-based", cuts={6})] == ["Berlin", "-based"]


@pytest.mark.parametrize(
    ("text", "i", "cut"),
    [
        ("e\u0301", 1, True),  # before a combining accent
        ("कि", 1, True),  # before a Devanagari vowel sign
        ("👨\u200d🚒", 1, True),  # before the ZWJ
        ("👨\u200d🚒", 2, True),  # after the ZWJ
        ("👍🏽", 1, True),  # before the skin tone modifier
        ("🇩🇪🇫🇷", 1, True),  # inside a flag
        ("🇩🇪🇫🇷", 2, False),  # between flags
        ("a\r\nb", 2, True),
        ("\ud83d\ude00", 1, True),  # inside a surrogate pair (from a JSON escape)
        ("ab", 1, False),
        ("a😀b", 1, False),
        ("a😀b", 2, False),
        ("ab", 0, False),
        ("ab", 2, False),
    ],
)
def test_cuts_character(text: str, i: int, cut: bool) -> None:
    assert cuts_character(text, i) is cut


def test_unspaced_character_class_equals_the_predicate() -> None:
    """``tokenize`` looks for unspaced scripts with one regex before checking tokens one by one:
    the regex accepts exactly the characters ``_is_unspaced`` does."""
    from workbench.core.records import _UNSPACED_RE, _is_unspaced

    chars = (chr(o) for o in range(0x30000) if not 0xD800 <= o < 0xE000)
    assert [c for c in chars if (_UNSPACED_RE.fullmatch(c) is not None) != _is_unspaced(c)] == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .,'-東京タイ") + ["\u0e01", " "]), max_size=40))
def test_tokenize_mixed_scripts_one_token_per_unspaced_character(text: str) -> None:
    from workbench.core.records import _is_unspaced, tokenize

    toks = tokenize(text)
    assert all(text[a:b].strip() == text[a:b] and a < b for a, b in toks)
    for a, b in toks:
        if any(_is_unspaced(c) for c in text[a:b]):
            assert b - a == 1
    covered = {i for a, b in toks for i in range(a, b)}
    assert all(i in covered for i, c in enumerate(text) if _is_unspaced(c))
