"""``constrained.v1``: marker positions searched in a fixed translation (CODEC, Le et al. 2024).

The clean translation is kept (full quality). For each source span, the source is marked
(``… [ Paris ] …``) and the projector searches the marker positions ``(a, b)`` in the clean
translation that the model scores highest: ``log P(clean[:a] [ clean[a:b] ] clean[b:] </s> | marked
source)``, by forced decoding (``Scorer.score``; CTranslate2 ``score_batch``).

1. Candidates: the clean translation is scored given the marked and the unmarked source; the
   boundaries where the log-prob drops most (the model wanted a marker there) are the candidate
   positions (``max_candidates``; token boundaries of the target only).
2. Exact search (:class:`BranchAndBound`): log-probs are <= 0, so the log-prob of a prefix bounds
   every sequence that starts with it. The clean translation scored given the marked source bounds
   every pair with start ``a`` by ``log P(clean[:a])``; one scored sequence ``(a, b)`` bounds every
   ``(a, c)`` by the log-prob of its prefix ``clean[:a] [ clean[a:min(b, c)]``. Pairs whose bound is
   below the best score found are never scored; the result equals brute force over all candidate
   pairs. Searches of all spans of a batch run together, their sequences scored in shared batches.
3. Optional re-ranking of the ``top_n`` pairs (e.g. :func:`reverse_reranker`: log-prob of the source
   span given the target span under a reverse-direction model).

A pair whose marked source or target is past the model's position table (``scorer.positions``) is
cut into parts that fit (:func:`projectors.pieces.cut_pair`: at sentence ends where it can, never
inside a span, the target cut where the source was), each span searched in its part's target only
and shifted back to the whole pair, where the overlap check, ``min_score`` and the fallback run as
for any pair. A pair that fits is searched whole, as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from projectors.base import Pair, ProjectedSpan, Projection, Projector, named
from projectors.constrained_search import BranchAndBound, brute_force, marked_sequence, onsets
from projectors.markers import BRACKETS, CURLY, MarkerSet, insert_markers
from projectors.mtbase import VocabularyError, source_view, target_view
from projectors.mtbase import model_signature as _model_sig
from projectors.pieces import cut_pair, sub_pair

__all__ = ["BranchAndBound", "ConstrainedProjector", "brute_force", "reverse_reranker", "marked_sequence"]

#: pieces an open and a close marker may add to a marked sequence (the length check's margin)
_MARKER_ROOM = 8
#: end candidates added per probed start (see ConstrainedProjector._probe_ends)
_END_CANDIDATES = 4


def reverse_reranker(reverse_scorer: Any) -> Callable[[str, list[str]], list[float]]:
    """A re-ranker from a target->source scorer: mean log-prob of the source span text given each
    candidate target span text."""

    def rerank(src_span: str, tgt_spans: list[str]) -> list[float]:
        src = reverse_scorer.tokenize_target([src_span])[0].pieces
        srcs = reverse_scorer.tokenize_source(tgt_spans)
        lps = reverse_scorer.score(srcs, [src] * len(tgt_spans))
        return [sum(x) / max(1, len(x)) for x in lps]

    return rerank


def _too_long(n_src: int, n_tgt: int, limit: int) -> bool:
    """Whether a marked pair of ``n_src`` source and ``n_tgt`` target pieces (plus ``</s>``) may be
    past the model's ``limit`` positions."""
    return max(n_src, n_tgt + 1) + _MARKER_ROOM > limit


def _piece_boundary(x: int, text: str, offsets: list[tuple[int, int]]) -> int:
    """Index of the piece boundary at character offset ``x`` (whitespace-insensitive), or -1."""
    m = len(offsets)
    for i in range(m + 1):
        pos = offsets[i][0] if i < m else len(text)
        lo, hi = min(pos, x), max(pos, x)
        if text[lo:hi].strip() == "" and (i == 0 or offsets[i - 1][1] <= max(x, offsets[i - 1][0])):
            return i
        if pos > x and text[x:pos].strip():
            return -1
    return -1


@named("constrained.v1")
class ConstrainedProjector(Projector):
    """Constrained marker search in the given (clean) translation.

    Args:
        scorer: an object with ``tokenize_source``, ``tokenize_target``, ``score`` and
            ``unknown`` (``projectors.mtbase.Scorer``), source -> target direction.
        max_candidates: candidate marker positions per span (default 8; brute force would score
            ``K(K-1)/2`` sequences).
        exhaustive: every token boundary is a candidate (default False).
        batch_size: sequences each search asks for per round (default 4; rounds of all spans of
            a batch are scored together).
        markers: marker sets, first one not in the source is used (default ``[ ]`` then ``{ }``).
        typed: typed tags ``<LABEL> … </LABEL>`` as markers (default False).
        top_n: keep the n best pairs (exact) for re-ranking (default 1).
        reranker: ``f(src_span_text, [tgt_span_text, ...]) -> [score, ...]`` added to the
            forward log-prob with ``rerank_weight`` (default None).
        min_score: drop projections whose confidence (exp of the mean piece log-prob of the best
            marked sequence) is below it (default 0: keep all).
        fallback: a projector for spans that could not be placed.
        end_probes: starts (the best by drop) from which the end is probed with one more
            scored sequence each, adding 4 ends where the model wants the close marker
            (default 2; 0: candidates from the drops only, as before this option).
    """

    def __init__(self, scorer: Any, *, max_candidates: int = 8, exhaustive: bool = False,
                 batch_size: int = 4, markers: Sequence[MarkerSet] = (BRACKETS, CURLY),
                 typed: bool = False, top_n: int = 1,
                 reranker: Callable[[str, list[str]], list[float]] | None = None,
                 rerank_weight: float = 1.0, min_score: float = 0.0,
                 fallback: Projector | None = None, check_vocab: bool = True, end_probes: int = 2):
        for m in ("tokenize_source", "tokenize_target", "score"):
            if not hasattr(scorer, m):
                raise TypeError(f"constrained.v1 needs scorer= with a {m}() method (projectors.mtbase.Scorer)")
        self.scorer = scorer
        self.max_candidates = max(2, max_candidates)
        self.exhaustive = exhaustive
        self.end_probes = max(0, end_probes)
        self.batch_size = max(1, batch_size)
        self.typed = typed
        self.top_n = max(1, top_n)
        self.reranker = reranker
        self.rerank_weight = rerank_weight
        self.min_score = min_score
        self.fallback = fallback
        self.check_vocab = check_vocab and hasattr(scorer, "unknown")
        sets = list(markers)
        if self.check_vocab and not typed:
            bad = scorer.unknown([sets[0].open, sets[0].close])
            if bad:
                raise VocabularyError(
                    f"constrained.v1: marker(s) {bad} are not in the model's vocabulary (they would "
                    "be scored as <unk>); pass markers=[MarkerSet(...)] with strings the model knows")
            sets = [sets[0]] + [s for s in sets[1:] if not scorer.unknown([s.open, s.close])]
        self.markers = sets
        #: counters over all calls: spans searched, sequences scored by the search, by brute force,
        #: and sequences scored to find candidates
        self.stats = {"spans": 0, "scored": 0, "brute": 0, "candidate_scored": 0}

    def signature(self) -> dict[str, Any]:
        return {"projector": self.name, "model": _model_sig(self.scorer),
                "candidates": "all" if self.exhaustive else self.max_candidates,
                # recorded only when on, so versions made before the option keep their signature
                **({"end_probes": self.end_probes} if self.end_probes and not self.exhaustive else {}),
                "markers": "".join(m.open + m.close for m in self.markers), "typed": self.typed,
                "top_n": self.top_n, "rerank": bool(self.reranker), "min_score": self.min_score,
                "fallback": self.fallback.name if self.fallback else None}

    def _markers_for(self, text: str, label: str) -> tuple[str, str] | None:
        if self.typed:
            return f"<{label}>", f"</{label}>"
        for ms in self.markers:
            if not any(c in text for c in ms.chars()):
                return ms.open, ms.close
        return None

    def _project_batch(self, pairs: list[Pair]) -> list[Projection]:
        sc = self.scorer
        tgt_views = [target_view(p) for p in pairs]
        tgt_pieces = sc.tokenize_target([t for t, _ in tgt_views]) if pairs else []
        src_views = [source_view(p) for p in pairs]
        src_pieces = sc.tokenize_source([st for st, _ in src_views]) if pairs else []  # once: _search reuses them
        limit = getattr(sc, "positions", None)
        # the whole marked source and target are scored at once: past the model's position table
        # CTranslate2 fails ("No position encodings ..."), so a longer pair is searched in parts
        # (_parts); a pair that fits is its own only part, its spans and tokens unshifted
        units: list[tuple[int, Pair, list[int], int]] = []  # (pair, part, its spans' ids, first target token)
        views: list[tuple[tuple[str, list], tuple[str, list], list[str], Any]] = []
        merged = [{"cspans": cs, "reasons": {}, "best": {}} for _, cs in src_views]
        for pi, p in enumerate(pairs):
            if not (limit and _too_long(len(src_pieces[pi]), len(tgt_pieces[pi].pieces), limit)):
                units.append((pi, p, list(range(len(p.spans))), 0))
                views.append((src_views[pi], tgt_views[pi], src_pieces[pi], tgt_pieces[pi]))
                continue
            for part, ids, t0, toks in self._parts(p, limit, merged[pi]["reasons"], src_pieces[pi], tgt_pieces[pi]):
                units.append((pi, part, ids, t0))
                views.append((source_view(part), target_view(part), *toks))
        jobs: list[dict[str, Any]] = []  # one per span
        per_pair = []
        for ui, ((st, cspans), (tt, toffs), sp, tp) in enumerate(views):
            starts: dict[int, int] = {}
            ends: dict[int, int] = {}
            for k, (s, e) in enumerate(toffs):
                i = _piece_boundary(s, tt, tp.offsets)
                j = _piece_boundary(e, tt, tp.offsets)
                if i >= 0:
                    starts.setdefault(i, k)
                if j >= 0:
                    ends[j] = k + 1
            per_pair.append({"src": st, "src_pieces": sp, "cspans": cspans, "starts": starts,
                             "ends": ends, "tgt": tp.pieces, "reasons": {}, "best": {}})
            for si, (s, e, lab) in enumerate(cspans):
                mk = self._markers_for(st, lab)
                if mk is None:
                    per_pair[ui]["reasons"][si] = "the source contains characters of every marker set"
                    continue
                if not starts or not ends or not tp.pieces:
                    per_pair[ui]["reasons"][si] = "the target has no token boundary at a piece boundary"
                    continue
                ms = MarkerSet(*mk)
                jobs.append({"pair": ui, "span": si, "marked": insert_markers(st, [(s, e, lab)], ms),
                             "open": mk[0], "close": mk[1]})
        if self.typed and self.check_vocab and jobs:
            bad = sc.unknown(sorted({j[k] for j in jobs for k in ("open", "close")}))
            if bad:
                raise VocabularyError(f"constrained.v1: typed markers {bad} are not in the model's vocabulary")
        if jobs:
            self._search([u[1] for u in units], per_pair, jobs)
        for (pi, _, ids, t0), pp in zip(units, per_pair, strict=True):  # back to the whole pair's indices
            m = merged[pi]
            m["reasons"].update({ids[si]: r for si, r in pp["reasons"].items()})
            m["best"].update({ids[si]: (a + t0, b + t0, c) for si, (a, b, c) in pp["best"].items()})
        return [self._finish(p, m) for p, m in zip(pairs, merged, strict=True)]

    def _parts(self, p: Pair, limit: int, reasons: dict[int, str], sp: list[str],
               tp: Any) -> list[tuple[Pair, list[int], int, tuple]]:
        """Parts of a pair past the positions: ``(sub-pair, ids of its spans, its first target
        token, (source pieces, target Pieces))``, each fitting the positions; cut at sentence ends
        where possible, never inside a span. The spans of a part that cannot fit (one span or token
        too long) get a reason in ``reasons`` instead. ``sp`` / ``tp``: the whole pair's pieces."""
        sc = self.scorer
        whole = (0, len(p.src_tokens), 0, len(p.tgt_tokens))
        seen: dict[tuple[int, int, int, int], tuple[Pair, list[int], list[str], Any]] = {
            whole: (p, list(range(len(p.spans))), sp, tp)}

        def measure(piece: tuple[int, int, int, int]) -> tuple[Pair, list[int], list[str], Any]:
            if piece not in seen:
                sub, ids = sub_pair(p, piece)
                seen[piece] = (sub, ids, sc.tokenize_source([source_view(sub)[0]])[0],
                               sc.tokenize_target([target_view(sub)[0]])[0])
            return seen[piece]

        def fits(*piece: int) -> bool:
            _, _, src_p, tgt_p = measure(piece)
            return not _too_long(len(src_p), len(tgt_p.pieces), limit)

        per_token = max(len(sp) / max(1, len(p.src_tokens)), len(tp.pieces) / max(1, len(p.tgt_tokens)))
        max_len = max(1, int((limit - _MARKER_ROOM - 1) / max(per_token, 1e-9)))  # a first guess; fits decides
        out = []
        for piece in cut_pair(p.src_tokens, p.tgt_tokens, max_len, keep=[(s, e) for s, e, _ in p.spans], fits=fits):
            sub, ids, src_p, tgt_p = measure(piece)
            if fits(*piece):
                out.append((sub, ids, piece[2], (src_p, tgt_p)))
                continue
            for i in ids:
                reasons[i] = (f"the span's part of the pair is longer than the model's {limit} positions "
                              "(the span or one token is too long to cut to fit; align.* project it)")
        return out

    def _search(self, pairs, per_pair, jobs) -> None:
        sc = self.scorer
        used = sorted({j["pair"] for j in jobs})  # pairs with a span to search (not too long, ...)
        src_plain = [per_pair[i]["src_pieces"] for i in used]
        src_marked = sc.tokenize_source([j["marked"] for j in jobs])
        mk_pieces = {}
        for s in {j[k] for j in jobs for k in ("open", "close")}:
            mk_pieces[s] = sc.tokenize_target([s])[0].pieces
        # 1. candidates from log-prob drops
        lp_plain = dict(zip(used, sc.score(src_plain, [per_pair[i]["tgt"] for i in used]), strict=True))
        lp_marked = sc.score(src_marked, [per_pair[j["pair"]]["tgt"] for j in jobs])
        self.stats["candidate_scored"] += len(used) + len(jobs)
        plans = []
        for j, lpm in zip(jobs, lp_marked, strict=False):
            pp = per_pair[j["pair"]]
            lpc = lp_plain[j["pair"]]
            bounds = sorted(set(pp["starts"]) | set(pp["ends"]))
            drop = {i: lpm[i] - lpc[i] for i in bounds}
            ranked = sorted(bounds, key=lambda i: (drop[i], i))
            if self.exhaustive or len(bounds) <= self.max_candidates:
                cands = set(bounds)
            else:
                cands = set(ranked[: self.max_candidates])
                for i in ranked[self.max_candidates:]:  # make sure at least one pair exists
                    if any(a < b for a in cands & pp["starts"].keys() for b in cands & pp["ends"].keys()):
                        break
                    cands.add(i)
            # the onset of a drop: where the log-prob falls against the boundary before. A model
            # that copies by position (and real ones at times) is off for every piece after the
            # open marker, so the drops are flat from the start on and the largest says little
            plans.append((ranked, cands, onsets(bounds, drop)))
        ends_of = self._probe_ends(jobs, src_marked, per_pair, mk_pieces, plans)
        searches = []
        for k, (j, srcm, lpm) in enumerate(zip(jobs, src_marked, lp_marked, strict=False)):
            pp = per_pair[j["pair"]]
            ranked, cands, _onset = plans[k]
            probed = ends_of.get(k, {})
            cands = cands | set(probed) | {b for bs in probed.values() for b in bs}
            starts = sorted(cands & pp["starts"].keys())
            ends = sorted(cands & pp["ends"].keys())
            prefix0 = [0.0]
            for x in lpm[:-1]:
                prefix0.append(prefix0[-1] + x)
            first = [(a, bs[0]) for a, bs in probed.items() if bs]
            first += [(a, b) for a in ranked[:2] for b in ranked[:2] if a < b and a in pp["starts"] and b in pp["ends"]]
            o, c = mk_pieces[j["open"]], mk_pieces[j["close"]]
            bb = BranchAndBound(starts, ends, prefix0, len(o), self.batch_size, self.top_n, first)
            searches.append((j, srcm, o, c, bb))
        # 2. all searches advance together; their sequences share scoring calls
        while True:
            reqs = []
            for j, srcm, o, c, bb in searches:
                for a, b in bb.next_batch():
                    reqs.append((bb, (a, b), srcm, marked_sequence(per_pair[j["pair"]]["tgt"], a, b, o, c)))
            if not reqs:
                break
            lps = sc.score([r[2] for r in reqs], [r[3] for r in reqs])
            by: dict[int, tuple[Any, list, list]] = {}
            for (bb, pair, _, _), lp in zip(reqs, lps, strict=False):
                by.setdefault(id(bb), (bb, [], []))
                by[id(bb)][1].append(pair)
                by[id(bb)][2].append(lp)
            for bb, ps, ls in by.values():
                bb.update(ps, ls)
        # 3. results (optionally re-ranked)
        for j, _srcm, o, c, bb in searches:
            pp = per_pair[j["pair"]]
            self.stats["spans"] += 1
            self.stats["scored"] += bb.scored
            self.stats["brute"] += bb.brute
            if not bb.top:
                pp["reasons"][j["span"]] = "no candidate marker positions in the target"
                continue
            top = bb.top
            if self.reranker is not None and len(top) > 1:
                s, e, _ = pp["cspans"][j["span"]]
                texts = [self._span_text(pairs[j["pair"]], pp, a, b) for _, (a, b) in top]
                extra = self.reranker(pp["src"][s:e], texts)
                top = sorted(((t[0] + self.rerank_weight * x, t[1]) for t, x in zip(top, extra, strict=False)),
                             key=lambda t: (-t[0], t[1]))
            fwd = {p: s for s, p in bb.top}
            a, b = top[0][1]
            n = len(pp["tgt"]) + len(o) + len(c) + 1
            conf = math.exp(fwd[(a, b)] / n)  # exp(mean log-prob per piece) of the chosen sequence
            pp["best"][j["span"]] = (pp["starts"][a], pp["ends"][b], conf)

    def _probe_ends(self, jobs, src_marked, per_pair, mk_pieces, plans) -> dict[int, dict[int, list[int]]]:
        """End candidates seen from a start: for each job's ``end_probes`` best starts ``a``, the
        translation with only the open marker at ``a`` is scored, and the ends ``b`` where the
        next piece scores lowest (the model wanted the close marker there) are candidates, best
        first. The drops of the unmarked translation show where the open marker goes; after it
        every piece is off by the marker, so they say little about the end (flat, or nothing
        where a word repeats: "the the the")."""
        if not self.end_probes or self.exhaustive:
            return {}
        reqs = []
        for k, (j, (ranked, _cands, onset)) in enumerate(zip(jobs, plans, strict=True)):
            pp = per_pair[j["pair"]]
            by_drop = [i for i in ranked if i in pp["starts"]]
            by_onset = [i for i in onset if i in pp["starts"]]
            # the best starts by onset and by drop, alternately
            probe = list(dict.fromkeys(x for two in zip(by_onset, by_drop, strict=False) for x in two))[: self.end_probes]
            for a in probe:
                reqs.append((k, a, [*pp["tgt"][:a], *mk_pieces[j["open"]], *pp["tgt"][a:]]))
        if not reqs:
            return {}
        lps = self.scorer.score([src_marked[k] for k, _, _ in reqs], [seq for _, _, seq in reqs])
        self.stats["candidate_scored"] += len(reqs)
        out: dict[int, dict[int, list[int]]] = {}
        for (k, a, _), lp in zip(reqs, lps, strict=True):
            pp = per_pair[jobs[k]["pair"]]
            n_open = len(mk_pieces[jobs[k]["open"]])
            ends = sorted(b for b in pp["ends"] if b > a)
            # lp[b + n_open]: the clean piece b (or </s>) right after clean[:a] + open + clean[a:b];
            # the ends where it is lowest, and where it falls most against the end before (the
            # onset: past the end every piece may be off, as after the open marker), alternately
            at = {b: lp[b + n_open] for b in ends}
            lowest = sorted(ends, key=lambda b: (at[b], b))
            onset = onsets(ends, at)
            best = list(dict.fromkeys(x for two in zip(onset, lowest, strict=False) for x in two))
            out.setdefault(k, {})[a] = best[:_END_CANDIDATES]
        return out

    @staticmethod
    def _span_text(p: Pair, pp: dict, a: int, b: int) -> str:
        return " ".join(p.tgt_tokens[pp["starts"][a]:pp["ends"][b]])

    def _finish(self, p: Pair, pp: dict) -> Projection:
        cspans = pp["cspans"]
        out: list[ProjectedSpan | None] = [None] * len(cspans)
        reasons = pp["reasons"]
        taken: list[tuple[int, int, int]] = []
        for si, (ts, te, conf) in sorted(pp["best"].items(), key=lambda t: -t[1][2]):
            if conf < self.min_score:
                reasons[si] = f"confidence {conf:.3f} below min_score {self.min_score}"
                continue
            clash = next((k for a, b, k in taken if a < te and ts < b), None)
            if clash is not None:
                reasons[si] = f"best marker positions overlap the projection of span {clash}"
                continue
            taken.append((ts, te, si))
            out[si] = ProjectedSpan(si, cspans[si][2], "projected", ts, te, conf)
        missing = [i for i in range(len(cspans)) if out[i] is None]
        if missing and self.fallback is not None:
            sub = Pair(list(p.src_tokens), list(p.tgt_tokens), [p.spans[i] for i in missing],
                       p.src_text, p.tgt_text, p.src_offsets, p.tgt_offsets)
            for ps in self.fallback.project([sub])[0].spans:
                i = missing[ps.source]
                why = reasons.get(i, "not placed")
                if ps.outcome != "dropped" and not any(a < ps.token_end and ps.token_start < b
                                                       for a, b, _ in taken):
                    taken.append((ps.token_start, ps.token_end, i))
                    out[i] = ProjectedSpan(i, cspans[i][2], "fallback", ps.token_start, ps.token_end,
                                           ps.score, f"{why}; projected by {self.fallback.name}")
                else:
                    reasons[i] = f"{why}; fallback {self.fallback.name} did not place it either"
        for i in range(len(cspans)):
            if out[i] is None:
                out[i] = ProjectedSpan(i, cspans[i][2], "dropped", reason=reasons.get(i, "not placed"))
        return Projection([s for s in out if s is not None])
