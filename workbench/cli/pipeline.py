"""``workbench run``: a whole pipeline from one TOML file."""

from __future__ import annotations

import os
import shlex
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
                       "out_dir (exports, reports).")] = None,
    db: Annotated[Optional[Path], typer.Option("--db", envvar="WORKBENCH_DB", help="The store: "
                  "--db > WORKBENCH_DB > [pipeline] db > workbench.duckdb in the working directory.",
                  show_default=False)] = None,
    init: Annotated[bool, typer.Option("--init", help="Add the workbench tables to an existing DuckDB "
                    "database that holds other tables (refused without it).")] = False,
) -> None:
    """Run a pipeline: ingest, translate or attach translations, project, filter, export, report.

    Stages already stored are skipped, so a crashed run resumes where it stopped.

    Example: workbench run examples/quickstart.toml
    """
    from workbench.pipeline import load_pipeline, run_pipeline

    colours = {"run": "green", "skip": "cyan", "pending": "yellow"}

    def show(step: Any) -> None:
        status = "would run" if dry_run and step.status == "run" else step.status
        refs = ", ".join(step.refs)
        console.print(styled((f"{status:>9}", colours.get(step.status, "white")),
                             f" {step.stage:<9} {step.target:<12} {refs} {step.detail}".rstrip()))

    store = load_pipeline(pipeline, out_dir=out_dir, db=db).db
    steps = run_pipeline(pipeline, dry_run=dry_run, out_dir=out_dir, db=db, on_step=show, init=init)
    ran = sum(s.status == "run" for s in steps)
    skipped = sum(s.status == "skip" for s in steps)
    pending = sum(s.status == "pending" for s in steps)
    if dry_run:
        console.print(f"would run {ran + pending} step(s) ({pending} after the steps they depend on), "
                      f"skip {skipped} already stored")
        console.print(styled(("store    ", "bold"), _shown(store)))
        return
    console.print(f"ran {ran} step(s), skipped {skipped} already stored")
    _where(store, steps)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it, else absolute."""
    p = Path(os.path.normpath(path.absolute()))
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _where(store: Path, steps: list[Any]) -> None:
    """Where the store, exports and reports are, and the next commands to try."""
    exports = [_shown(s.output) for s in steps if s.stage == "export" and s.output is not None]
    reports = [_shown(s.output) for s in steps if s.stage == "report" and s.output is not None]
    console.print(styled(("store    ", "bold"), _shown(store)))
    if exports:
        console.print(styled(("exports  ", "bold"), ", ".join(exports)), soft_wrap=True)
    if reports:
        console.print(styled(("reports  ", "bold"), ", ".join(reports)), soft_wrap=True)
    # the store the next commands find on their own, or the --db they need
    default = Path(os.environ.get("WORKBENCH_DB") or "workbench.duckdb").absolute()
    db = "" if Path(os.path.normpath(store)) == Path(os.path.normpath(default)) else f" --db {shlex.quote(_shown(store))}"
    last = [s.refs[-1] for s in steps if s.refs and s.stage not in ("export", "report")]
    nxt = [f"workbench versions{db}"]
    if last:
        nxt.append(f"workbench show {last[-1]}{db}")
    nxt.append(f"workbench sql \"SELECT ref, stage, n_examples FROM version_refs\"{db}")
    for i, cmd in enumerate(nxt):
        console.print(styled(("next     " if i == 0 else "         ", "bold"), cmd))
