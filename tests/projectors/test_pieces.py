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


def _check_plan(plan, src, tgt):
    """Pieces in order, non-empty, covering both sides."""
    assert plan[0][0] == 0 and plan[0][2] == 0 and plan[-1][1] == len(src) and plan[-1][3] == len(tgt)
    for (s0, s1, t0, t1), nxt in zip(plan, plan[1:] + [None], strict=True):
        assert s0 < s1 and t0 < t1
        if nxt:
            assert nxt[0] == s1 and nxt[2] == t1


@pytest.mark.parametrize("punct", [True, False])
def test_kept_spans_are_never_cut_and_every_piece_fits(punct):
    src = paragraph(60, "Anna met Bob in Berlin".split())  # 360 tokens
    if not punct:
        src = [t for t in src if t != "."]
    tgt = [t.upper() for t in src]
    for k in range(len(tgt) - 2, 0, -9):  # the target is longer, unevenly (sentences kept)
        if tgt[k] != ".":
            tgt.insert(k, "x")
    step = 6 if punct else 5  # a 3-token span in every sentence, or every fifth token on
    keep = [(k + 1, k + 4) for k in range(0, len(src) - 4, step)]
    # a budget in "model pieces": a token costs 1 piece, an upper-case one 2 (a token count misleads)
    cost_s = [1] * len(src)
    cost_t = [2 if t.isupper() else 1 for t in tgt]
    calls = []

    def fits(s0, s1, t0, t1):
        calls.append((s0, s1, t0, t1))
        return sum(cost_s[s0:s1]) <= 60 and sum(cost_t[t0:t1]) <= 60

    plan = cut_pair(src, tgt, 60, keep=keep, fits=fits)
    _check_plan(plan, src, tgt)
    assert len(plan) > 2 and all(fits(*p) for p in plan)
    assert any(not fits(*c) for c in calls)  # some first guess did not fit and was cut again
    cuts = {p[1] for p in plan[:-1]}
    assert not any(s < c < e for s, e in keep for c in cuts)
    if punct:
        assert all(src[c - 1] == "." for c in cuts)  # sentence ends where they are allowed
        # the target is cut at the same sentence ends as the source
        assert [src[:p[1]].count(".") for p in plan] == [tgt[:p[3]].count(".") for p in plan]
        assert all(tgt[p[3] - 1] == "." for p in plan)


def test_a_span_longer_than_the_budget_stays_whole_in_one_piece():
    src = paragraph(30, "Anna met Bob in Berlin".split())  # 180 tokens
    tgt = list(src)
    keep = [(10, 100), (120, 122)]
    plan = cut_pair(src, tgt, 40, keep=keep, fits=lambda s0, s1, t0, t1: s1 - s0 <= 40 and t1 - t0 <= 40)
    _check_plan(plan, src, tgt)
    cuts = {p[1] for p in plan[:-1]}
    assert not any(s < c < e for s, e in keep for c in cuts)
    too_big = [p for p in plan if p[1] - p[0] > 40]
    assert len(too_big) == 1 and too_big[0][0] <= 10 and too_big[0][1] >= 100  # only the span's piece
    assert len(plan) >= 4  # the rest is cut to fit


def test_a_pair_with_no_allowed_cut_is_one_piece():
    src, tgt = ["a"] * 50, ["b"] * 50
    assert cut_pair(src, tgt, 10, keep=[(0, 50)], fits=lambda *p: False) == [(0, 50, 0, 50)]


def test_sub_pair_texts_and_offsets_are_relative_to_the_piece():
    from projectors.base import Pair
    from projectors.pieces import sub_pair

    p = Pair("a b c d".split(), "w x y z".split(), [(0, 1, "X"), (1, 3, "Y"), (3, 4, "Z")],
             "a  b c d", "w x  y z", [(0, 1), (3, 4), (5, 6), (7, 8)], [(0, 1), (2, 3), (5, 6), (7, 8)])
    sub, ids = sub_pair(p, (1, 3, 2, 4))
    assert ids == [1] and sub.spans == [(0, 2, "Y")]
    assert (sub.src_text, sub.src_offsets) == ("b c", [(0, 1), (2, 3)])
    assert (sub.tgt_text, sub.tgt_offsets) == ("y z", [(0, 1), (2, 3)])
    sub, ids = sub_pair(Pair(p.src_tokens, p.tgt_tokens, p.spans), (3, 4, 0, 2))  # no texts: tokens joined
    assert ids == [2] and (sub.src_text, sub.tgt_text, sub.tgt_offsets) == ("d", "w x", [(0, 1), (2, 3)])
