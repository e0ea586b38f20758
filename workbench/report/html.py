"""Self-contained HTML for a :class:`workbench.report.build.Report`: inline CSS and SVG charts drawn by
the small functions here; no scripts, fonts or images from anywhere else, so it opens offline."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.report.build import Report, VersionReport

__all__ = ["render_html", "write_html", "svg_bars", "svg_histogram"]

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"]
OUTCOME_COLORS = {"projected": "#54a24b", "fallback": "#eeca3b", "dropped": "#e45756"}
_NUM_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")
_CHAR_W = 6.6  # rough width of a 11px sans-serif character, for label margins

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;
     color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;
     padding-bottom:4px} h3{font-size:14px;margin:14px 0 6px}
.sig{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;color:#555;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}.card span{font-size:12px;color:#666}
.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.grid>div{flex:1 1 480px;min-width:0}
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left} th{background:#f5f5f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777;font-size:12px} svg{display:block;max-width:100%;height:auto}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.example{border:1px solid #e3e3e3;border-radius:6px;padding:8px 12px;margin:8px 0;font-size:14px;
     line-height:1.9;overflow-wrap:anywhere}
.ex-head{font-size:12px;line-height:1.4;margin-bottom:2px}
.ex-src,.ex-tgt{display:flex;gap:8px}.side{flex:0 0 58px;color:#888;font-size:11px;padding-top:3px}
mark{padding:1px 2px;border-radius:3px;color:inherit}
mark sup{font-size:9px;color:#555;margin-left:2px}
.kind{display:inline-block;border-radius:10px;padding:0 8px;font-size:11px;background:#eee}
.kind-dropped,.kind-rejected{background:#fde2e1}.kind-low-confidence{background:#fff1cc}
@media (max-width:600px){body{margin:12px auto;padding:0 8px}.ex-src,.ex-tgt{flex-direction:column;gap:0}.side{flex:none;padding:0}}
"""


def _num(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.3g}"


def _legend(names: Sequence[str], colors: Sequence[str], x: float, y: float) -> str:
    parts, cx = [], x
    for name, col in zip(names, colors, strict=True):
        parts.append(f'<rect x="{cx:.1f}" y="{y - 9}" width="10" height="10" fill="{col}"/>'
                     f'<text x="{cx + 14:.1f}" y="{y}" font-size="11">{escape(name)}</text>')
        cx += 24 + len(name) * _CHAR_W
    return "".join(parts)


def svg_bars(categories: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "",
             stacked: bool = False, colors: Sequence[str] | None = None, width: int = 520) -> str:
    """Horizontal bars: one row per category, one bar per series (side by side or stacked)."""
    names = list(series)
    colors = list(colors or PALETTE[: len(names)])
    if not categories:
        return '<p class="muted">nothing to plot</p>'
    left = min(10 + max(len(c) for c in categories) * _CHAR_W, width * 0.45)
    right = 46
    row_h = 22 if stacked or len(names) == 1 else 8 + 12 * len(names)
    top = 36 if len(names) > 1 else 22
    height = int(top + row_h * len(categories) + 8)
    if stacked:
        vmax = max((sum(series[n][i] for n in names) for i in range(len(categories))), default=0)
    else:
        vmax = max((max(series[n]) for n in names if len(series[n])), default=0)
    vmax = vmax or 1
    plot_w = width - left - right
    out = [f'<svg width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if title:
        out.append(f'<text x="0" y="13" font-size="12" font-weight="600">{escape(title)}</text>')
    if len(names) > 1:
        out.append(_legend(names, colors, left, 29))
    for i, cat in enumerate(categories):
        y0 = top + i * row_h
        fit = max(int((left - 10) / _CHAR_W), 4)
        shown = cat if len(cat) <= fit else cat[: fit - 1] + "…"
        out.append(f'<text x="{left - 6:.1f}" y="{y0 + row_h / 2 + 4:.1f}" font-size="11" '
                   f'text-anchor="end"><title>{escape(cat)}</title>{escape(shown)}</text>')
        if stacked:
            x = left
            for n, col in zip(names, colors, strict=True):
                w = series[n][i] / vmax * plot_w
                if w > 0:
                    out.append(f'<rect x="{x:.1f}" y="{y0 + 3}" width="{w:.1f}" height="{row_h - 6}" '
                               f'fill="{col}"><title>{escape(cat)} {escape(n)}: '
                               f'{_num(series[n][i])}</title></rect>')
                x += w
            total = sum(series[n][i] for n in names)
            out.append(f'<text x="{x + 4:.1f}" y="{y0 + row_h / 2 + 4:.1f}" font-size="10" '
                       f'fill="#444">{_num(total)}</text>')
        else:
            bh = (row_h - 6) / len(names)
            for k, (n, col) in enumerate(zip(names, colors, strict=True)):
                v = series[n][i]
                w = v / vmax * plot_w
                y = y0 + 3 + k * bh
                out.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{bh - 1:.1f}" '
                           f'fill="{col}"><title>{escape(cat)} {escape(n)}: {_num(v)}</title></rect>'
                           f'<text x="{left + max(w, 0) + 4:.1f}" y="{y + bh - 2:.1f}" font-size="10" '
                           f'fill="#444">{_num(v)}</text>')
    out.append(f'<line x1="{left:.1f}" y1="{top}" x2="{left:.1f}" y2="{height - 6}" stroke="#999"/>')
    out.append("</svg>")
    return "".join(out)


def svg_histogram(h: dict[str, Any], *, color: str = PALETTE[0], width: int = 520, height: int = 190,
                  title: str | None = None) -> str:
    """Vertical-bar histogram of a :func:`workbench.report.sql.histogram` dict."""
    counts, lo, hi = h["counts"], h["lo"], h["hi"]
    left, right, top, bottom = 40, 12, 24, 34
    pw, ph = width - left - right, height - top - bottom
    cmax = max(counts) or 1
    bw = pw / len(counts)
    title = title or h["title"]
    out = [f'<svg width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="0" y="13" font-size="12" font-weight="600">{escape(title)}</text>',
           f'<text x="{width - right}" y="13" font-size="11" text-anchor="end" fill="#555">'
           f'n={h["n"]}, mean={h["mean"]:.3g}</text>']
    for frac in (0, 0.5, 1):
        y = top + ph - frac * ph
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                   f'{_num(round(cmax * frac, 1))}</text>')
    step = (hi - lo) / len(counts)
    for i, c in enumerate(counts):
        bh = c / cmax * ph
        x = left + i * bw
        out.append(f'<rect x="{x + 0.5:.1f}" y="{top + ph - bh:.1f}" width="{max(bw - 1, 0.5):.1f}" '
                   f'height="{bh:.1f}" fill="{color}"><title>[{lo + i * step:.3g}, '
                   f'{lo + (i + 1) * step:.3g}): {c}</title></rect>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{width - right}" y2="{top + ph}" stroke="#999"/>')
    for frac, anchor in ((0, "start"), (0.5, "middle"), (1, "end")):
        x = left + frac * pw
        out.append(f'<text x="{x:.1f}" y="{top + ph + 14}" font-size="10" text-anchor="{anchor}">'
                   f'{lo + frac * (hi - lo):.3g}</text>')
    out.append("</svg>")
    return "".join(out)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    th = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        f'<td class="n">{escape(str(c))}</td>' if _NUM_RE.match(str(c)) else f"<td>{escape(str(c))}</td>"
        for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _version_html(r: VersionReport, idx: int) -> str:
    parts = [f'<h2 id="v{idx}">{escape(r.ref)} <span class="muted">stage {escape(r.stage)}'
             f'{", lang " + escape(r.lang) if r.lang else ""}'
             f'{", source " + escape(r.source_ref) if r.source_ref else ""}</span></h2>',
             f'<div class="sig">{escape(r.signature)}</div>']
    cards = [("examples", r.n_examples), ("spans", r.n_spans), ("labels", len(r.labels))]
    if r.filtered:
        cards += [("filter input", r.filtered[0]), ("kept", r.filtered[1]), ("rejected", r.filtered[2])]
    for k, v in r.outcome_totals().items():
        cards.append((f"spans {k}", v))
    parts.append('<div class="cards">' + "".join(
        f'<div class="card" data-key="{escape(k)}"><b>{v}</b><span>{escape(k)}</span></div>'
        for k, v in cards) + "</div>")

    labels = list(r.labels)
    parts.append("<h3>Examples and spans per label</h3>")
    if r.source_ref:
        parts.append(f'<p class="muted">source: {escape(r.source_ref)}, counted over the examples '
                     f"this version holds</p>")
    series = {"target spans": [r.labels[lab]["spans"] for lab in labels]}
    if r.source_ref:
        series = {"source spans": [r.labels[lab]["src_spans"] for lab in labels], **series}
    parts.append('<div class="grid"><div>' + svg_bars(labels, series, title="spans per label") + "</div><div>")
    parts.append(_table(["label", "source spans", "target spans", "source examples", "target examples"],
                        [[lab, c["src_spans"], c["spans"], c["src_examples"], c["examples"]]
                         for lab, c in r.labels.items()], "labels"))
    parts.append("</div></div>")

    if r.outcomes:
        parts.append("<h3>Projection outcomes</h3>")
        kinds = [k for k in OUTCOME_COLORS if any(o == k for _, _, o, _ in r.outcomes)]
        kinds += sorted({o for _, _, o, _ in r.outcomes} - set(kinds))
        cols = [OUTCOME_COLORS.get(k, PALETTE[7]) for k in kinds]
        by_label = sorted({lab for lab, _, _, _ in r.outcomes})
        by_proj = sorted({p or "-" for _, p, _, _ in r.outcomes})

        def agg(key: int, cats: list[str]) -> dict[str, list[int]]:
            s = {k: [0] * len(cats) for k in kinds}
            for row in r.outcomes:
                cat = row[key] or "-"
                s[row[2]][cats.index(cat)] += row[3]
            return s

        parts.append('<div class="grid"><div>'
                     + svg_bars(by_label, agg(0, by_label), stacked=True, colors=cols, title="by label")
                     + "</div><div>"
                     + svg_bars(by_proj, agg(1, by_proj), stacked=True, colors=cols, title="by projector")
                     + "</div></div>")
        parts.append(_table(["label", "projector", "outcome", "count"], r.outcomes, "outcomes"))

    if r.filtered or r.rejections:
        parts.append("<h3>Filter rejections by reason</h3>")
        if r.rejections:
            cats = [f"{f}: {why}" for f, why, _ in r.rejections]
            parts.append(svg_bars(cats, {"rejected": [n for _, _, n in r.rejections]},
                                  colors=[PALETTE[3]], width=700, title="rejected examples"))
            parts.append(_table(["filter", "reason", "examples"], r.rejections, "rejections"))
        else:
            parts.append('<p class="muted">no example was rejected</p>')
        parts.append('<p class="muted">An example rejected by several filters counts once per filter.</p>')

    if r.examples:
        parts.append(_examples_html(r))
    if r.histograms:
        parts.append("<h3>Distributions</h3><div class=\"grid\">")
        for i, (name, h) in enumerate(r.histograms.items()):
            parts.append(f'<div data-hist="{escape(name)}">'
                         + svg_histogram(h, color=PALETTE[(i * 2) % len(PALETTE)]) + "</div>")
        parts.append("</div>")
    return "".join(parts)


def _marked(ex: Example, colors: dict[str, str]) -> str:
    """The example's text with its spans coloured by label (label names as superscripts)."""
    out, pos = [], 0
    for sp in sorted(ex.spans, key=lambda x: x.start):
        if sp.start < pos:
            continue
        out.append(escape(ex.text[pos:sp.start]))
        color = colors.get(sp.label, PALETTE[7])
        score = f" ({sp.score:.2f})" if sp.score is not None else ""
        out.append(f'<mark style="background:{color}33;border-bottom:2px solid {color}" '
                   f'title="{escape(sp.label)}{score}">{escape(ex.text[sp.start:sp.end])}'
                   f'<sup>{escape(sp.label)}</sup></mark>')
        pos = sp.end
    out.append(escape(ex.text[pos:]))
    return "".join(out)


def _examples_html(r: VersionReport) -> str:
    """Examples side by side: source with its spans, target with the projected ones, and why the
    example was picked (lowest confidence, a dropped span's reason, a filter's reason, a sample)."""
    labels = sorted({*r.labels, *(sp.label for e in r.examples for sp in e.target.spans)})
    colors = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    parts = ["<h3>Examples</h3>", '<p class="muted">' + " ".join(
        f'<mark style="background:{c}33;border-bottom:2px solid {c}">{escape(lab)}</mark>'
        for lab, c in colors.items()) + "</p>"]
    for e in r.examples:
        rows = [f'<div class="ex-head"><span class="kind kind-{escape(e.kind.replace(" ", "-"))}">'
                f"{escape(e.kind)}</span> <code>{escape(e.id)}</code> "
                f'<span class="muted">{escape(e.note)}</span></div>']
        if e.source is not None:
            rows.append(f'<div class="ex-src"><span class="side">source</span>'
                        f'<span class="txt">{_marked(e.source, colors)}</span></div>')
        rows.append(f'<div class="ex-tgt"><span class="side">{"rejected" if e.kind == "rejected" else "target"}'
                    f'</span><span class="txt">{_marked(e.target, colors)}</span></div>')
        parts.append('<div class="example">' + "".join(rows) + "</div>")
    return "".join(parts)


def _diff_html(rep: Report) -> str:
    a, b, d = rep.a, rep.b, rep.diff
    assert b is not None and d is not None
    parts = [f'<h2 id="diff">Differences: {escape(a.ref)} &rarr; {escape(b.ref)}</h2>']
    rows = [["examples", a.n_examples, b.n_examples, b.n_examples - a.n_examples],
            ["spans", a.n_spans, b.n_spans, b.n_spans - a.n_spans]]
    ta, tb = a.outcome_totals(), b.outcome_totals()
    for k in sorted(set(ta) | set(tb)):
        rows.append([f"spans {k}", ta.get(k, 0), tb.get(k, 0), tb.get(k, 0) - ta.get(k, 0)])
    parts.append(_table(["", a.ref, b.ref, "change"], [[*r[:3], f"{r[3]:+d}"] for r in rows], "diff"))
    parts.append(f'<p>{len(d.examples_added)} examples added, {len(d.examples_removed)} removed, '
                 f'{len(d.examples_changed)} changed (by id).</p>')
    labels = sorted(set(a.labels) | set(b.labels))
    sa = [a.labels.get(lab, {}).get("spans", 0) for lab in labels]
    sb = [b.labels.get(lab, {}).get("spans", 0) for lab in labels]
    parts.append('<div class="grid"><div>'
                 + svg_bars(labels, {a.ref: sa, b.ref: sb}, title="spans per label") + "</div><div>")
    parts.append(_table(["label", a.ref, b.ref, "change"],
                        [[lab, x, y, f"{y - x:+d}"] for lab, x, y in zip(labels, sa, sb, strict=True)],
                        "diff-labels"))
    parts.append("</div></div>")
    ra = {(f, w): n for f, w, n in a.rejections}
    rb = {(f, w): n for f, w, n in b.rejections}
    if ra or rb:
        keys = sorted(set(ra) | set(rb))
        cats = [f"{f}: {w}" for f, w in keys]
        parts.append(svg_bars(cats, {a.ref: [ra.get(k, 0) for k in keys], b.ref: [rb.get(k, 0) for k in keys]},
                              title="rejections by reason", width=700))
    return "".join(parts)


def render_html(rep: Report) -> str:
    """The report as one HTML document (inline CSS and SVG only)."""
    refs = rep.a.ref + (f" vs {rep.b.ref}" if rep.b else "")
    body = [f"<h1>workbench report: {escape(refs)}</h1>"]
    if rep.b is not None:
        body.append(_diff_html(rep))
    body.append(_version_html(rep.a, 0))
    if rep.b is not None:
        body.append(_version_html(rep.b, 1))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>workbench report {escape(refs)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def write_html(rep: Report, path: str | Path) -> Path:
    """Write the report as one self-contained HTML file (no external assets)."""
    p = Path(path)
    try:
        p.write_text(render_html(rep), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", where=str(p),
                         fix="check that the directory exists and is writable") from None
    return p
