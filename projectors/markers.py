"""``markers.v1``: mark-then-translate label projection (EasyProject, Chen et al. 2023).

Each source span is wrapped in markers (``[ Paris ]`` or typed tags ``<LOC> Paris </LOC>``), the
marked sentence is translated and the markers are read back from the translation. The target of
the projection is that translation with the markers stripped ("clean translation"); spans are
exact character offsets in it, and tokens are cut at span boundaries.

Robust parsing: bracket variants (``[［【〔〖⟦《`` / ``]］】〕〗⟧》``), nested and unbalanced
markers, markers glued to words. When the source already contains characters of the marker set,
an alternative set is used (``{ }`` by default), so no character of the source is ever read as a
marker. Several marked segments are assigned to spans by label (typed tags), by order when the
counts agree, and by fuzzy match (``difflib`` ratio against the source span text and optionally
the entity translated alone) with a threshold otherwise. Every span ends with an outcome:
projected, fallback (when a ``fallback`` projector is given) or dropped with a reason.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from projectors.base import Pair, ProjectedSpan, Projection, Projector, named
from projectors.mtbase import VocabularyError, model_signature, source_view, target_view, tokenize

__all__ = ["MarkerSet", "MarkersProjector", "Segment", "parse_markers", "insert_markers", "BRACKETS", "CURLY"]


@dataclass(frozen=True)
class MarkerSet:
    """A pair of markers and the look-alike characters a translation may turn them into.

    Attributes:
        open / close: the strings inserted around a span.
        open_variants / close_variants: every string read back as an opening / closing marker
            (the markers themselves included).
    """

    open: str
    close: str
    open_variants: tuple[str, ...] = ()
    close_variants: tuple[str, ...] = ()

    def opens(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.open, *self.open_variants)))

    def closes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.close, *self.close_variants)))

    def chars(self) -> tuple[str, ...]:
        return self.opens() + self.closes()


#: square brackets and the brackets translations turn them into
BRACKETS = MarkerSet("[", "]", tuple("［【〔〖⟦《"), tuple("］】〕〗⟧》"))
#: the alternative when the source already contains square brackets (or their variants)
CURLY = MarkerSet("{", "}", ("｛",), ("｝",))

_TAG_OPEN = "<＜〈‹"
_TAG_CLOSE = ">＞〉›"


@dataclass
class Segment:
    """A marked segment of the clean translation.

    Attributes:
        start / end: character offsets in the clean text (whitespace trimmed).
        label: the tag's label for typed markers, ``None`` for brackets.
        order: rank of the opening marker among all openings (reading order).
        depth: nesting depth (0 = outermost).
    """

    start: int
    end: int
    label: str | None
    order: int
    depth: int = 0


def insert_markers(text: str, spans: Sequence[tuple[int, int, str]], markers: MarkerSet | None,
                   pad: bool = True) -> str:
    """``text`` with each character span wrapped in markers (typed tags when ``markers`` is None)."""
    out, pos = [], 0
    sp = " " if pad else ""
    for s, e, lab in sorted(spans):
        o, c = (markers.open, markers.close) if markers else (f"<{lab}>", f"</{lab}>")
        out += [text[pos:s], o, sp, text[s:e], sp, c]
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _tag_regex(labels: Sequence[str]) -> re.Pattern[str]:
    alts = "|".join(sorted((re.escape(x) for x in set(labels)), key=len, reverse=True))
    return re.compile(rf"[{_TAG_OPEN}]\s*(/?)\s*({alts})\s*[{_TAG_CLOSE}]", re.IGNORECASE)


def _spaced_alnum(ch: str) -> bool:
    return ch.isalnum() and not ("\u3040" <= ch <= "\u9fff" or "\u0e00" <= ch <= "\u0e7f")


def parse_markers(text: str, markers: MarkerSet | None, labels: Sequence[str] = ()) -> tuple[str, list[Segment]]:
    """Read markers back: ``(clean_text, segments)``.

    ``markers`` None means typed tags over ``labels``. Every marker occurrence (matched or not)
    is removed from the clean text; matched pairs (innermost first) become segments, nested ones
    included. Never raises on any input.
    """
    events: list[tuple[int, int, bool, str | None]] = []  # (start, end, is_open, label)
    if markers is None:
        if labels:
            canon = {x.casefold(): x for x in labels}
            for m in _tag_regex(labels).finditer(text):
                events.append((m.start(), m.end(), m.group(1) == "", canon.get(m.group(2).casefold())))
    else:
        opens, closes = markers.opens(), markers.closes()
        alts = sorted(opens + closes, key=len, reverse=True)
        for m in re.finditer("|".join(re.escape(a) for a in alts), text):
            events.append((m.start(), m.end(), m.group(0) in opens, None))
    # pair them
    stack: list[tuple[int, int, str | None, int]] = []  # (open_end, order, label, event index)
    raw: list[tuple[int, int, str | None, int, int]] = []  # (start, end, label, order, depth)
    order = 0
    for s, e, is_open, lab in events:
        if is_open:
            stack.append((e, order, lab, s))
            order += 1
            continue
        for k in range(len(stack) - 1, -1, -1):
            if markers is not None or stack[k][2] == lab:
                oe, o, olab, _ = stack.pop(k)
                raw.append((oe, s, olab, o, k))
                break
    # clean text with an offset map (old offset -> new offset)
    cut_at = {s: e for s, e, _, _ in events}
    out: list[str] = []
    newpos = [0] * (len(text) + 1)
    i = 0
    while i < len(text):
        if i not in cut_at:
            newpos[i] = len(out)
            out.append(text[i])
            i += 1
            continue
        j = cut_at[i]
        while j in cut_at:  # adjacent markers
            j = cut_at[j]
        prev = out[-1] if out else ""
        nxt = text[j] if j < len(text) else ""
        if prev.isspace() and nxt and not nxt.isspace() and not nxt.isalnum():
            out.pop()  # "York ]." -> "York.": the space was the marker's padding
            prev = out[-1] if out else ""
        for k in range(i, j):
            newpos[k] = len(out)
        if not out or prev.isspace():
            while j < len(text) and text[j].isspace():  # no doubled or leading space
                newpos[j] = len(out)
                j += 1
        elif nxt and _spaced_alnum(prev) and _spaced_alnum(nxt):
            out.append(" ")  # a marker glued between two words separated them
        i = j
    newpos[len(text)] = len(out)
    clean = "".join(out)
    # strip trailing whitespace created by a final marker (leading handled above)
    stripped = clean.rstrip()
    segs: list[Segment] = []
    for s, e, lab, o, depth in raw:
        a, b = newpos[s], min(newpos[e], len(stripped))
        while a < b and stripped[a].isspace():
            a += 1
        while b > a and stripped[b - 1].isspace():
            b -= 1
        if a < b:
            segs.append(Segment(a, b, lab, o, depth))
    segs.sort(key=lambda g: (g.order, g.start))
    return stripped, segs


def _sim(a: str, b: str) -> float:
    a, b = a.casefold().strip(), b.casefold().strip()
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _assign(weights: list[list[float]]) -> list[int]:
    """Max-weight assignment of rows (spans) to distinct columns (segments); -1 = none.

    Exact by dynamic programming over column subsets when small, greedy otherwise."""
    n = len(weights)
    m = len(weights[0]) if n else 0
    if n == 0:
        return []
    if m <= 12:
        best: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
        for i in range(n):
            nxt: dict[int, tuple[float, list[int]]] = {}
            for mask, (w, picks) in best.items():
                cands = [(w, picks + [-1], mask)]
                for j in range(m):
                    if not mask >> j & 1 and weights[i][j] > 0:
                        cands.append((w + weights[i][j], picks + [j], mask | 1 << j))
                for cw, cp, cm in cands:
                    if cm not in nxt or cw > nxt[cm][0]:
                        nxt[cm] = (cw, cp)
            best = nxt
        return max(best.values(), key=lambda t: t[0])[1]
    out = [-1] * n
    used: set[int] = set()
    for w, i, j in sorted(((weights[i][j], i, j) for i in range(n) for j in range(m)), reverse=True):
        if w > 0 and out[i] < 0 and j not in used:
            out[i], used = j, used | {j}
    return out


@named("markers.v1")
class MarkersProjector(Projector):
    """Mark-then-translate projection.

    Args:
        translator: an object with ``translate(texts) -> texts`` and ``unknown(strings)``
            (``projectors.mtbase.Translator``), source -> target direction.
        typed: wrap spans in typed tags ``<LABEL> … </LABEL>`` instead of brackets (default False).
        markers: marker sets to try in order; the first whose characters do not occur in the
            source sentence is used (default: square brackets, then curly braces). The first set
            must be in the model's vocabulary (checked, :class:`VocabularyError` otherwise).
        pad: put a space between the markers and the span (default True: the span keeps its
            usual subword pieces).
        fuzzy_threshold: minimum ``difflib`` similarity to accept a segment for a span when the
            numbers of segments and spans differ (default 0.5).
        translate_entities: also translate each span alone and fuzzy-match against it (one more
            translation batch; default False).
        keep_target: project onto the pair's given target text (translate-test back-projection):
            each marked segment is located in it by exact, then fuzzy match (default False: the
            clean translation of the marked sentence becomes the target).
        fallback: a projector used for the spans the markers could not place (e.g. an alignment
            projector); its results are recorded as ``fallback`` with the reason.
    """

    def __init__(self, translator: Any, *, typed: bool = False,
                 markers: Sequence[MarkerSet] = (BRACKETS, CURLY), pad: bool = True,
                 fuzzy_threshold: float = 0.5, translate_entities: bool = False,
                 keep_target: bool = False, fallback: Projector | None = None,
                 check_vocab: bool = True):
        if translator is None or not hasattr(translator, "translate"):
            raise TypeError("markers.v1 needs translator= (an object with translate(texts) -> texts)")
        self.translator = translator
        self.typed = typed
        self.pad = pad
        self.fuzzy_threshold = fuzzy_threshold
        self.translate_entities = translate_entities
        self.keep_target = keep_target
        self.fallback = fallback
        self.check_vocab = check_vocab and hasattr(translator, "unknown")
        self._known: dict[str, bool] = {}
        sets = list(markers)
        if not sets:
            raise ValueError("markers.v1: give at least one MarkerSet")
        if self.check_vocab and not typed:
            bad = [x for x in (sets[0].open, sets[0].close) if not self._in_vocab(x)]
            if bad:
                raise VocabularyError(
                    f"markers.v1: marker(s) {bad} are not in the translation model's vocabulary "
                    "(they would become <unk> and never come back); pass markers=[MarkerSet(...)] "
                    "with strings the model knows")
            sets = [sets[0]] + [s for s in sets[1:] if self._in_vocab(s.open) and self._in_vocab(s.close)]
        self.markers = sets

    def signature(self) -> dict[str, Any]:
        return {"projector": self.name, "model": model_signature(self.translator), "typed": self.typed,
                "markers": "".join(m.open + m.close for m in self.markers), "pad": self.pad,
                "fuzzy": self.fuzzy_threshold, "entities": self.translate_entities,
                "keep_target": self.keep_target,
                "fallback": self.fallback.name if self.fallback else None}

    # -- vocabulary ---------------------------------------------------------------------------
    def _in_vocab(self, s: str) -> bool:
        if s not in self._known:
            self._known[s] = not self.translator.unknown([s]) if self.check_vocab else True
        return self._known[s]

    def _check_tags(self, labels: set[str]) -> None:
        tags = [t for lab in sorted(labels) for t in (f"<{lab}>", f"</{lab}>")]
        bad = [t for t in tags if not self._in_vocab(t)]
        if bad:
            raise VocabularyError(
                f"markers.v1: typed markers {bad} are not in the translation model's vocabulary; "
                "use typed=False (brackets) or a model that knows them")

    def _choose(self, text: str, labels: Sequence[str]) -> tuple[bool, MarkerSet | None]:
        """(usable, marker set): None = typed tags; unusable when every set occurs in text."""
        if self.typed and not _tag_regex(labels).search(text):
            return True, None
        for ms in self.markers:
            if not any(c in text for c in ms.chars()):
                return True, ms
        return False, None

    # -- projection -----------------------------------------------------------------------------
    def _project_batch(self, pairs: list[Pair]) -> list[Projection]:
        views = [source_view(p) for p in pairs]
        if self.typed and self.check_vocab:
            self._check_tags({lab for p in pairs for _, _, lab in p.spans})
        plans, marked = [], []
        for text, cspans in views:
            ok, ms = self._choose(text, [lab for _, _, lab in cspans]) if cspans else (False, None)
            plans.append((ok, ms))
            if ok:
                marked.append(insert_markers(text, cspans, ms, self.pad))
        outputs = iter(self.translator.translate(marked) if marked else [])
        ent_tr: dict[str, str] = {}
        if self.translate_entities:
            ents = sorted({text[s:e] for (text, cspans) in views for s, e, _ in cspans})
            ent_tr = dict(zip(ents, self.translator.translate(ents), strict=False)) if ents else {}
        results = []
        for p, (text, cspans), (ok, ms) in zip(pairs, views, plans, strict=False):
            out = next(outputs) if ok else None
            results.append(self._one(p, text, cspans, ok, ms, out, ent_tr))
        return results

    def _one(self, p: Pair, text: str, cspans: list[tuple[int, int, str]], ok: bool,
             ms: MarkerSet | None, out: str | None, ent_tr: dict[str, str]) -> Projection:
        n = len(cspans)
        placed: dict[int, tuple[int, int, float, str]] = {}
        reasons: dict[int, str] = {}
        if not cspans:
            clean = out or ""
        elif not ok:
            clean = ""
            for i in range(n):
                reasons[i] = "the source contains characters of every marker set; not marked"
        else:
            clean, segs = parse_markers(out or "", ms, [lab for _, _, lab in cspans])
            if not clean.strip():
                for i in range(n):
                    reasons[i] = "the translation of the marked sentence is empty"
            else:
                placed, reasons = self._match(text, cspans, clean, segs, ent_tr, typed=ms is None)
        if self.keep_target or not ok or not clean.strip():
            return self._finish_given(p, cspans, clean, placed, reasons)
        return self._finish_own(p, cspans, clean, placed, reasons)

    def _match(self, text, cspans, clean, segs, ent_tr, typed):
        placed: dict[int, tuple[int, int, float, str]] = {}
        reasons: dict[int, str] = {}
        groups: dict[str | None, list[int]] = {}
        for i, (_, _, lab) in enumerate(cspans):
            groups.setdefault(lab if typed else None, []).append(i)
        for key, idx in groups.items():
            gsegs = [g for g in segs if (g.label == key if typed else True)]
            if not gsegs:
                for i in idx:
                    reasons[i] = "no marked segment in the translation (markers dropped)"
                continue
            refs = [[text[cspans[i][0]:cspans[i][1]]] for i in idx]
            for r in refs:
                if r[0] in ent_tr:
                    r.append(ent_tr[r[0]])
            sims = [[max(_sim(ref, clean[g.start:g.end]) for ref in r) for g in gsegs] for r in refs]
            outer = [g for g in gsegs if g.depth == 0]
            same = len(outer) == len(idx)
            weights = []
            for a in range(len(idx)):
                row = []
                for b, g in enumerate(gsegs):
                    w = sims[a][b]
                    if same and g.depth == 0 and outer.index(g) == a:
                        w += 0.5  # order prior: k-th span <-> k-th outermost segment
                    elif w < self.fuzzy_threshold:
                        w = 0.0
                    row.append(w)
                weights.append(row)
            picks = _assign(weights)
            taken: list[tuple[int, int, int]] = []
            for a, i in enumerate(idx):
                b = picks[a]
                if b < 0:
                    best = max(sims[a]) if sims[a] else 0.0
                    reasons[i] = (f"{len(outer)} marked segment(s) for {len(idx)} span(s); best fuzzy "
                                  f"match {best:.2f} < threshold {self.fuzzy_threshold}")
                    continue
                g = gsegs[b]
                clash = next((j for s, e, j in taken if s < g.end and g.start < e), None)
                if clash is not None:
                    reasons[i] = f"its marked segment overlaps the one of span {clash}"
                    continue
                taken.append((g.start, g.end, i))
                by_order = same and g.depth == 0 and outer.index(g) == a
                sim = sims[a][b]
                score = (1 + sim) / 2 if by_order else sim
                how = "matched by order" if by_order else f"fuzzy match {sim:.2f}"
                placed[i] = (g.start, g.end, score, how)
        return placed, reasons

    def _finish_own(self, p, cspans, clean, placed, reasons) -> Projection:
        cuts = {b for s, e, _, _ in placed.values() for b in (s, e)}
        offs = tokenize(clean, cuts)
        toks = [clean[a:b] for a, b in offs]
        starts = {a: k for k, (a, _) in enumerate(offs)}
        ends = {b: k + 1 for k, (_, b) in enumerate(offs)}
        spans: list[ProjectedSpan | None] = [None] * len(cspans)
        for i, (s, e, score, _how) in placed.items():
            s2 = next((a for a, _ in offs if a >= s), None)
            e2 = max((b for _, b in offs if b <= e), default=None)
            if s2 is None or e2 is None or s2 >= e2:
                reasons[i] = "the marked segment holds no word"
                continue
            spans[i] = ProjectedSpan(i, cspans[i][2], "projected", starts[s2], ends[e2], score)
        self._fallback(p, cspans, toks, offs, clean, spans, reasons)
        return Projection([s for s in spans if s is not None], toks, clean, offs)

    def _finish_given(self, p, cspans, clean, placed, reasons) -> Projection:
        tgt_text, offs = target_view(p)
        spans: list[ProjectedSpan | None] = [None] * len(cspans)
        used: list[tuple[int, int]] = []
        for i, (s, e, score, _how) in sorted(placed.items(), key=lambda t: -t[1][2]):
            hit = _locate(clean[s:e], tgt_text, offs, self.fuzzy_threshold, used,
                          where=s / max(len(clean), 1))
            if hit is None:
                reasons[i] = "marked segment not found in the given target"
                continue
            ts, te, sim = hit
            used.append((ts, te))
            spans[i] = ProjectedSpan(i, cspans[i][2], "projected", ts, te, score * sim)
        self._fallback(p, cspans, list(p.tgt_tokens), offs, tgt_text, spans, reasons)
        return Projection([s for s in spans if s is not None])

    def _fallback(self, p, cspans, toks, offs, tgt_text, spans, reasons) -> None:
        missing = [i for i in range(len(cspans)) if spans[i] is None]
        if missing and self.fallback is not None and toks:
            sub = Pair(list(p.src_tokens), toks, [p.spans[i] for i in missing], p.src_text, tgt_text,
                       p.src_offsets, offs)
            occupied = [(s.token_start, s.token_end) for s in spans if s is not None]
            for ps in self.fallback.project([sub])[0].spans:
                i = missing[ps.source]
                if ps.outcome == "dropped":
                    reasons[i] += f"; fallback {self.fallback.name} dropped it too: {ps.reason}"
                    continue
                if any(a < ps.token_end and ps.token_start < b for a, b in occupied):
                    reasons[i] += f"; fallback {self.fallback.name} result overlaps a marker span"
                    continue
                occupied.append((ps.token_start, ps.token_end))
                spans[i] = ProjectedSpan(i, cspans[i][2], "fallback", ps.token_start, ps.token_end,
                                         ps.score, f"{reasons[i]}; projected by {self.fallback.name}")
        for i in range(len(cspans)):
            if spans[i] is None:
                spans[i] = ProjectedSpan(i, cspans[i][2], "dropped", reason=reasons.get(i, "not placed"))


def _locate(seg: str, text: str, offs: list[tuple[int, int]], threshold: float,
            used: list[tuple[int, int]], where: float = 0.0) -> tuple[int, int, float] | None:
    """Best token range of ``text`` matching ``seg``: exact (casefolded) first, then fuzzy; of
    equally good ranges (a name repeated in a long text), the one nearest ``where``, the
    segment's relative position in the marked translation."""
    n = len(offs)
    k = max(1, len(tokenize(seg)))
    best: tuple[float, float, int, int] | None = None
    # exact matches first, by string comparison: a window's similarity is 1.0 exactly when its
    # casefolded text equals the segment's, so the nearest exact window is what the fuzzy scan
    # below would pick; that scan (difflib on every window of the text, for every segment) took
    # minutes on a 1,000-word back-projection and is only needed when nothing matches exactly
    want = seg.casefold().strip()
    if want:
        for a in range(n):
            for b in range(a + 1, min(n, a + k + 2) + 1):
                if text[offs[a][0]:offs[b - 1][1]].casefold().strip() != want:
                    continue
                if any(x < b and a < y for x, y in used):
                    continue
                near = -abs(offs[a][0] / max(len(text), 1) - where)
                if best is None or near > best[1]:
                    best = (1.0, near, a, b)
        if best is not None and best[0] >= threshold:
            return best[2], best[3], best[0]
        best = None
    for a in range(n):
        for b in range(a + 1, min(n, a + k + 2) + 1):
            if any(x < b and a < y for x, y in used):
                continue
            sim = _sim(seg, text[offs[a][0]:offs[b - 1][1]])
            near = -abs(offs[a][0] / max(len(text), 1) - where)
            if best is None or (sim, near) > best[:2]:
                best = (sim, near, a, b)
    if best is None or best[0] < threshold:
        return None
    return best[2], best[3], best[0]

