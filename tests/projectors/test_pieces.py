"""Long pairs are aligned in bounded pieces (projectors/pieces.py and align.eflomal.v2)."""

from __future__ import annotations

import pytest

from projectors.pieces import cut_pair


def paragraph(n_sentences: int, words: list[str]) -> list[str]:
    out: list[str] = []
    for k in range(n_sentences):
        out += [f"{w}{k % 7}" for w in words] + ["."]
    return out


def test_short_pairs_stay_whole():
    assert cut_pair("a b c".split(), "x y".split(), 80) == [(0, 3, 0, 2)]
    assert cut_pair(["a"] * 500, ["b"] * 500, 0) == [(0, 500, 0, 500)]
    assert cut_pair([], ["b"] * 500, 80) == [(0, 0, 0, 500)]


def test_pieces_cover_both_sides_and_are_bounded():
    src = paragraph(40, "the council met in Brussels on Monday".split())  # 320 tokens
    tgt = paragraph(40, "der Rat tagte am Montag in Brüssel und".split()) + ["Ende"] * 50  # 410
    plan = cut_pair(src, tgt, 80)
    assert plan[0][0] == 0 and plan[0][2] == 0 and plan[-1][1] == len(src) and plan[-1][3] == len(tgt)
    for (s0, s1, t0, t1), nxt in zip(plan, plan[1:] + [None], strict=True):
        assert 0 < s1 - s0 <= 80 and 0 < t1 - t0 <= 80
        if nxt:
            assert nxt[0] == s1 and nxt[2] == t1
            assert src[s1 - 1] == "."  # source cuts fall at sentence ends


def test_two_400_token_pairs_project_in_pieces():
    pytest.importorskip("eflomal")
    import projectors
    from projectors.base import Pair

    src = paragraph(50, "Anna met Bob in Berlin yesterday".split())[:400]
    tgt = paragraph(50, "Anna traf Bob gestern in Berlin".split())[:400]
    spans = [(k, k + 1, "PER") for k, t in enumerate(src) if t.startswith("Anna")]
    pairs = [Pair(src, tgt, spans), Pair(src, tgt, spans)]
    p = projectors.get("align.eflomal.v2")
    assert p.max_len == 80 and p.signature()["max_len"] == 80
    out = p.project(pairs)
    for pr in out:
        got = [tgt[s.token_start] for s in pr.spans if s.outcome == "projected"]
        assert len(got) >= 0.9 * len(spans) and all(g.startswith("Anna") for g in got)
