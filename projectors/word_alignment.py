"""Word alignments: the aligner interface, symmetrisation, and soft links combined over runs.

An alignment of one sentence pair is a dict ``{(i, j): score}`` of links from source token ``i``
to target token ``j`` (0-indexed) with a score in ``(0, 1]``. Aligners implement
:class:`Aligner`; statistical ones align a whole batch at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "Aligner",
    "Links",
    "SYMMETRISATIONS",
    "symmetrise",
    "combine_runs",
    "combine_pair",
    "parse_links",
    "format_links",
]

#: one sentence pair's links: ``(source index, target index) -> score``
Links = dict[tuple[int, int], float]

SYMMETRISATIONS = (
    "intersection",
    "union",
    "grow-diag",
    "grow-diag-final",
    "grow-diag-final-and",
    "forward",
    "reverse",
)

_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


class Aligner(ABC):
    """Aligns tokenised sentence pairs.

    :meth:`align` returns one :data:`Links` per pair. ``extra`` is optional unlabelled parallel
    text (pairs of token lists) that statistical aligners use for statistics only.
    """

    name: str = ""

    @abstractmethod
    def align(
        self,
        src: Sequence[Sequence[str]],
        tgt: Sequence[Sequence[str]],
        extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    ) -> list[Links]:
        """Links for every pair ``(src[k], tgt[k])``."""

    def signature(self) -> dict[str, Any]:
        return {"aligner": self.name}


def symmetrise(
    fwd: Iterable[tuple[int, int]],
    rev: Iterable[tuple[int, int]],
    method: str = "grow-diag-final-and",
) -> set[tuple[int, int]]:
    """Symmetrise two directional link sets (both given as ``(src, tgt)`` pairs).

    ``method``: one of :data:`SYMMETRISATIONS` (Koehn et al.'s heuristics).
    """
    f, r = set(fwd), set(rev)
    if method == "forward":
        return f
    if method == "reverse":
        return r
    if method == "intersection":
        return f & r
    if method == "union":
        return f | r
    if method not in SYMMETRISATIONS:
        raise ValueError(f"unknown symmetrisation {method!r}; one of {', '.join(SYMMETRISATIONS)}")
    union = f | r
    links = f & r
    src_al = {i for i, _ in links}
    tgt_al = {j for _, j in links}
    added = True
    while added:
        added = False
        for i, j in sorted(links):
            for di, dj in _NEIGHBOURS:
                cand = (i + di, j + dj)
                if cand in union and cand not in links and (
                    cand[0] not in src_al or cand[1] not in tgt_al
                ):
                    links.add(cand)
                    src_al.add(cand[0])
                    tgt_al.add(cand[1])
                    added = True
    if method == "grow-diag":
        return links
    both = method == "grow-diag-final-and"
    for direction in (f, r):
        for i, j in sorted(direction):
            free_i, free_j = i not in src_al, j not in tgt_al
            if (free_i and free_j) if both else (free_i or free_j):
                links.add((i, j))
                src_al.add(i)
                tgt_al.add(j)
    return links


def combine_runs(
    runs: Sequence[tuple[Sequence[set[tuple[int, int]]], Sequence[set[tuple[int, int]]]]],
    method: str = "grow-diag-final-and",
    threshold: float = 0.5,
) -> list[Links]:
    """Combine several independent runs of a directional aligner into soft links.

    ``runs`` holds, per run, the forward and reverse link sets of every pair. A directional link
    is kept when at least ``threshold`` of the runs proposed it (a consensus that cancels most of
    a sampler's run-to-run noise); the kept sets are symmetrised with ``method``.

    Scores: a symmetrised ("sure") link scores ``0.5 + 0.5 * m`` (>= 0.5), where ``m`` is the mean
    of its forward and reverse frequencies over the runs; a link kept in only one direction but
    not by the symmetrisation is a weak candidate scoring ``0.5 * m`` (< 0.5). Projection uses sure
    links as evidence and weak ones only to grow a span at its edges.
    """
    if not runs:
        return []
    n_pairs = len(runs[0][0])
    return [combine_pair([(fwd[p], rev[p]) for fwd, rev in runs], method, threshold)
            for p in range(n_pairs)]


def combine_pair(
    votes: Sequence[tuple[Iterable[tuple[int, int]], Iterable[tuple[int, int]]]],
    method: str = "grow-diag-final-and",
    threshold: float = 0.5,
) -> Links:
    """One pair's soft links from its forward and reverse link sets in each run (see
    :func:`combine_runs`)."""
    fc: dict[tuple[int, int], int] = {}
    rc: dict[tuple[int, int], int] = {}
    for fwd, rev in votes:
        for link in fwd:
            fc[link] = fc.get(link, 0) + 1
        for link in rev:
            rc[link] = rc.get(link, 0) + 1
    return combine_counts(fc, rc, len(votes), method, threshold)


def combine_counts(fc: dict[tuple[int, int], int], rc: dict[tuple[int, int], int], k: int,
                   method: str = "grow-diag-final-and", threshold: float = 0.5) -> Links:
    """:func:`combine_pair` from the vote counts of each forward and reverse link over ``k`` runs."""
    f = {lk for lk, c in fc.items() if c / k >= threshold}
    r = {lk for lk, c in rc.items() if c / k >= threshold}
    sym = symmetrise(f, r, method)
    links: Links = {}
    for lk in f | r | sym:
        mean = (fc.get(lk, 0) + rc.get(lk, 0)) / (2 * k)
        links[lk] = round(0.5 + 0.5 * mean, 4) if lk in sym else round(min(0.49, 0.5 * mean), 4)
    return links


def parse_links(line: str, *, one_indexed: bool = False) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Parse ``i-j`` (sure) and ``ipj`` / ``i?j`` (possible) links; returns ``(sure, possible)``.

    Possible links include the sure ones (as in the AER definition).
    """
    sure: set[tuple[int, int]] = set()
    possible: set[tuple[int, int]] = set()
    off = 1 if one_indexed else 0
    for item in line.split():
        for sep in ("-", "p", "?"):
            a, s, b = item.partition(sep)
            if s and a.isdigit() and b.isdigit():
                link = (int(a) - off, int(b) - off)
                possible.add(link)
                if sep == "-":
                    sure.add(link)
                break
        else:
            raise ValueError(f"bad link {item!r}: expected i-j (sure) or ipj (possible)")
    return sure, possible


def format_links(links: Iterable[tuple[int, int]], *, one_indexed: bool = False) -> str:
    off = 1 if one_indexed else 0
    return " ".join(f"{i + off}-{j + off}" for i, j in sorted(links))
