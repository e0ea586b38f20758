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


def _long(n: int, seed: int, punct: bool = True) -> tuple[str, list[tuple[int, int, str]]]:
    """About ``n`` words of random sentences (words repeat: "the the"), a two-word span in each."""
    rng = random.Random(seed)
    words, spans = [], []
    while len(words) < n:
        k = rng.randint(8, 16)
        sent = [rng.choice(WORDS) for _ in range(k)]
        a = rng.randrange(0, k - 2)
        spans.append((len(words) + a, len(words) + a + 2, rng.choice(["PER", "LOC"])))
        words += sent + (["."] if punct else [])
    return " ".join(words), spans


def _projected(p, tgt: str | list[str]) -> list[str]:
    """The target text of each span's projection, in source order (``tgt``: text or tokens)."""
    toks = tgt.split() if isinstance(tgt, str) else tgt
    return [" ".join(toks[s.token_start:s.token_end]) for s in sorted(p.spans, key=lambda s: s.source)]


def _assert_exact(p, src: str, spans, answer, tgt: str | list[str]) -> None:
    """Every span projected onto ``answer`` (the model's known translation) of its words."""
    words = src.split()
    assert [s.outcome for s in p.spans] == ["projected"] * len(spans)
    assert _projected(p, tgt) == [answer(" ".join(words[s:e])) for s, e, _ in spans]


def test_markers_project_a_1000_word_input(ka):
    src, spans = _long(1000, 1)
    assert len(ka.sp_src.encode(src)) > 3 * ka.positions  # far past the position table
    (p,) = get("markers.v1", translator=ka).project([Pair(src.split(), [], spans, src)])
    assert p.tgt_text == translate_words(src)  # whole: every part translated, joined in order
    _assert_exact(p, src, spans, translate_words, p.tgt_tokens)


SHORT = "John Smith lives in Paris ."


@pytest.mark.parametrize(("n", "punct"), [(400, True), (1000, True), (400, False), (1000, False)])
def test_constrained_projects_a_long_pair_in_parts(ka, n, punct):
    src, spans = _long(n, 2 + n, punct)
    assert ("." in src) == punct
    tgt = translate_words(src)
    assert len(ka.sp_src.encode(src)) > ka.positions  # could not be scored whole
    short = Pair(SHORT.split(), translate_words(SHORT).split(), [(0, 2, "PER"), (4, 5, "LOC")], SHORT,
                 translate_words(SHORT))
    proj = get("constrained.v1", scorer=ka)
    long_p, short_p = proj.project([Pair(src.split(), tgt.split(), spans, src, tgt), short])
    _assert_exact(long_p, src, spans, translate_words, tgt)
    assert all(0 < s.score <= 1 for s in long_p.spans)
    # a pair that fits is searched whole, as alone: the long one beside it changes nothing
    (alone,) = get("constrained.v1", scorer=ka).project([short])
    assert short_p == alone and _projected(short_p, short.tgt_text) == ["Johann Schmidt", "Paris"]


@pytest.mark.parametrize("probes", [2, 0])
def test_constrained_finds_a_span_of_repeated_words(ka, probes):
    """ "the the the": the marked source shifts this model's output by a piece, and where a word
    repeats, the shifted piece is right: the drops show the open marker but not the close one,
    and the end is found by probing from the start (end_probes; 0 is the old candidate rule,
    which misses it)."""
    src = "Mary visited the old the the the city today ."
    tgt = translate_words(src)
    pair = Pair(src.split(), tgt.split(), [(4, 6, "LOC")], src, tgt)
    (p,) = get("constrained.v1", scorer=ka, end_probes=probes).project([pair])
    got = tgt.split()[p.spans[0].token_start:p.spans[0].token_end], p.spans[0].token_start
    if probes:
        assert got == (["die", "die"], 4)
    else:
        assert got != (["die", "die"], 4)


def test_constrained_long_pair_without_texts_or_with_offsets(ka):
    """Sub-texts come from the pair's own texts and offsets (spacing kept) or from the tokens."""
    src, spans = _long(500, 9)
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
    src, spans = _long(400, 3)
    words = src.split()
    spans = [(0, 350, "ORG"), *[s for s in spans if s[0] >= 350]]  # one span alone past 300 positions
    tgt = translate_words(src)
    (p,) = get("constrained.v1", scorer=ka).project([Pair(words, tgt.split(), spans, src, tgt)])
    first, *rest = sorted(p.spans, key=lambda s: s.source)
    assert first.outcome == "dropped" and f"longer than the model's {ka.positions} positions" in first.reason
    assert rest and [s.outcome for s in rest] == ["projected"] * len(rest)  # the rest of the pair is projected
    assert _projected(p, tgt)[1:] == [translate_words(" ".join(words[s:e])) for s, e, _ in spans[1:]]


# -- the one-to-three model: the output outgrows the input ---------------------------------------

@pytest.fixture(scope="module")
def three(tmp_path_factory):
    from tests.fixtures.mt_expanding import expanding_known_answer

    return expanding_known_answer(tmp_path_factory)


def _words_spans(n: int, seed: int, punctuation: bool = True) -> tuple[str, list[tuple[int, int, str]]]:
    if punctuation:
        return _long(n, seed)
    rng = random.Random(seed)
    words = [rng.choice(WORDS) for _ in range(n)]
    spans = [(i, i + 2, rng.choice(["PER", "LOC"])) for i in range(3, n - 2, 11)]
    return " ".join(words), spans


def test_the_adapter_cuts_again_a_part_that_reaches_its_limit(three):
    from tests.fixtures.mt_expanding import expand_words

    src, _ = _words_spans(400, 3, punctuation=False)
    before = three.truncated
    assert three.translate([src]) == [expand_words(src)]  # 1,200 pieces from parts of <= 300
    assert three.truncated == before
    short = "John Smith lives in New York ."
    assert three.translate([short]) == [expand_words(short)]


def test_the_adapter_counts_what_a_cap_cuts(three):
    from tests.fixtures.mt_expanding import expand_words
    from workbench.mt.ct2 import CT2Model

    capped = CT2Model(three.model_dir, beam_size=1, intra_threads=1, max_decoding_length=15)
    text = "John Smith lives in New York ."  # 7 pieces in (one part under the cap's 7), 19 out
    (out,) = capped.translate([text])
    assert out == " ".join(expand_words(text).split()[:15])  # cut at the cap: not retried ...
    assert capped.truncated == 1  # ... but counted


@pytest.mark.parametrize("n,punctuation", [
    (400, True), (400, False),
    pytest.param(1000, True, marks=pytest.mark.slow), pytest.param(1000, False, marks=pytest.mark.slow)])
def test_markers_project_a_long_input_with_the_one_to_three_model(three, n, punctuation):
    from tests.fixtures.mt_expanding import expand_words

    src, spans = _words_spans(n, n + punctuation, punctuation)
    # past the positions in: split; three times as long out: each part cut again
    assert len(three.sp_src.encode(src)) > three.positions
    (p,) = get("markers.v1", translator=three).project([Pair(src.split(), [], spans, src)])
    assert p.tgt_text == expand_words(src)  # whole: every part translated, joined in order
    _assert_exact(p, src, spans, expand_words, p.tgt_tokens)


SHORT3 = ("Mary works for Acme in Paris , and John Smith visited the Bank of England today .",
          [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC"), (8, 10, "PER"), (12, 15, "ORG")])


@pytest.mark.parametrize("n", [0, 400])  # a short pair, and one past the positions (in parts)
def test_constrained_projects_with_the_one_to_three_model(three, n):
    from tests.fixtures.mt_expanding import expand_words

    src, spans = _long(n, 5) if n else SHORT3
    tgt = expand_words(src)
    # after a marker every later piece of this model is equally wrong (flat log-prob drops): the
    # candidates from the onsets of the drops and the end probes still find both ends
    proj = get("constrained.v1", scorer=three)
    (p,) = proj.project([Pair(src.split(), tgt.split(), spans, src, tgt)])
    _assert_exact(p, src, spans, expand_words, tgt)
