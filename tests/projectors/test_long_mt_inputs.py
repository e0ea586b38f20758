"""Long inputs through the MT projectors, with the real known-answer model (300 positions):
markers.v1 translates a 1,000-word marked source in parts cut at sentence boundaries and finds
every span in the joined output; constrained.v1, which scores whole sentences, drops the spans of
a pair past the model's positions with that reason instead of crashing in CTranslate2."""

from __future__ import annotations

import random

import pytest

from projectors import get
from projectors.base import Pair
from tests.fixtures.mt import DICT_EN_DE, known_answer, translate_words

WORDS = [w for w in DICT_EN_DE if w.isalpha()]


@pytest.fixture(scope="module")
def ka(tmp_path_factory):
    return known_answer(tmp_path_factory)


def _long(n: int, seed: int) -> tuple[str, list[tuple[int, int, str]]]:
    rng = random.Random(seed)
    words, spans = [], []
    while len(words) < n:
        k = rng.randint(8, 16)
        sent = [rng.choice(WORDS) for _ in range(k)]
        a = rng.randrange(0, k - 2)
        spans.append((len(words) + a, len(words) + a + 2, rng.choice(["PER", "LOC"])))
        words += sent + ["."]
    return " ".join(words), spans


def test_markers_project_a_1000_word_input(ka):
    src, spans = _long(1000, 1)
    assert len(ka.sp_src.encode(src)) > 3 * ka.positions  # far past the position table
    (p,) = get("markers.v1", translator=ka).project([Pair(src.split(), [], spans, src)])
    assert p.tgt_text == translate_words(src)  # whole: every part translated, joined in order
    words = src.split()
    got = [" ".join(p.tgt_tokens[s.token_start:s.token_end]) for s in sorted(p.spans, key=lambda s: s.source)]
    assert [s.outcome for s in p.spans] == ["projected"] * len(spans)
    assert got == [translate_words(" ".join(words[s:e])) for s, e, _ in spans]


def test_constrained_drops_a_pair_past_the_positions_with_the_reason(ka):
    src, spans = _long(400, 2)
    tgt = translate_words(src)
    short = "John Smith lives in Paris ."
    pairs = [Pair(src.split(), tgt.split(), spans, src, tgt),
             Pair(short.split(), translate_words(short).split(), [(0, 2, "PER")], short, translate_words(short))]
    long_p, short_p = get("constrained.v1", scorer=ka).project(pairs)
    assert {s.outcome for s in long_p.spans} == {"dropped"}
    assert all(f"longer than the model's {ka.positions} positions" in s.reason for s in long_p.spans)
    assert [s.outcome for s in short_p.spans] == ["projected"]  # the rest of the batch is projected
