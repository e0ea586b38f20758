"""Corpus reports: what a version holds, what projection and filtering did, and how two versions
differ. Numbers come from :mod:`workbench.report_sql`; :func:`render_terminal` makes rich
renderables (the CLI prints them) and :func:`workbench.report_html.render_html` a self-contained
HTML page with inline SVG plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import report_sql as q
from workbench.diff import VersionDiff
from workbench.store import Store, Version

__all__ = ["VersionReport", "Report", "build_report", "render_terminal", "write_html"]

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
        histograms: name -> histogram dict (see :func:`workbench.report_sql.histogram`).
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


def _version_report(store: Store, v: Version, bins: int) -> VersionReport:
    from workbench.filter import source_version

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
    return r


def build_report(ref: str | Version, ref2: str | Version | None = None, *, store: Store | None = None,
                 bins: int = 20) -> Report:
    """Collect the figures of ``ref`` (and of ``ref2`` with the differences between them)."""
    store = store or Store()
    va = store.resolve(ref)
    rep = Report(_version_report(store, va, bins))
    if ref2 is not None:
        from workbench.diff import diff

        vb = store.resolve(ref2)
        rep.b = _version_report(store, vb, bins)
        rep.diff = diff(va, vb, store=store)
    return rep


def _fmt_delta(a: int, b: int) -> str:
    d = b - a
    return f"{b} ({'+' if d >= 0 else ''}{d})"


def render_terminal(rep: Report) -> list[Any]:
    """Rich renderables summarising the report (the CLI prints them)."""
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = []
    for r in (rep.a, rep.b):
        if r is None:
            continue
        head = Text.assemble((r.ref, "bold"), f"  stage={r.stage} lang={r.lang or '-'} "
                             f"examples={r.n_examples} spans={r.n_spans}")
        if r.source_ref:
            head.append(f"  source={r.source_ref}")
        out.append(head)
        if r.filtered:
            n_in, kept, rej = r.filtered
            out.append(Text(f"filter: {n_in} in, {kept} kept, {rej} rejected"))
        t = Table(title=f"spans per label ({r.ref})", title_justify="left")
        for col in ("label", "source spans", "target spans", "source examples", "target examples"):
            t.add_column(col, justify="left" if col == "label" else "right")
        for label, c in r.labels.items():
            t.add_row(label, str(c["src_spans"]), str(c["spans"]), str(c["src_examples"]),
                      str(c["examples"]))
        out.append(t)
        if r.outcomes:
            t = Table(title="projection outcomes", title_justify="left")
            for col in ("label", "projector", "outcome", "count"):
                t.add_column(col, justify="right" if col == "count" else "left")
            for row in r.outcomes:
                t.add_row(*(str(x) for x in row))
            out.append(t)
        if r.rejections:
            t = Table(title="filter rejections", title_justify="left")
            for col in ("filter", "reason", "examples"):
                t.add_column(col, justify="right" if col == "examples" else "left")
            for row in r.rejections:
                t.add_row(*(str(x) for x in row))
            out.append(t)
        if r.histograms:
            t = Table(title="distributions", title_justify="left")
            for col in ("value", "n", "min", "mean", "max"):
                t.add_column(col, justify="left" if col == "value" else "right")
            for h in r.histograms.values():
                t.add_row(h["title"], str(h["n"]), f"{h['min']:.3g}", f"{h['mean']:.3g}", f"{h['max']:.3g}")
            out.append(t)
    if rep.b is not None and rep.diff is not None:
        a, b, d = rep.a, rep.b, rep.diff
        out.append(Text.assemble(("differences ", "bold"), f"{a.ref} -> {b.ref}: examples "
                                 f"{_fmt_delta(a.n_examples, b.n_examples)}, spans "
                                 f"{_fmt_delta(a.n_spans, b.n_spans)}; {len(d.examples_added)} added, "
                                 f"{len(d.examples_removed)} removed, {len(d.examples_changed)} changed"))
        t = Table(title="spans per label", title_justify="left")
        for col in ("label", a.ref, b.ref, "change"):
            t.add_column(col, justify="left" if col == "label" else "right")
        for label in sorted(set(a.labels) | set(b.labels)):
            x = a.labels.get(label, {}).get("spans", 0)
            y = b.labels.get(label, {}).get("spans", 0)
            t.add_row(label, str(x), str(y), f"{y - x:+d}")
        out.append(t)
    return out


def write_html(rep: Report, path: str | Path) -> Path:
    """Write the report as one self-contained HTML file (no external assets)."""
    from workbench.report_html import render_html

    p = Path(path)
    p.write_text(render_html(rep), encoding="utf-8")
    return p
