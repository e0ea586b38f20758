"""The exact search of constrained.v1 (:class:`BranchAndBound`, checked against
:func:`brute_force`) and the order of candidate marker positions (:func:`onsets`).

Kept apart from the projector (:mod:`projectors.constrained`): these are plain functions of
log-probs, with no model, so they are tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["BranchAndBound", "brute_force", "marked_sequence", "onsets"]

_EPS = 1e-4  # slack for float noise between batches (a bound may be off by ~1e-6)


def marked_sequence(clean: Sequence[str], a: int, b: int, open_: Sequence[str], close: Sequence[str]) -> list[str]:
    """``clean[:a] + open + clean[a:b] + close + clean[b:]`` (pieces; ``</s>`` is implicit)."""
    return [*clean[:a], *open_, *clean[a:b], *close, *clean[b:]]


@dataclass
class BranchAndBound:
    """Exact search of the best ``(a, b)`` (``a < b``, ``a`` in starts, ``b`` in ends).

    Drive it with :meth:`next_batch` / :meth:`update` until :attr:`done` (so several searches can
    share one scoring call). ``prefix0[a]`` is the log-prob of ``clean[:a]`` given the marked source
    (``len(clean) + 1`` values); a scored sequence is given as its per-piece log-probs (``</s>``
    last) and must come from the same model (causal: a position's log-prob depends only on the
    pieces before it).

    Attributes:
        scored: number of sequences scored.
        top: up to ``top_n`` best ``(score, (a, b))``, best first.
    """

    starts: Sequence[int]
    ends: Sequence[int]
    prefix0: Sequence[float]
    n_open: int
    batch_size: int = 4
    top_n: int = 1
    first: Sequence[tuple[int, int]] = ()
    scored: int = 0
    top: list[tuple[float, tuple[int, int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pairs = [(a, b) for a in sorted(set(self.starts)) for b in sorted(set(self.ends)) if a < b]
        self.max_end = {a: max(b for x, b in self.pairs if x == a) for a, _ in self.pairs}
        self.bound: dict[tuple[int, int], float] = {p: self.prefix0[p[0]] for p in self.pairs}
        self.probed: set[int] = set()
        self.results: dict[tuple[int, int], float] = {}
        self._first = [p for p in dict.fromkeys(self.first) if p in self.bound]

    @property
    def brute(self) -> int:
        """Sequences brute force scores: every candidate pair."""
        return len(self.pairs)

    def _threshold(self) -> float:
        return self.top[-1][0] - _EPS if len(self.top) >= self.top_n else -math.inf

    @property
    def done(self) -> bool:
        return not self.next_batch(peek=True)

    def next_batch(self, peek: bool = False) -> list[tuple[int, int]]:
        """The next pairs to score (empty when the search is finished)."""
        thr = self._threshold()
        live = [p for p in self.pairs if p not in self.results and self.bound[p] >= thr]
        if not live:
            return []
        if peek:
            return live[:1]
        batch: list[tuple[int, int]] = []
        for p in self._first:
            if p not in self.results and p in live and len(batch) < self.batch_size:
                batch.append(p)
        self._first = []
        live.sort(key=lambda p: (-self.bound[p], p))
        for a, b in live:
            if len(batch) >= self.batch_size:
                break
            p = (a, b) if a in self.probed else (a, self.max_end[a])  # probe: widest info for a
            if p not in batch and p not in self.results:
                batch.append(p)
        return batch

    def update(self, pairs: Sequence[tuple[int, int]], logprobs: Sequence[Sequence[float]]) -> None:
        """Record the per-piece log-probs of the marked sequences of ``pairs``."""
        for (a, b), lps in zip(pairs, logprobs, strict=False):
            if (a, b) in self.results:
                continue
            self.scored += 1
            total = float(sum(lps))
            self.results[(a, b)] = total
            self.bound[(a, b)] = total
            self.probed.add(a)
            cum = [0.0]
            for x in lps:
                cum.append(cum[-1] + x)
            for (x, c) in self.pairs:
                if x == a and (x, c) != (a, b):
                    k = min(c, b) - a + self.n_open + a  # pieces of clean[:a] + open + clean[a:min(b,c)]
                    self.bound[(x, c)] = min(self.bound[(x, c)], cum[k])
            self.top.append((total, (a, b)))
            self.top.sort(key=lambda t: (-t[0], t[1]))
            del self.top[self.top_n:]

    def run(self, score_fn: Callable[[list[tuple[int, int]]], Sequence[Sequence[float]]]) -> BranchAndBound:
        """Run to the end with one scoring function (tests, single searches)."""
        while True:
            batch = self.next_batch()
            if not batch:
                return self
            self.update(batch, score_fn(batch))


def onsets(bounds: Sequence[int], value: dict[int, float]) -> list[int]:
    """``bounds`` (in order) by where ``value`` falls against the bound before (the first bound
    against 0): first, in order, those whose fall is at least half the largest, then the rest by
    fall. Past the place the model wanted a marker, a model that copies by position is off for
    every piece (the values stay low, or rise and fall again), so the first large fall marks the
    place, not the largest."""
    fall = {b: value[b] - (value[bounds[k - 1]] if k else 0.0) for k, b in enumerate(bounds)}
    if not fall:
        return []
    big = 0.5 * min(fall.values())
    first = [b for b in bounds if big < 0 and fall[b] <= big]
    taken = set(first)
    return first + sorted((b for b in bounds if b not in taken), key=lambda b: (fall[b], b))


def brute_force(starts: Sequence[int], ends: Sequence[int],
                score_fn: Callable[[list[tuple[int, int]]], Sequence[Sequence[float]]]) -> tuple[float, tuple[int, int]] | None:
    """Score every candidate pair; the best ``(score, (a, b))`` (ties: smallest pair)."""
    pairs = [(a, b) for a in sorted(set(starts)) for b in sorted(set(ends)) if a < b]
    if not pairs:
        return None
    scores = [float(sum(x)) for x in score_fn(pairs)]
    return min(((s, p) for s, p in zip(scores, pairs, strict=False)), key=lambda t: (-t[0], t[1]))
