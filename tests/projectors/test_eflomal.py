"""The eflomal projector (real eflomal) on edge cases: empty, very short/long targets, Unicode, CJK."""

from __future__ import annotations

import pytest

pytest.importorskip("eflomal")

import projectors  # noqa: E402
from projectors.align_projector import align_pairs  # noqa: E402
from projectors.base import Pair  # noqa: E402
from projectors.eflomal_aligner import EflomalAligner  # noqa: E402

FAST = {"n_runs": 2}

BASE = [
    Pair("Anna lives in Berlin .".split(), "Anna wohnt in Berlin .".split(), [(0, 1, "PER"), (3, 4, "LOC")]),
    Pair("Bob lives in Paris .".split(), "Bob wohnt in Paris .".split(), [(0, 1, "PER"), (3, 4, "LOC")]),
    Pair("Anna likes Paris .".split(), "Anna mag Paris .".split(), [(0, 1, "PER"), (2, 3, "LOC")]),
]


def outcomes(proj, pair):
    return [(s.outcome, " ".join(pair.tgt_tokens[s.token_start:s.token_end]) if s.token_start >= 0 else None)
            for s in proj.spans]


def test_edge_cases_in_one_batch():
    p = projectors.get("align.eflomal.v1", **FAST)
    pairs = BASE + [
        Pair("Anna lives in Berlin .".split(), [], [(0, 1, "PER")]),  # empty target
        Pair([], "Anna wohnt hier".split(), []),  # empty source
        Pair("Anna lives in Berlin with Bob and Carl .".split(), ["Anna"], [(0, 1, "PER"), (6, 7, "PER")]),
        Pair(["Berlin"], "Gestern sind wir alle zusammen mit dem Zug sehr lange nach Berlin gefahren .".split(),
             [(0, 1, "LOC")]),
        Pair(["Zoë", "visited", "Kraków", "\u00a0", "🙂"], ["Zoë", "besuchte", "Krakau", "🙂"],
             [(0, 1, "PER"), (2, 3, "LOC")]),
        Pair("I live in Tokyo .".split(), ["我住在東京。"], [(3, 4, "LOC")]),  # one untokenised CJK token
        Pair("I live in Tokyo".split(), list("我住在東京"), [(3, 4, "LOC")]),
    ]
    out = p.project(pairs)
    assert outcomes(out[0], pairs[0]) == [("projected", "Anna"), ("projected", "Berlin")]
    assert out[3].spans[0].outcome == "dropped" and out[3].spans[0].reason == "empty target"
    assert out[4].spans == []
    assert outcomes(out[5], pairs[5])[0] == ("projected", "Anna")
    assert out[5].spans[1].outcome == "dropped"
    assert outcomes(out[6], pairs[6]) == [("projected", "Berlin")]
    assert outcomes(out[7], pairs[7])[0] == ("projected", "Zoë")
    assert outcomes(out[8], pairs[8]) in ([("projected", "我住在東京。")], [("dropped", None)])
    # every target index is in range for every pair
    for pair, pr in zip(pairs, out, strict=True):
        for s in pr.spans:
            if s.outcome == "projected":
                assert 0 <= s.token_start < s.token_end <= len(pair.tgt_tokens)
                assert 0 < s.score <= 1


def test_cjk_tokens_are_aligned_by_character():
    # a whole CJK sentence as one token: links of its characters map back to that token
    links = align_pairs(EflomalAligner(n_runs=1), [Pair(["Tokyo", "Tokyo"], ["東京東京"], [])] * 3)
    assert all(j == 0 for lk in links for (_, j) in lk)


def test_extra_parallel_text_and_signature():
    extra = [("Carl lives in Rome .".split(), "Carl wohnt in Rom .".split())] * 5
    p = projectors.get("align.eflomal.v1", extra=extra, **FAST)
    out = p.project(BASE)
    assert outcomes(out[1], BASE[1]) == [("projected", "Bob"), ("projected", "Paris")]
    assert len(p.last_links) == len(BASE)  # links only for the batch, not the extra text
    sig = p.signature()
    assert sig["projector"] == "align.eflomal.v1" and sig["runs"] == 2 and sig["extra_pairs"] == 5


def test_runs_and_options():
    al = EflomalAligner(n_runs=3, prefix_lens=(0, 3), identity_prior=1.0)
    runs = al.directional_runs([p.src_tokens for p in BASE], [p.tgt_tokens for p in BASE])
    assert len(runs) == 3 and all(len(f) == len(BASE) == len(r) for f, r in runs)
    with pytest.raises(ValueError):
        al.align([["a"]], [["b"], ["c"]])
    assert al.align([], []) == []
    with pytest.raises(ValueError):
        BASE[0].spans.append((3, 9, "X"))
        try:
            projectors.get("align.eflomal.v1", **FAST).project([BASE[0]])
        finally:
            BASE[0].spans.pop()


def test_parallel_streamed_runs_and_v2_defaults():
    al = EflomalAligner(n_runs=2, n_samplers=1, parallel=2)
    src = [p.src_tokens for p in BASE] + [[], ["Anna"]]
    tgt = [p.tgt_tokens for p in BASE] + [["Anna"], []]
    links = al.align(src, tgt)
    assert len(links) == len(src) and links[3] == {} and links[4] == {}
    assert all(0 <= i < len(s) and 0 <= j < len(t) for lk, s, t in zip(links, src, tgt, strict=True)
               for i, j in lk)
    with pytest.raises(ValueError):
        EflomalAligner(parallel=-1)
    p = projectors.get("align.eflomal.v2")
    sig = p.signature()
    assert sig["projector"] == "align.eflomal.v2" and sig["runs"] == 4 and sig["span_translit"] is True
    assert p.last_links == [] and outcomes(p.project(BASE)[0], BASE[0])[0][0] == "projected"
    assert p.last_links == []  # v2 streams: no links kept


def test_votes_counted_from_link_strings_equal_the_parsed_sets():
    # the streamed vote counts link strings before parsing them; the result must be combine_pair's
    import random

    from projectors.eflomal_aligner import _count
    from projectors.word_alignment import combine_counts, combine_pair

    rng = random.Random(3)
    for _ in range(300):
        k = rng.randint(1, 5)
        fwd = [" ".join(f"{rng.randrange(6)}-{rng.randrange(6)}" for _ in range(rng.randint(0, 8))) for _ in range(k)]
        rev = [" ".join(f"{rng.randrange(6)}-{rng.randrange(6)}" for _ in range(rng.randint(0, 8))) for _ in range(k)]
        parsed = [({tuple(map(int, w.split("-"))) for w in f.split()}, {tuple(map(int, w.split("-"))) for w in r.split()})
                  for f, r in zip(fwd, rev, strict=True)]
        for method in ("intersection", "grow-diag-final-and"):
            for thr in (0.25, 0.5, 1.0):
                assert combine_counts(_count(fwd), _count(rev), k, method, thr) == combine_pair(parsed, method, thr)
