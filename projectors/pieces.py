"""Long sentence pairs cut into aligned pieces before word alignment.

A statistical aligner's cost grows with the square of the sentence length (and eflomal runs more
iterations on small batches), so a pair of 400-token paragraphs is cut into pieces of at most
``max_len`` tokens on each side: both sides are cut at the same relative positions, each cut moved
to the nearest sentence end (else the nearest phrase break, else any token) within a window.
Links of the pieces are shifted back to the whole pair, so spans are projected on the whole pair
as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["cut_pair"]

_ENDS = frozenset(".!?。！？…;；")
_BREAKS = frozenset(",:()[]\"«»“”„‟‹›،，、：（）")


def _cost(tokens: Sequence[str], pos: int) -> int:
    """How bad a cut before ``tokens[pos]`` is: 0 after a sentence end, 1 after a break, 3 else."""
    prev = tokens[pos - 1] if pos > 0 else ""
    if prev and all(c in _ENDS for c in prev):
        return 0
    if prev and all(c in _BREAKS for c in prev):
        return 1
    return 3


def _cuts(tokens: Sequence[str], k: int, max_len: int) -> list[int]:
    """``k - 1`` cut positions splitting ``tokens`` into ``k`` pieces of at most ``max_len``."""
    n = len(tokens)
    cuts: list[int] = []
    prev = 0
    for i in range(1, k):
        ideal = round(n * i / k)
        left = n - (k - i) * max_len  # the rest must still fit into the remaining pieces
        lo = max(prev + 1, left, ideal - max_len // 4)
        hi = min(prev + max_len, n - (k - i), ideal + max_len // 4)
        if lo > hi:  # no room to choose: the bound wins
            lo = hi = max(prev + 1, min(prev + max_len, n - (k - i)))
        best = min(range(lo, hi + 1), key=lambda p: (_cost(tokens, p), abs(p - ideal)))
        cuts.append(best)
        prev = best
    return cuts


def cut_pair(src: Sequence[str], tgt: Sequence[str], max_len: int) -> list[tuple[int, int, int, int]]:
    """Pieces ``(s0, s1, t0, t1)`` of a pair, in order, covering both sides; one piece when both
    sides have at most ``max_len`` tokens (or ``max_len`` is 0)."""
    ls, lt = len(src), len(tgt)
    if max_len <= 0 or (ls <= max_len and lt <= max_len) or ls == 0 or lt == 0:
        return [(0, ls, 0, lt)]
    # pieces of about 3/4 of the bound leave room to move each cut to a sentence end
    k = max(2, math.ceil(max(ls, lt) / (0.75 * max_len)))
    k = min(k, ls, lt)
    if k < 2:
        return [(0, ls, 0, lt)]
    sc = [0, *_cuts(src, k, max_len), ls]
    tc = [0, *_cuts(tgt, k, max_len), lt]
    return [(sc[i], sc[i + 1], tc[i], tc[i + 1]) for i in range(k)]
