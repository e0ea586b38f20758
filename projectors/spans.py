"""Spans from word alignments, span repair and token maps shared by the projectors.

The core is :func:`project_spans`: each source span collects evidence for target tokens from
alignment links and from lexical matches (identical, case-insensitive, accent-free and fuzzy
matches, numbers); evidence is grouped into contiguous blocks (with a small gap tolerance), the
best-supported block becomes the projection, its edges are repaired (punctuation and tokens that
belong to words outside the span are trimmed), and overlapping projections are resolved by score.
Every source span gets an outcome: projected, or dropped with a reason.

Token maps: :func:`split_unspaced` splits tokens of scripts written without spaces (Han, kana,
Thai) into characters with a map back to the original tokens; :func:`word_spans_of_pieces` maps
subword pieces to words without ever indexing out of range.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from projectors.translit import translit_similarity

__all__ = [
    "SpanOptions",
    "SpanResult",
    "project_spans",
    "is_punct",
    "lexical_similarity",
    "translit_similarity",
    "is_unspaced",
    "split_unspaced",
    "word_spans_of_pieces",
    "blocks",
]


@dataclass
class SpanOptions:
    """How spans are built from links (defaults chosen by measurement, see bench/project_align.py).

    Attributes:
        gap: unsupported target tokens tolerated inside one projected span (2: "X de la Y").
        lexical: use lexical matches as a second source of evidence (True).
        lexical_min: minimum similarity of a lexical match (0.75).
        trim_punct: trim punctuation at the edges of projected spans (True).
        trim_foreign: trim edge tokens whose links point mostly to source words outside the span (True).
        grow: grow spans at their edges over weak links (score < ``sure``) from the span's words
            to target tokens that no sure link ties to a word outside the span (True).
        sure: links scoring at least this are evidence; weaker ones only grow spans (0.5).
        min_score: projections with a lower confidence are dropped (0.0: keep all).
        trim_function: trim a short lower-case word (an article or preposition: "dell'", "del",
            "in") at the left edge of a span whose source starts with a capital and whose next
            target word does too, and an elided article ("dell'") at the right edge (False).
        cjk_edges: names joined by a middle dot ("科瑞 · 舒爾曼") stay whole, and lone Chinese
            function characters (的, 於, 從...) are trimmed at span edges (False).
        translit: names also match target words of other scripts through transliteration
            ("Обама", "奧巴馬" ~ "Obama"; needs ``anyascii``, else off) (False).
    """

    gap: int = 2
    lexical: bool = True
    lexical_min: float = 0.75
    trim_punct: bool = True
    trim_foreign: bool = True
    grow: bool = True
    sure: float = 0.5
    min_score: float = 0.0
    translit: bool = False
    cjk_edges: bool = False
    trim_function: bool = False

    def __post_init__(self) -> None:
        for name in ("lexical_min", "sure", "min_score"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"span_{name} must be in [0, 1], got {value}")
        if self.gap < 0:
            raise ValueError(f"span_gap must be >= 0, got {self.gap}")


@dataclass
class SpanResult:
    """Outcome for one source span: target token range ``[start, end)`` or dropped with a reason."""

    source: int
    label: str
    outcome: str
    start: int = -1
    end: int = -1
    score: float = 0.0
    reason: str = ""


# -- token classes and lexical similarity ---------------------------------------------------------
# The token-class helpers are pure functions of one token and are called for every (span word,
# target word) pair; a corpus has far fewer distinct tokens than occurrences, so each is cached
# per token string (bounded).
_TOKEN_CACHE = 1 << 18


@lru_cache(maxsize=_TOKEN_CACHE)
def is_punct(tok: str) -> bool:
    """True when every character is punctuation or a symbol (``-``, ``«``, ``„``, ``€``...)."""
    return bool(tok) and all(unicodedata.category(c)[0] in "PS" for c in tok)


@lru_cache(maxsize=_TOKEN_CACHE)
def _fold(tok: str) -> str:
    t = unicodedata.normalize("NFKD", tok.casefold())
    return "".join(c for c in t if not unicodedata.combining(c))


@lru_cache(maxsize=_TOKEN_CACHE)
def _digits(tok: str) -> str:
    return "".join(c for c in tok if c.isdigit())


def lexical_similarity(a: str, b: str) -> float:
    """Similarity of two tokens in [0, 1]: identical 1.0, same up to case 0.95, up to accents 0.9,
    same number 1.0; otherwise a fuzzy score from the shared prefix and the character overlap
    (tokens of at least 4 letters), else 0."""
    if not a or not b or is_punct(a) or is_punct(b):
        return 0.0
    if a == b:
        return 1.0
    da, db = _digits(a), _digits(b)
    if da or db:
        return 1.0 if da and da == db and len(da) * 2 >= max(len(a), len(b)) else 0.0
    fa, fb = _fold(a), _fold(b)
    if fa == fb:
        return 0.95 if a.casefold() == b.casefold() else 0.9
    if min(len(fa), len(fb)) < 4:
        return 0.0
    p = 0
    for x, y in zip(fa, fb, strict=False):
        if x != y:
            break
        p += 1
    if p < 4:
        return 0.0
    # shared prefix relative to the shorter word: Europe/Europa, Parliament/Parlamento
    return min(0.85, 0.5 + 0.5 * p / min(len(fa), len(fb)))


_BREAKS = frozenset(',;:.!?()[]{}"«»“”„‟‹›|¡¿。，、；：！？（）「」『』')


def _is_break(tok: str) -> bool:
    """Punctuation that separates phrases (not apostrophes, hyphens or slashes inside names)."""
    return bool(tok) and all(c in _BREAKS for c in tok)


def _same_case(a: str, b: str) -> bool:
    """False only when one word starts with a capital and the other with a small letter."""
    ca, cb = a[:1], b[:1]
    if not (ca.isupper() or ca.islower()) or not (cb.isupper() or cb.islower()):
        return True
    return ca.isupper() == cb.isupper()


@lru_cache(maxsize=_TOKEN_CACHE)
def _name_like(tok: str) -> bool:
    return any(c.isdigit() for c in tok) or (tok[:1].isupper() and len(tok) > 1)


# -- token maps ----------------------------------------------------------------------------------
def is_unspaced(ch: str) -> bool:
    """Is ``ch`` in a script written without spaces (Han, kana, Thai)?"""
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF
        or 0x3400 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0x0E00 <= o <= 0x0E7F
        or 0x20000 <= o <= 0x2FA1F
    )


_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u0e00-\u0e7f\U00020000-\U0002fa1f]")


def split_unspaced(tokens: Sequence[str]) -> tuple[list[str], list[int]]:
    """Split tokens of scripts written without spaces into characters.

    Returns the new tokens and, for each, the index of the original token it came from; tokens
    in other scripts pass through unchanged (runs of non-CJK characters inside a CJK token stay
    together).
    """
    if not _UNSPACED.search("".join(tokens)):  # the common case, one regex scan (same ranges
        return list(tokens), list(range(len(tokens)))  # as is_unspaced)
    out: list[str] = []
    owner: list[int] = []
    for k, tok in enumerate(tokens):
        if not _UNSPACED.search(tok):
            out.append(tok)
            owner.append(k)
            continue
        buf = ""
        for c in tok:
            if is_unspaced(c):
                if buf:
                    out.append(buf)
                    owner.append(k)
                    buf = ""
                out.append(c)
                owner.append(k)
            else:
                buf += c
        if buf:
            out.append(buf)
            owner.append(k)
    return out, owner


def word_spans_of_pieces(word_ids: Sequence[int | None], n_words: int) -> list[list[int]]:
    """For every word ``0..n_words-1``, the positions of its pieces (``word_ids`` as returned by a
    fast tokenizer; ``None`` for special tokens). Words beyond ``n_words`` are ignored, words with
    no piece (truncated) get an empty list."""
    out: list[list[int]] = [[] for _ in range(max(n_words, 0))]
    for pos, w in enumerate(word_ids):
        if w is not None and 0 <= w < n_words:
            out[w].append(pos)
    return out


def blocks(indices: Sequence[int], gap: int) -> list[list[int]]:
    """Group sorted indices into runs whose neighbours are at most ``gap + 1`` apart."""
    out: list[list[int]] = []
    for j in sorted(set(indices)):
        if out and j - out[-1][-1] - 1 <= gap:
            out[-1].append(j)
        else:
            out.append([j])
    return out


def _blocks_bridged(indices: Sequence[int], gap: int, bridgeable: Callable[[int], bool]) -> list[list[int]]:
    out: list[list[int]] = []
    for j in sorted(set(indices)):
        if out and j - out[-1][-1] - 1 <= gap and all(bridgeable(x) for x in range(out[-1][-1] + 1, j)):
            out[-1].append(j)
        else:
            out.append([j])
    return out


# -- spans from links ----------------------------------------------------------------------------
def project_spans(
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    spans: Sequence[tuple[int, int, str]],
    links: dict[tuple[int, int], float],
    options: SpanOptions | None = None,
) -> list[SpanResult]:
    """Project source spans ``(start, end, label)`` onto target tokens through ``links``.

    Returns one :class:`SpanResult` per source span, in source order.
    """
    o = options or SpanOptions()
    n_t = len(tgt_tokens)
    every = {(i, j): s for (i, j), s in links.items() if 0 <= i < len(src_tokens) and 0 <= j < n_t}
    links = {lk: s for lk, s in every.items() if s >= o.sure}
    weak = {lk: s for lk, s in every.items() if s < o.sure}
    by_tgt: dict[int, dict[int, float]] = {}
    for (i, j), s in links.items():
        by_tgt.setdefault(j, {})[i] = s
    weak_by_tgt: dict[int, set[int]] = {}
    for (i, j) in weak:
        weak_by_tgt.setdefault(j, set()).add(i)
    candidates: list[list[SpanResult]] = []
    for k, (s, e, label) in enumerate(spans):
        if n_t == 0:
            candidates.append([SpanResult(k, label, "dropped", reason="empty target")])
            continue
        candidates.append(
            _one_span(k, s, e, label, src_tokens, tgt_tokens, links, by_tgt, weak_by_tgt, o)
        )
    return _resolve_overlaps(candidates, tgt_tokens)


def _one_span(
    k: int,
    s: int,
    e: int,
    label: str,
    src: Sequence[str],
    tgt: Sequence[str],
    links: dict[tuple[int, int], float],
    by_tgt: dict[int, dict[int, float]],
    weak_by_tgt: dict[int, set[int]],
    o: SpanOptions,
) -> list[SpanResult]:
    """Ranked candidate projections of one span (best first), or one dropped result."""
    n_src = e - s
    # lexical matches: identical words, and fuzzy matches of names and numbers
    lex: dict[int, float] = {}
    lex_support: dict[int, set[int]] = {}
    exact: dict[int, set[int]] = {}  # source token -> target tokens equal to it (up to case/accents)
    if o.lexical:
        for i in range(s, e):
            for j, t in enumerate(tgt):
                sim = _token_match(src[i], t)
                if o.translit and sim < o.lexical_min and _name_like(src[i]):
                    sim = translit_similarity(src[i], t)
                if sim >= o.lexical_min:
                    lex[j] = max(lex.get(j, 0.0), sim)
                    lex_support.setdefault(j, set()).add(i)
                    if sim >= 0.9 and _name_like(src[i]):
                        exact.setdefault(i, set()).add(j)
    # sure alignment links from the span's tokens; a name or number that occurs verbatim in the
    # target keeps only its links to those occurrences (lexical identity beats a stray link)
    support: dict[int, set[int]] = {j: set(v) for j, v in lex_support.items()}
    ev: dict[int, float] = {}
    for (i, j), sc in links.items():
        if s <= i < e and (i not in exact or j in exact[i]):
            ev[j] = max(ev.get(j, 0.0), sc)
            support.setdefault(j, set()).add(i)
    if not ev and not lex:
        return [SpanResult(k, label, "dropped", reason="no aligned or matching target token")]
    centre_src = (s + e) / 2 / max(len(src), 1)
    ranked = []
    span_has_break = any(_is_break(src[i]) for i in range(s, e))

    def bridgeable(j: int) -> bool:
        # a gap may hold unaligned words or words of this span; never a phrase break (comma,
        # bracket, quote... unless the source span has one) nor words tied by sure links to
        # source words outside the span
        if _is_break(tgt[j]) and not span_has_break:
            return False
        return all(s <= i < e for i in by_tgt.get(j, {}))

    for blk in _blocks_bridged(list(ev) + list(lex), o.gap, bridgeable):
        covered = set().union(*(support.get(j, set()) for j in blk))
        coverage = len(covered) / n_src
        mass = sum(ev.get(j, 0.0) + 0.5 * lex.get(j, 0.0) for j in blk)
        strength = sum(max(ev.get(j, 0.0), lex.get(j, 0.0)) for j in blk) / len(blk)
        # position prior: among equally supported blocks, the one nearer the diagonal
        dist = abs((blk[0] + blk[-1] + 1) / 2 / len(tgt) - centre_src)
        ranked.append(((coverage, mass, -dist), blk, coverage, strength, covered))
    ranked.sort(key=lambda r: r[0], reverse=True)
    out = []
    for _, blk, coverage, strength, covered in ranked:
        lo, hi = blk[0], blk[-1] + 1
        if o.grow and len(covered) < n_src:
            lo, hi = _grow(lo, hi, s, e, covered, src, tgt, by_tgt, weak_by_tgt)
        lo, hi = _repair(lo, hi, s, e, src, tgt, by_tgt, ev, lex, o)
        if hi <= lo:
            continue
        score = round(min(1.0, coverage * strength), 4)
        if score < o.min_score:
            continue
        out.append(SpanResult(k, label, "projected", lo, hi, score))
    if not out:
        score = round(min(1.0, ranked[0][2] * ranked[0][3]), 4)
        reason = (f"confidence {score} below {o.min_score}" if score < o.min_score
                  else "projection was only punctuation or words of other spans")
        return [SpanResult(k, label, "dropped", score=score, reason=reason)]
    return out


def _token_match(a: str, b: str) -> float:
    """Lexical evidence between a source and a target token: identical words (3+ characters),
    fuzzy matches of names and numbers, also against the parts of hyphenated target words."""
    if len(a) < 3 and not a[:1].isupper() and not any(c.isdigit() for c in a):
        return 0.0
    sim = lexical_similarity(a, b)
    if sim < 1.0 and not _name_like(a) and _fold(a) != _fold(b):
        sim = 0.0  # fuzzy matches only for names and numbers
    if "-" in b.strip("-") and sim < 0.9:
        parts = [p for p in b.split("-") if p]
        sim = max([sim] + [0.9 * _token_match(a, p) for p in parts])
    return sim


def _grow(
    lo: int,
    hi: int,
    s: int,
    e: int,
    covered: set[int],
    src: Sequence[str],
    tgt: Sequence[str],
    by_tgt: dict[int, dict[int, float]],
    weak_by_tgt: dict[int, set[int]],
) -> tuple[int, int]:
    """Extend ``[lo, hi)`` over neighbours weakly linked to a span word that the block does not
    cover yet, and tied by no sure link to a word outside the span."""

    def ok(j: int) -> bool:
        if not 0 <= j < len(tgt) or is_punct(tgt[j]):
            return False
        # a weak link from a span word the block lacks, with the same capitalisation (names keep
        # their capitals across languages written in cased scripts; sentence starts are exempt)
        if not any(s <= i < e and i not in covered and (j == 0 or _same_case(src[i], tgt[j]))
                   for i in weak_by_tgt.get(j, ())):
            return False
        return all(s <= i < e for i in by_tgt.get(j, {}))

    while ok(lo - 1):
        lo -= 1
    while ok(hi):
        hi += 1
    return lo, hi


def _repair(
    lo: int,
    hi: int,
    s: int,
    e: int,
    src: Sequence[str],
    tgt: Sequence[str],
    by_tgt: dict[int, dict[int, float]],
    ev: dict[int, float],
    lex: dict[int, float],
    o: SpanOptions,
) -> tuple[int, int]:
    def foreign(j: int) -> bool:
        if j in lex:
            return False
        ins = [sc for i, sc in by_tgt.get(j, {}).items() if s <= i < e]
        outs = [sc for i, sc in by_tgt.get(j, {}).items() if not s <= i < e]
        return bool(outs) and max(outs) > max(ins, default=0.0)

    def j_not_lex(j: int) -> bool:
        return j not in lex

    changed = True
    while changed and lo < hi:
        changed = False
        if o.trim_punct and is_punct(tgt[lo]) and not (s < e and is_punct(src[s])):
            lo, changed = lo + 1, True
        elif o.trim_punct and is_punct(tgt[hi - 1]) and not is_punct(src[e - 1]):
            hi, changed = hi - 1, True
        elif o.trim_foreign and hi - lo > 1 and foreign(lo):
            lo, changed = lo + 1, True
        elif o.trim_foreign and hi - lo > 1 and foreign(hi - 1):
            hi, changed = hi - 1, True
        elif o.trim_function and hi - lo > 1 and j_not_lex(lo) and _function_word(tgt[lo]) and (
                src[s][:1].isupper() and tgt[lo + 1][:1].isupper()):
            lo, changed = lo + 1, True
        elif o.trim_function and hi - lo > 1 and j_not_lex(hi - 1) and _elided(tgt[hi - 1]):
            hi, changed = hi - 1, True
        elif o.cjk_edges and hi - lo > 1 and tgt[lo] in _CJK_FUNCTION:
            lo, changed = lo + 1, True
        elif o.cjk_edges and hi - lo > 1 and tgt[hi - 1] in _CJK_FUNCTION:
            hi, changed = hi - 1, True
    if o.cjk_edges and lo < hi:
        # a transliterated name's parts are joined by a middle dot: never break it
        while lo >= 2 and tgt[lo - 1] in _MIDDLE_DOTS and not is_punct(tgt[lo - 2]):
            lo -= 2
        while hi + 1 < len(tgt) and tgt[hi] in _MIDDLE_DOTS and not is_punct(tgt[hi + 1]):
            hi += 2
    return lo, hi


def _elided(tok: str) -> bool:
    """An elided article or preposition: "dell'", "l'", "d’"."""
    return len(tok) >= 2 and tok[-1] in "'’" and tok[:-1].isalpha() and tok[:1].islower()


def _function_word(tok: str) -> bool:
    """A short lower-case word (article, preposition) or an elided one."""
    return tok[:1].islower() and (_elided(tok) or (tok.isalpha() and len(tok) <= 4))


_MIDDLE_DOTS = frozenset("·・‧•")
#: lone Chinese function characters, never the edge of a name (of, at, from, and, with, by...)
_CJK_FUNCTION = frozenset("的之於于從从在和與与及跟同是了對对向把被由以而或為为將将給给")


def _resolve_overlaps(cands: list[list[SpanResult]], tgt: Sequence[str]) -> list[SpanResult]:
    """Give every span its best candidate that overlaps no higher-scoring projection."""
    taken: dict[int, int] = {}  # target token -> source span index that owns it
    final: dict[int, SpanResult] = {}
    order = sorted(cands, key=lambda c: (-c[0].score, c[0].end - c[0].start, c[0].source))
    for options in order:
        first = options[0]
        if first.outcome != "projected":
            final[first.source] = first
            continue
        for c in options:
            clash = [j for j in range(c.start, c.end) if j in taken]
            if not clash:
                final[c.source] = c
                break
            free = [j for j in range(c.start, c.end) if j not in taken]
            runs = [r for r in blocks(free, 0) if not all(is_punct(tgt[j]) for j in r)]
            # a block that merely touches another projection keeps its free part
            if runs and len(free) >= len(clash):
                r = max(runs, key=len)
                final[c.source] = SpanResult(c.source, c.label, "projected", r[0], r[-1] + 1,
                                             round(c.score * 0.5, 4))
                break
        else:
            owner = taken[next(j for j in range(first.start, first.end) if j in taken)]
            final[first.source] = SpanResult(
                first.source, first.label, "dropped", score=first.score,
                reason=f"overlaps the higher-scoring projection of source span {owner}")
            continue
        won = final[first.source]
        for j in range(won.start, won.end):
            taken[j] = won.source
    return [final[k] for k in sorted(final)]
