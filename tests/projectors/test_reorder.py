"""Known-answer model with a changed word order (ADJ NOUN -> NOUN ADJ): markers and constrained."""

from __future__ import annotations

import pytest

from projectors import get
from projectors.base import Pair
from tests.fixtures.mt import build_reordering_model, reorder_words

CASES = [
    ("John visited the old city .", [(0, 1, "PER"), (3, 5, "LOC")]),
    ("Mary lives in the big house in London .", [(0, 1, "PER"), (3, 6, "LOC"), (7, 8, "LOC")]),
    ("the red house is big .", [(1, 3, "X")]),
]


@pytest.fixture(scope="module")
def ro(tmp_path_factory):
    from workbench.mt.ct2 import CT2Model

    d = build_reordering_model(tmp_path_factory.mktemp("ka-reorder"))
    return CT2Model(d, beam_size=2, max_decoding_length=60, intra_threads=1)


def _spans(toks, proj):
    return [" ".join(toks[s.token_start:s.token_end]) for s in sorted(proj.spans, key=lambda s: s.source)]


def test_model_reorders(ro):
    srcs = [s for s, _ in CASES]
    assert ro.translate(srcs) == [reorder_words(s) for s in srcs]
    assert ro.translate(["the red house"]) == ["la casa roja"]  # order changed


@pytest.mark.parametrize("name", ["markers.v1", "constrained.v1"])
def test_spans_over_reordered_words(ro, name):
    pairs = [Pair(s.split(), reorder_words(s).split(), sp, s, reorder_words(s)) for s, sp in CASES]
    kw = {"translator": ro} if name == "markers.v1" else {"scorer": ro}
    for (src, spans), pair, proj in zip(CASES, pairs, get(name, **kw).project(pairs), strict=True):
        toks = proj.tgt_tokens or pair.tgt_tokens
        want = [reorder_words(" ".join(src.split()[a:b])) for a, b, _ in spans]
        assert _spans(toks, proj) == want  # e.g. "old city" -> "ciudad vieja"


def test_span_splitting_a_reordered_pair(ro):
    """Marking "house" alone in "red house" blocks the reordering in the marked translation.

    markers.v1 then projects onto its own, changed translation ("la roja casa": the cost of
    markers); constrained.v1 keeps the right translation but returns what this model prefers
    given the marked source, which is the position of "roja" (the model's marked translation has
    the marker there): both are faithful to the model, and differ.
    """
    src = "the red house is big ."
    tgt = reorder_words(src)  # la casa roja es grande .
    pair = Pair(src.split(), tgt.split(), [(2, 3, "X")], src, tgt)
    mk = get("markers.v1", translator=ro).project([pair])[0]
    assert mk.tgt_text == "la roja casa es grande ." != tgt
    assert _spans(mk.tgt_tokens, mk) == ["casa"]
    co = get("constrained.v1", scorer=ro, exhaustive=True).project([pair])[0]
    assert co.tgt_text is None
    assert _spans(pair.tgt_tokens, co) == ["roja"]
