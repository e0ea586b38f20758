"""Corpus reports: what a version holds, what projection and filtering did, and how two versions
differ. Numbers come from :mod:`workbench.report.sql`; :func:`workbench.report.terminal.render_terminal` makes
rich renderables (the CLI prints them) and :func:`workbench.report.html.write_html` a self-contained
HTML page with inline SVG plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.report import sql as q
from workbench.report.diff import VersionDiff
from workbench.report.examples import ExampleView, pick_examples
from workbench.store.store import Store, Version

__all__ = ["VersionReport", "Report", "build_report"]

HISTOGRAMS = ("span_score", "mt_avg_logprob", "length_ratio")


@dataclass
class VersionReport:
    """The figures of one version.

    Attributes:
        labels: label -> {"src_spans", "src_examples", "spans", "examples"}; the source columns count
            the source version over the examples this version holds (0 without a source).
        outcomes: (label, projector, outcome, count) of the stored projection outcomes.
        filtered: (input, kept, rejected) examples when the version was made by the filter stage.
        rejections: (filter, reason, count) of rejecting decisions.
        histograms: name -> histogram dict (see :func:`workbench.report.sql.histogram`).
        examples: examples that teach what happened (:func:`workbench.report.examples.pick_examples`).
    """

    ref: str
    stage: str
    signature: str
    lang: str
    n_examples: int
    n_spans: int
    source_ref: str | None = None
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    outcomes: list[tuple[str, str, str, int]] = field(default_factory=list)
    filtered: tuple[int, int, int] | None = None
    rejections: list[tuple[str, str, int]] = field(default_factory=list)
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    examples: list[ExampleView] = field(default_factory=list)

    def outcome_totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, _, o, n in self.outcomes:
            out[o] = out.get(o, 0) + n
        return out


@dataclass
class Report:
    """A report of one version, or of two with their differences."""

    a: VersionReport
    b: VersionReport | None = None
    diff: VersionDiff | None = None


def _version_report(store: Store, v: Version, bins: int, examples: int = 20) -> VersionReport:
    from workbench.store.lineage import source_version

    src = source_version(store, v)
    r = VersionReport(v.ref, v.stage, v.signature, v.lang or "", 0, 0, src.ref if src else None)
    with store.connect() as con:
        r.n_examples, r.n_spans = q.version_counts(con, v.id)
        tgt = q.label_counts(con, v.id)
        srcc = q.source_label_counts(con, src.id, v.id) if src else {}
        for label in sorted(set(tgt) | set(srcc)):
            s, t = srcc.get(label, (0, 0)), tgt.get(label, (0, 0))
            r.labels[label] = {"src_spans": s[0], "src_examples": s[1], "spans": t[0], "examples": t[1]}
        r.outcomes = q.outcome_counts(con, v.id)
        if v.stage == "filter":
            r.filtered = q.filter_counts(con, v.id)
            r.rejections = q.rejection_counts(con, v.id)
        for name in HISTOGRAMS:
            h = q.histogram(con, name, v.id, src.id if src else None, bins=bins)
            if h is not None:
                r.histograms[name] = h
    r.examples = pick_examples(store, v, examples)
    return r


def build_report(ref: str | Version, ref2: str | Version | None = None, *, store: Store | None = None,
                 bins: int = 20, examples: int = 20) -> Report:
    """Collect the figures of ``ref`` (and of ``ref2`` with the differences between them), and
    up to ``examples`` examples of each."""
    store = store or Store()
    va = store.resolve(ref)
    rep = Report(_version_report(store, va, bins, examples))
    if ref2 is not None:
        from workbench.report.diff import diff

        vb = store.resolve(ref2)
        rep.b = _version_report(store, vb, bins, examples)
        rep.diff = diff(va, vb, store=store)
    return rep
