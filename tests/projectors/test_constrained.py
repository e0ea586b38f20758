"""constrained.v1: the exact search equals brute force; fewer sequences; known-answer model."""

from __future__ import annotations

import random
import statistics

import pytest

from projectors import get
from projectors.base import Pair
from projectors.constrained import BranchAndBound, brute_force, marked_sequence
from projectors.markers import MarkerSet
from projectors.mtbase import VocabularyError
from tests.fixtures.mt import known_answer, translate_words

OPEN, CLOSE = ["▁", "["], ["▁", "]"]


@pytest.fixture(scope="module")
def ka(tmp_path_factory):
    return known_answer(tmp_path_factory)


def _synthetic(rng: random.Random, m: int, planted: bool):
    """A causal random 'model' over a clean target of m pieces.

    planted: it prefers markers around a hidden span (a, b) (log-prob ~ -U(0, .3) for the
    expected piece, -U(3, 10) otherwise, recovering after a miss, like a real MT model);
    otherwise every log-prob is random in [-8, 0] (no structure at all).
    """
    a = rng.randrange(0, m)
    b = rng.randrange(a + 1, min(m, a + 4) + 1)
    clean = [f"w{i}" for i in range(m)]
    seed = rng.random()

    def lp(seq, marked=True):
        out, k, o, c = [], 0, 0, 0
        h = hash((seed, marked))
        for s in seq:
            h = hash((h, s))  # rolling hash of the prefix: a causal, deterministic 'model'
            r = (h % 1_000_003) / 1_000_003
            if not planted:
                out.append(-8 * r)
                continue
            if marked and k == a and o < 2:
                want = OPEN[o]
            elif marked and k == b and c < 2:
                want = CLOSE[c]
            else:
                want = clean[k] if k < m else "</s>"
            out.append(-0.3 * r if s == want else -(3 + 7 * r))
            if s == "[" or (s == "▁" and o < 2 and k == a):
                o += 1
            elif s == "]" or (s == "▁" and k == b):
                c += 1
            elif s != "</s>":
                k += 1
                o = 2 if k > a else o
                c = 2 if k > b else c
        return out

    return clean, lp, (a, b)


def _case(rng, planted, k_cands=12):
    m = rng.randrange(10, 31)  # typical sentence: 10-30 pieces
    clean, lp, gold = _synthetic(rng, m, planted)
    full = lp(clean + ["</s>"])
    plain = lp(clean + ["</s>"], marked=False)
    drop = {i: full[i] - plain[i] for i in range(m + 1)}
    ranked = sorted(range(m + 1), key=lambda i: (drop[i], i))
    cands = sorted(ranked[:k_cands])
    starts, ends = [c for c in cands if c < m], [c for c in cands if c > 0]
    prefix0 = [0.0]
    for x in full[:-1]:
        prefix0.append(prefix0[-1] + x)
    calls = []

    def fn(pairs):
        calls.append(len(pairs))
        return [lp(marked_sequence(clean, a, b, OPEN, CLOSE) + ["</s>"]) for a, b in pairs]

    first = [(x, y) for x in ranked[:2] for y in ranked[:2] if x < y]
    return starts, ends, prefix0, fn, first, gold, calls


def test_search_equals_brute_force_on_1000_random_cases():
    rng = random.Random(1234)
    ratios, found = [], 0
    for t in range(1000):
        planted = t % 4 != 0  # a quarter without any structure
        starts, ends, prefix0, fn, first, gold, calls = _case(rng, planted)
        bf = brute_force(starts, ends, fn)
        n_brute = sum(calls)
        calls.clear()
        bb = BranchAndBound(starts, ends, prefix0, len(OPEN), batch_size=4, first=first).run(fn)
        assert bb.brute == n_brute
        assert bb.scored == sum(calls) <= n_brute
        assert bb.top[0][1] == bf[1], f"case {t}: search {bb.top[0]} != brute force {bf}"
        assert bb.top[0][0] == pytest.approx(bf[0], abs=1e-12)
        if planted:
            ratios.append(bb.scored / n_brute)
            found += bf[1] == gold
    # typical spans (1-4 pieces in 10-30, 12 candidates): at most a quarter of brute force
    assert statistics.mean(ratios) <= 0.25, statistics.mean(ratios)
    assert found >= 0.95 * len(ratios)


def test_top_n_equals_brute_force_ranking():
    rng = random.Random(7)
    for _ in range(200):
        starts, ends, prefix0, fn, first, _, _ = _case(rng, planted=rng.random() < 0.5, k_cands=8)
        pairs = [(a, b) for a in starts for b in ends if a < b]
        scores = sorted(((sum(x), p) for x, p in zip(fn(pairs), pairs, strict=False)), key=lambda t: (-t[0], t[1]))
        bb = BranchAndBound(starts, ends, prefix0, len(OPEN), batch_size=3, top_n=3, first=first).run(fn)
        assert [p for _, p in bb.top] == [p for _, p in scores[:3]]


# -- known-answer model (real CTranslate2 score_batch) ----------------------------------------
CASES = [
    ("John Smith lives in New York .", [(0, 2, "PER"), (4, 6, "LOC")]),
    ("the old city of London is big .", [(4, 5, "LOC")]),
    ("Mary works for Acme in Paris , and John visited Berlin today .",
     [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC"), (8, 9, "PER"), (10, 11, "LOC")]),
    ("the Bank of England met Mary .", [(1, 4, "ORG"), (5, 6, "PER")]),
    ("the red house is big .", [(0, 3, "MISC")]),
]


@pytest.mark.parametrize("exhaustive", [False, True])
def test_known_answer_constrained(ka, exhaustive):
    pairs = []
    for src, spans in CASES:
        tgt = ka.translate([src])[0]
        assert tgt == translate_words(src)
        pairs.append(Pair(src.split(), tgt.split(), spans, src, tgt))
    proj = get("constrained.v1", scorer=ka, exhaustive=exhaustive)
    out = proj.project(pairs)
    for (src, spans), p, pr in zip(CASES, pairs, out, strict=False):
        assert pr.tgt_text is None  # the given translation stands
        got = [" ".join(p.tgt_tokens[s.token_start:s.token_end]) for s in sorted(pr.spans, key=lambda s: s.source)]
        want = [translate_words(" ".join(src.split()[s:e])) for s, e, _ in spans]
        assert [s.outcome for s in pr.spans] == ["projected"] * len(spans)
        assert got == want
        assert all(0.9 < s.score <= 1.0 for s in pr.spans)
    st = proj.stats
    assert st["spans"] == sum(len(s) for _, s in CASES)
    assert st["scored"] < st["brute"]
    if exhaustive:  # all boundaries are candidates: brute force would score many more
        assert st["scored"] * 4 <= st["brute"], st


def test_known_answer_source_with_brackets(ka):
    src = "the [ old ] city of London is big ."
    tgt = translate_words(src)
    pair = Pair(src.split(), tgt.split(), [(6, 7, "LOC")], src, tgt)
    pr = get("constrained.v1", scorer=ka).project([pair])[0]
    s = pr.spans[0]
    assert s.outcome == "projected" and pair.tgt_tokens[s.token_start:s.token_end] == ["London"]
    pr = get("markers.v1", translator=ka).project([pair])[0]
    s = pr.spans[0]
    assert pr.tgt_text == tgt  # the literal brackets survive, "{ }" were the markers
    assert s.outcome == "projected" and pr.tgt_tokens[s.token_start:s.token_end] == ["London"]


def test_known_answer_vocabulary(ka):
    with pytest.raises(VocabularyError, match="not in the model's vocabulary"):
        get("constrained.v1", scorer=ka, markers=[MarkerSet("⟦", "⟧")])
    with pytest.raises(VocabularyError, match="typed markers"):
        get("constrained.v1", scorer=ka, typed=True).project(
            [Pair(["John"], ["Johann"], [(0, 1, "DATE")], "John", "Johann")])


def test_known_answer_rerank_keeps_exact_best(ka):
    from projectors.constrained import reverse_reranker

    src, spans = CASES[0]
    tgt = translate_words(src)
    pair = Pair(src.split(), tgt.split(), spans, src, tgt)
    # the forward model as a (crude) reverse scorer: the re-ranked choice must still be a top-n pair
    proj = get("constrained.v1", scorer=ka, top_n=3,
               reranker=reverse_reranker(ka), rerank_weight=0.0)
    pr = proj.project([pair])[0]
    got = [" ".join(tgt.split()[s.token_start:s.token_end]) for s in pr.spans]
    assert got == ["Johann Schmidt", "Neu York"]


def test_empty_or_unscorable_target_drops_with_reason(ka):
    pairs = [Pair(["John"], [], [(0, 1, "PER")], "John", ""),
             Pair("John lives".split(), "Johann wohnt".split(), [], "John lives", "Johann wohnt")]
    out = get("constrained.v1", scorer=ka).project(pairs)
    assert out[0].spans[0].outcome == "dropped" and "boundary" in out[0].spans[0].reason
    assert out[1].spans == []
