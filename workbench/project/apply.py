"""Pairs in, projected examples out: what every form of the project stage does with a projector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import ModelError
from workbench.core.records import Example, Span, SpanOutcome
from workbench.store.store import Version

__all__ = ["ProjectReport", "apply_projection", "projections", "run_projector"]

#: translate-stage meta describing the translation that ``markers.v1`` replaces
_CLEAN_META = ("mt_score", "mt_avg_logprob", "mt_token_logprobs", "mt_split")


@dataclass
class ProjectReport:
    """Counts of a projection run: outcomes per kind, and per reason for dropped spans."""

    examples: int = 0
    spans: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    version: Version | None = None

    def add(self, outcome: str, reason: str) -> None:
        self.spans += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome != "projected" and reason:
            key = reason.split(" of source span")[0]
            self.reasons[key] = self.reasons.get(key, 0) + 1


def projections(projector: Any, srcs: Sequence[Example], tgts: Sequence[Example]) -> list[Any]:
    """Run ``projector`` on (source, target) example pairs; install and vocabulary problems
    become :class:`ModelError` with a fix."""
    from projectors.base import Pair

    pairs = [
        Pair(
            src_tokens=s.tokens, tgt_tokens=t.tokens,
            spans=[(sp.token_start, sp.token_end, sp.label) for sp in s.spans],
            src_text=s.text, tgt_text=t.text, src_offsets=list(s.offsets), tgt_offsets=list(t.offsets),
        )
        for s, t in zip(srcs, tgts, strict=True)
    ]
    return run_projector(projector, pairs)


def run_projector(projector: Any, pairs: Sequence[Any]) -> list[Any]:
    """``projector.project(pairs)``; a missing aligner or model (not installed, not downloadable
    offline) and markers the model cannot write become :class:`ModelError` with a fix."""
    from projectors.mtbase import VocabularyError

    try:
        return projector.project(list(pairs))
    except (OSError, ImportError) as exc:
        raise ModelError(f"{projector.name}: {exc}", fix="install the aligner (pip install 'workbench[align]') "
                         "or give a local model directory (offline, a Hub id needs the model in the cache)") from None
    except VocabularyError as exc:  # e.g. typed markers <LABEL> the model cannot write
        raise ModelError(str(exc), fix="use markers the model knows (typed=false), or another "
                         "projector") from None


def apply_projection(tgt: Example, src: Example, proj: Any, name: str, report: ProjectReport) -> Example:
    """The target example with the projected spans and one outcome per source span (counted in
    ``report``); ``markers.v1``'s own translation replaces the target text."""
    text, offsets = tgt.text, list(tgt.offsets)
    replaced = proj.tgt_text is not None and proj.tgt_offsets is not None
    if replaced:
        text, offsets = proj.tgt_text, list(proj.tgt_offsets)
    spans, outcomes = [], []
    for ps in sorted(proj.spans, key=lambda p: p.source):
        outcome, reason = ps.outcome, ps.reason
        if outcome in ("projected", "fallback") and not (0 <= ps.token_start < ps.token_end <= len(offsets)):
            outcome, reason = "dropped", f"projector returned tokens {ps.token_start}-{ps.token_end} out of range"
        if outcome in ("projected", "fallback"):
            spans.append(Span(offsets[ps.token_start][0], offsets[ps.token_end - 1][1], ps.label,
                              ps.token_start, ps.token_end, float(ps.score), ps.source))
        outcomes.append(SpanOutcome(ps.source, ps.label, outcome, reason, name,
                                    float(ps.score) if outcome != "dropped" else None))
        report.add(outcome, reason)
    # projected spans never overlap (projectors resolve overlaps); keep the stronger one if they do
    spans.sort(key=lambda s: (-(s.score or 0.0), s.start))
    kept: list[Span] = []
    for sp in spans:
        if all(sp.end <= k.start or sp.start >= k.end for k in kept):
            kept.append(sp)
    meta = dict(tgt.meta)
    meta.setdefault("src_text", src.text)
    if replaced:  # markers.v1: its own translation replaces the translate stage's (even when equal)
        meta["mt_text_replaced_by"] = name
        meta["mt_text_clean"] = tgt.text
        for k in _CLEAN_META:
            if k in meta:
                meta[f"{k}_clean"] = meta.pop(k)
    return Example(id=tgt.id, text=text, offsets=offsets, spans=sorted(kept, key=lambda s: s.start),
                   lang=tgt.lang, split=tgt.split, meta=meta, outcomes=outcomes)
