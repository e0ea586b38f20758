"""Alignment-based label projection: align source and target words, then map spans through links.

Two registered projectors share :class:`AlignProjector`:

* ``align.eflomal.v2`` (the offline default): eflomal, a statistical aligner needing no
  pretrained model; aligns the whole batch (plus optional extra parallel text) at once, four
  one-sampler runs voted, long pairs cut into pieces, transliterated names as lexical evidence.
* ``align.eflomal.v1``: the previous default (ten runs voted), kept reproducible.
* ``align.simalign.v1``: SimAlign-style alignment from a multilingual encoder's embeddings
  (a Hub id or a local directory), see :mod:`projectors.simalign`.

Spans are built from links by :func:`projectors.spans.project_spans`. Tokens of scripts written
without spaces (Chinese, Japanese, Thai) are split into characters for aligning and mapped back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from projectors.base import Pair, ProjectedSpan, Projection, Projector, named, options_of
from projectors.eflomal_aligner import EflomalOptions
from projectors.spans import SpanOptions, project_spans, split_unspaced
from projectors.word_alignment import Aligner, Links

__all__ = ["AlignProjector", "EflomalProjector", "EflomalProjectorV2", "SimAlignProjector", "align_pairs"]


def _split_pair(tokens: Sequence[str]) -> tuple[list[str], list[int]]:
    toks = ["" if t is None else str(t) for t in tokens]
    return split_unspaced(toks)


def align_pairs(aligner: Aligner, pairs: Sequence[Pair],
                extra: Sequence[tuple[Sequence[str], Sequence[str]]] = ()) -> list[Links]:
    """Links between the original tokens of every pair (CJK/Thai characters aligned separately and
    mapped back; a link's score is the best of its character links)."""
    s_split = [_split_pair(p.src_tokens) for p in pairs]
    t_split = [_split_pair(p.tgt_tokens) for p in pairs]
    extra_split = [(_split_pair(a)[0], _split_pair(b)[0]) for a, b in extra]
    raw = aligner.align([s for s, _ in s_split], [t for t, _ in t_split], extra_split)
    return [_map_back(links, s_own, t_own)
            for (_s, s_own), (_t, t_own), links in zip(s_split, t_split, raw, strict=True)]


def _map_back(links: Links, s_own: list[int], t_own: list[int], s_off: int = 0, t_off: int = 0,
              into: Links | None = None) -> Links:
    mapped: Links = {} if into is None else into
    for (i, j), sc in links.items():
        if 0 <= i < len(s_own) and 0 <= j < len(t_own):
            key = (s_off + s_own[i], t_off + t_own[j])
            mapped[key] = max(mapped.get(key, 0.0), sc)
    return mapped


def stream_links(aligner: Any, pairs: Sequence[Pair], max_len: int = 0,
                 extra: Sequence[tuple[Sequence[str], Sequence[str]]] = ()) -> Iterator[Links]:
    """Links between the original tokens of every pair, one pair at a time, from an aligner with
    ``iter_align`` (:class:`projectors.eflomal_aligner.EflomalAligner`). Pairs longer than
    ``max_len`` tokens on a side are aligned as pieces (:func:`projectors.pieces.cut_pair`), each
    piece a sentence of the aligner's batch, and their links shifted back."""
    from projectors.pieces import cut_pair

    plans = [cut_pair(p.src_tokens, p.tgt_tokens, max_len) for p in pairs]

    def pieces() -> Iterator[tuple[list[str], list[str]]]:
        for p, plan in zip(pairs, plans, strict=True):
            for s0, s1, t0, t1 in plan:
                yield _split_pair(p.src_tokens[s0:s1])[0], _split_pair(p.tgt_tokens[t0:t1])[0]

    extra_split = [(_split_pair(a)[0], _split_pair(b)[0]) for a, b in extra]
    raw = aligner.iter_align(pieces(), extra_split)
    for p, plan in zip(pairs, plans, strict=True):
        mapped: Links = {}
        for s0, s1, t0, t1 in plan:
            s_own = _split_pair(p.src_tokens[s0:s1])[1]
            t_own = _split_pair(p.tgt_tokens[t0:t1])[1]
            _map_back(next(raw), s_own, t_own, s0, t0, mapped)
        yield mapped


class AlignProjector(Projector):
    """Projects spans through word alignments made by an :class:`Aligner`.

    Args:
        aligner: the word aligner.
        spans: how spans are built from links (:class:`SpanOptions`).
        extra: unlabelled parallel text ``[(src_tokens, tgt_tokens), ...]`` aligned together with
            every batch for better statistics (statistical aligners only).
    """

    def __init__(self, aligner: Aligner, spans: SpanOptions | None = None,
                 extra: Sequence[tuple[Sequence[str], Sequence[str]]] = ()):
        self.aligner = aligner
        self.span_options = spans or SpanOptions()
        self.extra = list(extra)
        self.last_links: list[Links] = []

    def signature(self) -> dict[str, Any]:
        sig: dict[str, Any] = {"projector": self.name}
        sig.update(self.aligner.signature())
        sig.update({f"span_{k}": v for k, v in asdict(self.span_options).items()})
        if self.extra:
            sig["extra_pairs"] = len(self.extra)
        return sig

    #: keep every pair's links in ``last_links`` (off for the streaming projectors: memory)
    keep_links: bool = True
    #: pieces of at most this many tokens a side for long pairs (0 = whole pairs; streaming only)
    max_len: int = 0

    def _project_batch(self, pairs: list[Pair]) -> list[Projection]:
        if not pairs:
            return []
        if hasattr(self.aligner, "iter_align"):
            links: Any = stream_links(self.aligner, pairs, self.max_len, self.extra)
        else:
            links = align_pairs(self.aligner, pairs, self.extra)
        kept: list[Links] = []
        out = []
        for p, lk in zip(pairs, links, strict=True):
            if self.keep_links:
                kept.append(lk)
            res = project_spans(p.src_tokens, p.tgt_tokens, p.spans, lk, self.span_options)
            out.append(Projection(spans=[
                ProjectedSpan(r.source, r.label, r.outcome, r.start, r.end, r.score, r.reason)
                for r in res
            ]))
        self.last_links = kept
        return out


@named("align.eflomal.v1")
class EflomalProjector(AlignProjector):
    """eflomal links (several runs combined), spans from links with lexical evidence and repair.

    Keyword options go to :class:`projectors.eflomal_aligner.EflomalOptions` (``n_runs``,
    ``symmetrisation``, ...) or, prefixed ``span_``, to :class:`SpanOptions` (``span_gap``...).
    """

    def __init__(self, extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (), **options: Any):
        from projectors.eflomal_aligner import EflomalAligner, EflomalOptions

        al, sp = options_of((EflomalOptions, ""), (SpanOptions, "span_"), values=options,
                            projector=self.name)
        super().__init__(EflomalAligner(al), sp, extra)


@named("align.simalign.v1")
class SimAlignProjector(AlignProjector):
    """SimAlign links from a multilingual encoder (``model``: Hub id or local directory).

    Keyword options go to :class:`projectors.simalign.SimAlignOptions` (``model``, ``method``,
    ``layer``, ``batch_size``, ``device``...) or, prefixed ``span_``, to :class:`SpanOptions`.
    """

    def __init__(self, **options: Any):
        from projectors.simalign import SimAligner, SimAlignOptions

        # a SimAlign link is either sure (itermax/argmax/match) or absent
        al, sp = options_of((SimAlignOptions, ""), (SpanOptions, "span_"), values=options,
                            projector=self.name)
        super().__init__(SimAligner(al), sp)


@dataclass
class EflomalOptionsV2(EflomalOptions):
    """:class:`EflomalOptions` with the defaults of ``align.eflomal.v2``, plus ``max_len``: pairs with
    more tokens on a side are aligned in pieces (0 = never cut)."""

    n_runs: int = 4
    n_samplers: int = 1
    max_len: int = 80


@dataclass
class SpanOptionsV2(SpanOptions):
    """:class:`SpanOptions` with the defaults of ``align.eflomal.v2``."""

    translit: bool = True
    cjk_edges: bool = True
    trim_function: bool = True


@named("align.eflomal.v2")
class EflomalProjectorV2(AlignProjector):
    """The offline default: eflomal, four runs (two on whole words, two on 5-letter stems) of one
    sampler each, as many at a time as there are cores, their links voted (at least 2 of 4) and streamed
    pair by pair (memory does not grow with the runs); pairs over ``max_len`` tokens a side (80)
    aligned in pieces cut at sentence ends; spans with lexical evidence including transliterated
    names (``span_translit``: "Обама" ~ "Obama", needs ``anyascii``).

    Keyword options as for ``align.eflomal.v1`` plus ``max_len``.
    """

    keep_links = False

    def __init__(self, extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (), **options: Any):
        from dataclasses import fields

        from projectors.eflomal_aligner import EflomalAligner

        al, sp = options_of((EflomalOptionsV2, ""), (SpanOptionsV2, "span_"), values=options,
                            projector=self.name)
        self.max_len = al.max_len
        base = EflomalOptions(**{f.name: getattr(al, f.name) for f in fields(EflomalOptions)})
        super().__init__(EflomalAligner(base), sp, extra)

    def signature(self) -> dict[str, Any]:
        sig = super().signature()
        sig["max_len"] = self.max_len
        return sig
