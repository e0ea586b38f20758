"""Alignment-based label projection: align source and target words, then map spans through links.

Two registered projectors share :class:`AlignProjector`:

* ``align.eflomal.v1`` (the offline default): eflomal, a statistical aligner needing no
  pretrained model; aligns the whole batch (plus optional extra parallel text) at once.
* ``align.simalign.v1``: SimAlign-style alignment from a multilingual encoder's embeddings
  (a Hub id or a local directory), see :mod:`projectors.simalign`.

Spans are built from links by :func:`projectors.spans.project_spans`. Tokens of scripts written
without spaces (Chinese, Japanese, Thai) are split into characters for aligning and mapped back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from projectors.base import Pair, ProjectedSpan, Projection, Projector, named, options_of
from projectors.spans import SpanOptions, project_spans, split_unspaced
from projectors.word_alignment import Aligner, Links

__all__ = ["AlignProjector", "EflomalProjector", "SimAlignProjector", "align_pairs"]


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
    out: list[Links] = []
    for (_s_tok, s_own), (_t_tok, t_own), links in zip(s_split, t_split, raw, strict=True):
        mapped: Links = {}
        for (i, j), sc in links.items():
            if 0 <= i < len(s_own) and 0 <= j < len(t_own):
                key = (s_own[i], t_own[j])
                mapped[key] = max(mapped.get(key, 0.0), sc)
        out.append(mapped)
    return out


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

    def _project_batch(self, pairs: list[Pair]) -> list[Projection]:
        if not pairs:
            return []
        links = align_pairs(self.aligner, pairs, self.extra)
        self.last_links = links
        out = []
        for p, lk in zip(pairs, links, strict=True):
            res = project_spans(p.src_tokens, p.tgt_tokens, p.spans, lk, self.span_options)
            out.append(Projection(spans=[
                ProjectedSpan(r.source, r.label, r.outcome, r.start, r.end, r.score, r.reason)
                for r in res
            ]))
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
