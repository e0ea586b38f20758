"""Filters on projected spans: completeness, confidence, plausible length."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from workbench.core.errors import ConfigError
from workbench.filter.base import (
    Decision,
    Filter,
    FilterContext,
    Item,
    named,
)

# -- projection filters ------------------------------------------------------------------------


def _needs_projection(name: str, ctx: FilterContext) -> None:
    if not any(v.stage == "project" for v in ctx.lineage):
        raise ConfigError(f"{name} needs a projected version; {ctx.version.ref} has no 'project' "
                          "stage in its lineage", fix="run `workbench project` first, then filter")


@named("projection-complete.v1")
@dataclass
class ProjectionComplete(Filter):
    """Every source span was projected and the target has the same multiset of labels.

    Attributes:
        allow_fallback: count spans projected by a fallback method as projected.
        max_dropped: number of dropped source spans tolerated.
        same_labels: also require the target labels to equal the source labels (as a multiset).
    """

    allow_fallback: bool = True
    max_dropped: int = 0
    same_labels: bool = True

    def prepare(self, ctx: FilterContext) -> None:
        _needs_projection(self.name, ctx)

    def decide_one(self, item: Item) -> Decision:
        ex = item.example
        src_labels = ([s.label for s in item.source.spans] if item.source is not None
                      else [o.label for o in ex.outcomes])
        n_src = len(src_labels)
        ok_kinds = ("projected", "fallback") if self.allow_fallback else ("projected",)
        done = sum(1 for o in ex.outcomes if o.outcome in ok_kinds)
        missing = n_src - done
        frac = done / n_src if n_src else 1.0
        if missing > self.max_dropped:
            why = Counter(o.reason or o.outcome for o in ex.outcomes if o.outcome not in ok_kinds)
            text = "; ".join(f"{r} x{c}" for r, c in why.most_common(3)) or "no outcomes"
            return Decision(False, "spans-lost", f"{missing} of {n_src} source spans not projected "
                            f"({text})", frac)
        if self.same_labels and Counter(src_labels) != Counter(s.label for s in ex.spans):
            diff = (Counter(src_labels) - Counter(s.label for s in ex.spans)) + \
                   (Counter(s.label for s in ex.spans) - Counter(src_labels))
            return Decision(False, "label-mismatch",
                            f"labels differ from the source: {dict(diff)}", frac)
        return Decision(True, "ok", f"{done} of {n_src} source spans projected", frac)


@named("span-confidence.v1")
@dataclass
class SpanConfidence(Filter):
    """Every projected span has at least a minimum confidence (spans without a score pass).

    Attributes:
        min_score: lowest accepted span ``score`` (projectors score in 0..1).
    """

    min_score: float = 0.5

    def prepare(self, ctx: FilterContext) -> None:
        _needs_projection(self.name, ctx)

    def decide_one(self, item: Item) -> Decision:
        scores = [s.score for s in item.example.spans if s.score is not None]
        if not scores:
            return Decision(True, "no-scores", "no scored spans")
        low = min(scores)
        if low < self.min_score:
            n = sum(1 for s in scores if s < self.min_score)
            return Decision(False, "low-confidence", f"{n} span(s) below {self.min_score} "
                            f"(lowest {low:.2f})", low)
        return Decision(True, "ok", f"lowest span score {low:.2f}", low)


@named("span-length.v1")
@dataclass
class SpanLength(Filter):
    """Each projected span's length in tokens is plausible against its source span.

    A target span of ``t`` tokens from a source span of ``s`` tokens passes when
    ``s / max_ratio - slack <= t <= s * max_ratio + slack``.

    Attributes:
        max_ratio: largest accepted length factor either way.
        slack: tokens allowed beyond the factor (short names may gain words: "EU" -> "Europäische Union").
    """

    max_ratio: float = 2.5
    slack: int = 2

    def prepare(self, ctx: FilterContext) -> None:
        _needs_projection(self.name, ctx)

    def decide_one(self, item: Item) -> Decision:
        if item.source is None:
            return Decision(True, "no-source", "no source example")
        worst, bad = 1.0, []
        for sp in item.example.spans:
            if sp.source is None or not 0 <= sp.source < len(item.source.spans):
                continue
            src = item.source.spans[sp.source]
            s, t = src.token_end - src.token_start, sp.token_end - sp.token_start
            if s <= 0 or t <= 0:
                continue
            worst = max(worst, t / s, s / t)
            if not (s / self.max_ratio - self.slack <= t <= s * self.max_ratio + self.slack):
                bad.append(f"{sp.label} {s}->{t} tokens")
        if bad:
            return Decision(False, "implausible-length", "; ".join(bad[:3]), worst)
        return Decision(True, "ok", f"worst length factor {worst:.2f}", worst)


