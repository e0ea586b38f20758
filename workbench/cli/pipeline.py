"""``workbench run``: a whole pipeline from one TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from workbench.cli.common import app, console, styled


@app.command("run")
def run_cmd(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline file (TOML).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan: which stages would "
                       "run and which are already stored.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out-dir", help="Override the pipeline's "
                       "out_dir (store, exports, reports).")] = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="Override the pipeline's store.")] = None,
    init: Annotated[bool, typer.Option("--init", help="Add the workbench tables to an existing DuckDB "
                    "database that holds other tables (refused without it).")] = False,
) -> None:
    """Run a pipeline: ingest, translate or attach translations, project, filter, export, report.

    Stages already stored are skipped, so a crashed run resumes where it stopped.

    Example: workbench run examples/quickstart.toml
    """
    from workbench.pipeline import run_pipeline

    colours = {"run": "green", "skip": "cyan", "pending": "yellow"}

    def show(step: Any) -> None:
        status = "would run" if dry_run and step.status == "run" else step.status
        refs = ", ".join(step.refs)
        console.print(styled((f"{status:>9}", colours.get(step.status, "white")),
                             f" {step.stage:<9} {step.target:<12} {refs} {step.detail}".rstrip()))

    steps = run_pipeline(pipeline, dry_run=dry_run, out_dir=out_dir, db=db, on_step=show, init=init)
    ran = sum(s.status == "run" for s in steps)
    skipped = sum(s.status == "skip" for s in steps)
    pending = sum(s.status == "pending" for s in steps)
    if dry_run:
        console.print(f"would run {ran + pending} step(s) ({pending} after the steps they depend on), "
                      f"skip {skipped} already stored")
    else:
        console.print(f"ran {ran} step(s), skipped {skipped} already stored")
