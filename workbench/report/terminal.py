"""The report in the terminal: rich renderables that the CLI prints."""

from __future__ import annotations

from typing import Any

from workbench.report.build import Report

__all__ = ["render_terminal"]


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
