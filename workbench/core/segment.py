"""Splitting over-long inputs at sentence, then clause, then word boundaries (never dropping text)."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["RESPLIT_DEPTH", "split_ranges"]

#: times a part that reached its decoding limit is cut in two and translated again (the translate
#: stage and ``workbench.mt.ct2.CT2Model`` alike)
RESPLIT_DEPTH = 3

_LEVELS = [
    re.compile(r"(?<=[.!?…。！？])[\"'»”)\]]*\s+|(?<=[。！？])"),  # sentence ends
    re.compile(r"(?<=[,;:，；：])\s+"),  # clauses
    re.compile(r"\s+"),  # words
]


def split_ranges(text: str, fits: Callable[[str], bool], level: int = 0) -> list[tuple[int, int]]:
    """Character ranges of ``text`` whose pieces each satisfy ``fits``, cut at sentence, then
    clause, then word boundaries, then between characters; no character is dropped except the
    whitespace at the cuts."""
    if not text or fits(text):
        return [(0, len(text))]
    if level >= len(_LEVELS):  # no boundary left: cut between characters
        out, start = [], 0
        while start < len(text):
            end = start + 1
            while end < len(text) and fits(text[start:end + 1]):
                end += 1
            out.append((start, end))
            start = end
        return out
    pieces, pos = [], 0
    for m in _LEVELS[level].finditer(text):
        if m.start() > pos:
            pieces.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        pieces.append((pos, len(text)))
    out = []
    cur: tuple[int, int] | None = None
    for s, e in pieces:  # greedy packing of consecutive pieces
        if cur is not None and fits(text[cur[0]:e]):
            cur = (cur[0], e)
            continue
        if cur is not None:
            out.append(cur)
            cur = None
        if fits(text[s:e]):
            cur = (s, e)
        else:
            out.extend((s + a, s + b) for a, b in split_ranges(text[s:e], fits, level + 1))
    if cur is not None:
        out.append(cur)
    return out
