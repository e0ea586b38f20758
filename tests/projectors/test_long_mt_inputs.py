"""Long inputs through the MT projectors, with the real known-answer model (300 positions):
markers.v1 translates a 1,000-word marked source in parts cut at sentence boundaries and finds
every span in the joined output; constrained.v1 searches a pair past the model's positions in
parts (cut at sentence ends, or anywhere outside a span when there is no punctuation) and finds
every span exactly; a span that alone is past the positions is dropped with that reason."""

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


def _long(n: int, seed: int, punct: bool = True, spread: int = 0) -> tuple[str, list[tuple[int, int, str]]]:
    """About ``n`` words of random sentences, a two-word span in each; with ``spread``, no word
    comes back within ``spread`` words (constrained.v1's candidates come from log-prob drops, and
    the word-by-word model has none where a word repeats one position on)."""
    rng = random.Random(seed)
    words, spans = [], []
    while len(words) < n:
        k = rng.randint(8, 16)
        sent: list[str] = []
        for _ in range(k):
            recent = set((words + sent)[-spread:]) if spread else set()
            sent.append(rng.choice([w for w in WORDS if w not in recent]))
        a = rng.randrange(0, k - 2)
        spans.append((len(words) + a, len(words) + a + 2, rng.choice(["PER", "LOC"])))
        words += sent + (["."] if punct else [])
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


def _projected(p, tgt: str) -> list[str]:
    toks = tgt.split()
    return [" ".join(toks[s.token_start:s.token_end]) for s in sorted(p.spans, key=lambda s: s.source)]


SHORT = "John Smith lives in Paris ."


@pytest.mark.parametrize(("n", "punct"), [(400, True), (1000, True), (400, False), (1000, False)])
def test_constrained_projects_a_long_pair_in_parts(ka, n, punct):
    src, spans = _long(n, 2 + n, punct, spread=4)
    assert ("." in src) == punct
    tgt = translate_words(src)
    assert len(ka.sp_src.encode(src)) > ka.positions  # could not be scored whole
    short = Pair(SHORT.split(), translate_words(SHORT).split(), [(0, 2, "PER"), (4, 5, "LOC")], SHORT,
                 translate_words(SHORT))
    proj = get("constrained.v1", scorer=ka)
    long_p, short_p = proj.project([Pair(src.split(), tgt.split(), spans, src, tgt), short])
    assert [s.outcome for s in long_p.spans] == ["projected"] * len(spans)
    words = src.split()
    assert _projected(long_p, tgt) == [translate_words(" ".join(words[s:e])) for s, e, _ in spans]
    assert all(0 < s.score <= 1 for s in long_p.spans)
    # a pair that fits is searched whole, as alone: the long one beside it changes nothing
    (alone,) = get("constrained.v1", scorer=ka).project([short])
    assert short_p == alone and _projected(short_p, short.tgt_text) == ["Johann Schmidt", "Paris"]


def test_constrained_long_pair_without_texts_or_with_offsets(ka):
    """Sub-texts come from the pair's own texts and offsets (spacing kept) or from the tokens."""
    src, spans = _long(500, 9, spread=4)
    tgt = translate_words(src)
    spaced = tgt.replace(" ", "  ")  # offsets into a text spaced unlike the tokens
    offs, pos = [], 0
    for t in tgt.split():
        i = spaced.index(t, pos)
        offs.append((i, i + len(t)))
        pos = i + len(t)
    pairs = [Pair(src.split(), tgt.split(), spans), Pair(src.split(), tgt.split(), spans, src, spaced, None, offs)]
    words = src.split()
    want = [translate_words(" ".join(words[s:e])) for s, e, _ in spans]
    for p in get("constrained.v1", scorer=ka).project(pairs):
        assert [s.outcome for s in p.spans] == ["projected"] * len(spans)
        assert _projected(p, tgt) == want


def test_constrained_drops_a_span_past_the_positions_with_the_reason(ka):
    src, spans = _long(400, 3, spread=4)
    words = src.split()
    spans = [(0, 350, "ORG"), *[s for s in spans if s[0] >= 350]]  # one span alone past 300 positions
    tgt = translate_words(src)
    (p,) = get("constrained.v1", scorer=ka).project([Pair(words, tgt.split(), spans, src, tgt)])
    first, *rest = sorted(p.spans, key=lambda s: s.source)
    assert first.outcome == "dropped" and f"longer than the model's {ka.positions} positions" in first.reason
    assert rest and [s.outcome for s in rest] == ["projected"] * len(rest)  # the rest of the pair is projected
    assert _projected(p, tgt)[1:] == [translate_words(" ".join(words[s:e])) for s, e, _ in spans[1:]]
