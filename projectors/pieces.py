"""Long sentence pairs cut into aligned pieces, for aligners and models that cannot take them whole.

A statistical aligner's cost grows with the square of the sentence length (and eflomal runs more
iterations on small batches), so a pair of 400-token paragraphs is cut into pieces of at most
``max_len`` tokens on each side: both sides are cut at the same relative positions, each cut moved
to the nearest sentence end (else the nearest phrase break, else any token) within a window.
Links of the pieces are shifted back to the whole pair, so spans are projected on the whole pair
as before.

An MT model has a position table instead (``constrained.v1`` scores a whole marked pair at once),
and a span must stay in one piece with its translation. So :func:`cut_pair` can also ``keep``
source spans whole (no cut falls inside one; the target cuts then follow the source's, which may
have moved off the relative positions: the same sentence end when both sides have as many), and
check each piece with ``fits`` (the budget is in model
pieces, which a token count only estimates): a piece that does not fit is cut again. Only a piece
that cannot be cut further (it is one kept span, or one token) may still not fit; the caller
checks. :func:`sub_pair` makes a piece a :class:`~projectors.base.Pair` of its own.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence

from projectors.base import Pair
from projectors.mtbase import locate_tokens

__all__ = ["cut_pair", "sub_pair"]

_ENDS = frozenset(".!?。！？…;；")
_BREAKS = frozenset(",:()[]\"«»“”„‟‹›،，、：（）")

Piece = tuple[int, int, int, int]


def _cost(tokens: Sequence[str], pos: int) -> int:
    """How bad a cut before ``tokens[pos]`` is: 0 after a sentence end, 1 after a break, 3 else."""
    prev = tokens[pos - 1] if pos > 0 else ""
    if prev and all(c in _ENDS for c in prev):
        return 0
    if prev and all(c in _BREAKS for c in prev):
        return 1
    return 3


def _cuts(tokens: Sequence[str], k: int, max_len: int, ideals: Sequence[tuple[int, int]] | None = None,
          forbidden: frozenset[int] = frozenset()) -> list[int]:
    """Up to ``k - 1`` cut positions splitting ``tokens`` into pieces of at most ``max_len``, each
    near ``n * i / k``; a cut that only a ``forbidden`` position would satisfy moves to the nearest
    allowed one, or is left out when there is none. Given ``ideals`` (the other side's cuts, as
    ``(position, cost)``), each cut stays near its ideal whatever the pieces' lengths (the pieces
    must pair up) at a break of the same kind: a sentence end for a sentence end, but no moving a
    mid-sentence cut to a sentence end, which would carry words into the other piece."""
    n = len(tokens)
    cuts: list[int] = []
    prev = 0
    for i in range(1, k):
        last = n - (k - i)  # room for the remaining pieces
        if ideals is None:
            ideal, kind = round(n * i / k), 0
            left = n - (k - i) * max_len  # the rest must still fit into the remaining pieces
            lo = max(prev + 1, left, ideal - max_len // 4)
            hi = min(prev + max_len, last, ideal + max_len // 4)
            if lo > hi:  # no room to choose: the bound wins
                lo = hi = max(prev + 1, min(prev + max_len, last))
        else:
            ideal, kind = ideals[i - 1]
            lo, hi = max(prev + 1, ideal - max_len // 4), min(last, ideal + max_len // 4)
            if lo > hi:
                lo = hi = min(max(prev + 1, ideal), last)
        cands = [p for p in range(lo, hi + 1) if p not in forbidden]
        if cands and ideals is not None:
            best = min(cands, key=lambda p: (abs(_cost(tokens, p) - kind), abs(p - ideal)))
        elif cands:
            best = min(cands, key=lambda p: (_cost(tokens, p), abs(p - ideal)))
        else:  # inside a kept span: its nearest edge, even past the bound (``fits`` re-cuts)
            cands = [p for p in range(prev + 1, last + 1) if p not in forbidden]
            if not cands:
                continue
            best = min(cands, key=lambda p: (abs(p - ideal), _cost(tokens, p)))
        cuts.append(best)
        prev = best
    return cuts


def cut_pair(src: Sequence[str], tgt: Sequence[str], max_len: int, *,
             keep: Iterable[tuple[int, int]] = (),
             fits: Callable[[int, int, int, int], bool] | None = None) -> list[Piece]:
    """Pieces ``(s0, s1, t0, t1)`` of a pair, in order, covering both sides; one piece when both
    sides have at most ``max_len`` tokens (or ``max_len`` is 0) and the pair ``fits``.

    ``keep``: source token ranges ``(start, end)`` no cut falls inside. ``fits(s0, s1, t0, t1)``:
    whether a piece is small enough; one that is not is cut again, smaller."""
    keep = list(keep)
    forbidden = frozenset(p for s, e in keep for p in range(s + 1, e))
    plan = _plan(src, tgt, max_len, forbidden, bool(keep or fits))
    if fits is None:
        return plan
    size = max(len(src), len(tgt))
    m = min(max_len or size, size)
    while len(plan) == 1 and m > 1 and not fits(*plan[0]):
        m //= 2
        plan = _plan(src, tgt, m, forbidden, True)
    if len(plan) == 1:  # fits, or cannot be cut (one kept span, one token)
        return plan
    out: list[Piece] = []
    for s0, s1, t0, t1 in plan:  # every piece is smaller than the pair on both sides: this ends
        if fits(s0, s1, t0, t1):
            out.append((s0, s1, t0, t1))
            continue
        sub = cut_pair(src[s0:s1], tgt[t0:t1], m, keep=[(s - s0, e - s0) for s, e in keep if s0 <= s and e <= s1],
                       fits=lambda a, b, c, d, s0=s0, t0=t0: fits(a + s0, b + s0, c + t0, d + t0))
        out.extend((a + s0, b + s0, c + t0, d + t0) for a, b, c, d in sub)
    return out


def _plan(src: Sequence[str], tgt: Sequence[str], max_len: int, forbidden: frozenset[int],
          follow: bool) -> list[Piece]:
    ls, lt = len(src), len(tgt)
    if max_len <= 0 or (ls <= max_len and lt <= max_len) or ls == 0 or lt == 0:
        return [(0, ls, 0, lt)]
    # pieces of about 3/4 of the bound leave room to move each cut to a sentence end
    k = max(2, math.ceil(max(ls, lt) / (0.75 * max_len)))
    k = min(k, ls, lt)
    if k < 2:
        return [(0, ls, 0, lt)]
    sc = [0, *_cuts(src, k, max_len, forbidden=forbidden), ls]
    if follow:  # the target is cut where the source was (a kept span may have moved a cut)
        ideals = [(_follow(src, tgt, c), _cost(src, c)) for c in sc[1:-1]]
        tc = [0, *_cuts(tgt, len(sc) - 1, max_len, ideals), lt]  # all cuts: k <= lt
    else:
        tc = [0, *_cuts(tgt, k, max_len), lt]
    return [(sc[i], sc[i + 1], tc[i], tc[i + 1]) for i in range(len(sc) - 1)]


def _follow(src: Sequence[str], tgt: Sequence[str], c: int) -> int:
    """Where the target should be cut for a source cut at ``c``: the same sentence end when both
    sides have as many (a translation keeps its sentences), else the same relative position within
    the sentence (or the whole pair)."""
    ls, lt = len(src), len(tgt)
    es = [p for p in range(1, ls) if _cost(src, p) == 0]
    et = [p for p in range(1, lt) if _cost(tgt, p) == 0]
    xs, ys = ([0, *es, ls], [0, *et, lt]) if len(es) == len(et) else ([0, ls], [0, lt])
    j = min(bisect.bisect_right(xs, c) - 1, len(xs) - 2)
    return min(lt - 1, max(1, ys[j] + round((c - xs[j]) * (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]))))


def sub_pair(pair: Pair, piece: Piece) -> tuple[Pair, list[int]]:
    """The pair of one piece, with sub-texts and offsets relative to them, and the indices (in
    ``pair.spans``) of the spans it holds (those wholly inside its source tokens)."""
    s0, s1, t0, t1 = piece
    st, soffs = _view(pair.src_tokens, pair.src_text, pair.src_offsets, s0, s1)
    tt, toffs = _view(pair.tgt_tokens, pair.tgt_text, pair.tgt_offsets, t0, t1)
    ids = [i for i, (s, e, _) in enumerate(pair.spans) if s0 <= s and e <= s1]
    spans = [(pair.spans[i][0] - s0, pair.spans[i][1] - s0, pair.spans[i][2]) for i in ids]
    return Pair(list(pair.src_tokens[s0:s1]), list(pair.tgt_tokens[t0:t1]), spans, st, tt, soffs, toffs), ids


def _view(tokens: Sequence[str], text: str | None, offsets: Sequence[tuple[int, int]] | None,
          a: int, b: int) -> tuple[str, list[tuple[int, int]]]:
    """Text and token offsets of ``tokens[a:b]``, cut out of the whole text (as
    :func:`projectors.mtbase.target_view` finds it) so that the piece's spacing is the original's."""
    if text is None or offsets is None:
        text, offsets = locate_tokens(tokens, text)
    if a >= b:
        return "", []
    c0, c1 = offsets[a][0], offsets[b - 1][1]
    return text[c0:c1], [(x - c0, y - c0) for x, y in offsets[a:b]]
