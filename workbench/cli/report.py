"""``workbench report``: a version (or two, compared) in the terminal and as an HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from workbench.cli.common import DbOpt, app, console, store_at


@app.command()
def report(
    ref: Annotated[str, typer.Argument(help="Version ref: NAME or NAME@N.")],
    ref2: Annotated[Optional[str], typer.Argument(help="A second version to compare with.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML "
                    "report with plots to this file.")] = None,
    bins: Annotated[int, typer.Option(help="Histogram bins.")] = 20,
    examples: Annotated[int, typer.Option(min=0, help="Examples per version in the HTML report: the lowest-"
                        "confidence spans, dropped spans, rejected examples and a sample.")] = 20,
    db: DbOpt = None,
) -> None:
    """Summarise a version (spans per label, projection outcomes, filter rejections, score and
    length-ratio distributions), or two versions and their differences.

    Example: workbench report sample-en.de@2 sample-en.de@3 --html report.html
    """
    from workbench.report import build_report, render_terminal, write_html

    rep = build_report(ref, ref2, store=store_at(db), bins=bins, examples=examples)
    for item in render_terminal(rep):
        console.print(item)
    if html is not None:
        write_html(rep, html)
        console.print(f"wrote {html}")
