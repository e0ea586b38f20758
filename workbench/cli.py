"""The ``workbench`` command line: parses options, calls library functions, prints.

This is the only module that prints or exits; the library raises typed errors (``errors.py``).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from workbench import __version__
from workbench.errors import WorkbenchError

app = typer.Typer(
    name="workbench",
    help="Turn a span-labelled dataset into training or test data in other languages.\n\n"
    "Stages: ingest -> translate -> project -> filter -> export; every stage stores a new "
    "immutable version in a DuckDB file you can query with SQL.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DbOpt = Annotated[
    Optional[Path],
    typer.Option("--db", envvar="WORKBENCH_DB", help="Corpus store (DuckDB file).",
                 show_default="workbench.duckdb"),
]


def _store(db: Path | None) -> Any:
    from workbench.store import Store

    return Store(db) if db else Store()


def _fail(exc: BaseException) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(1)


def _table(tbl: Any, limit: int | None = None) -> Table:
    t = Table(show_lines=False)
    for name in tbl.column_names:
        t.add_column(name, overflow="fold")
    for row in tbl.to_pylist()[:limit]:
        t.add_row(*("" if v is None else str(v) for v in row.values()))
    return t


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"workbench {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Show the version.")] = False,
) -> None:
    """Workbench: label projection data pipeline."""


@app.command()
def ingest(
    path: Annotated[str, typer.Argument(help="CoNLL/JSONL/Parquet file, or a dataset directory.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Corpus name, e.g. conll-en.")],
    lang: Annotated[str, typer.Option(help="Language code of the text.")] = "",
    format: Annotated[Optional[str], typer.Option("--format", "-f",
                      help="conll, jsonl, parquet or hf (default: detected).")] = None,
    scheme: Annotated[str, typer.Option(help="CoNLL/HF tag scheme: iob2, iob1 or bioes.")] = "iob2",
    tag_column: Annotated[int, typer.Option(help="CoNLL tag column (negative: from the end).")] = -1,
    split: Annotated[Optional[str], typer.Option(help="Split name for files; one split of a "
                     "dataset.")] = None,
    strict: Annotated[bool, typer.Option(help="Reject ill-formed tag sequences instead of "
                      "repairing them.")] = False,
    db: DbOpt = None,
) -> None:
    """Read a labelled file or dataset into a new stored version.

    Example: workbench ingest data/sample-en.conll --name sample-en --lang en
    """
    from workbench.ingest import ingest as run
    from workbench.load import detect_format

    fmt = format or detect_format(path)
    opts: dict[str, Any] = {}
    if fmt in ("conll", "hf"):
        opts.update(scheme=scheme, strict=strict)
    if fmt == "conll":
        opts["tag_column"] = tag_column
    if split:
        opts["split"] = split
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with console.status(f"ingesting {path} ..."):
                v = run(path, name=name, store=_store(db), lang=lang, format=fmt, **opts)
        for w in caught[:20]:
            err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
        if len(caught) > 20:
            err.print(f"[yellow]... and {len(caught) - 20} more warnings[/]")
    except WorkbenchError as exc:
        _fail(exc)
    console.print(f"stored [bold]{v.ref}[/]: {v.n_examples} examples, {v.n_spans} spans")


@app.command()
def versions(
    corpus: Annotated[Optional[str], typer.Argument(help="Only this corpus.")] = None,
    db: DbOpt = None,
) -> None:
    """List stored versions with their stage, counts and signature.

    Example: workbench versions
    """
    try:
        vs = _store(db).versions(corpus)
    except WorkbenchError as exc:
        _fail(exc)
    t = Table()
    for col in ("ref", "stage", "parents", "lang", "examples", "spans", "created", "signature"):
        t.add_column(col, overflow="fold")
    by_id = {v.id: v.ref for v in vs} if corpus is None else {
        v.id: v.ref for v in _store(db).versions()}
    for v in vs:
        t.add_row(v.ref, v.stage, ",".join(by_id.get(p, str(p)) for p in v.parents), v.lang or "",
                  str(v.n_examples), str(v.n_spans), f"{v.created_at:%Y-%m-%d %H:%M}", v.signature)
    console.print(t)


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="Version ref: NAME or NAME@N.")],
    limit: Annotated[int, typer.Option(help="Examples to show.")] = 5,
    db: DbOpt = None,
) -> None:
    """Show a version's signature and its first examples with their spans.

    Example: workbench show sample-en@1 --limit 3
    """
    store = _store(db)
    try:
        v = store.resolve(ref)
        console.print(f"[bold]{v.ref}[/] stage={v.stage} examples={v.n_examples} spans={v.n_spans}")
        console.print(f"signature: {v.signature}", highlight=False)
        shown = 0
        for ex in store.examples(v, batch_size=max(limit, 1)):
            if shown >= limit:
                break
            shown += 1
            spans = ", ".join(f"[{ex.text[s.start:s.end]}]{s.label}" for s in ex.spans)
            console.print(f"[cyan]{ex.id}[/] {ex.text}", highlight=False)
            if spans:
                console.print(f"    {spans}", highlight=False)
    except WorkbenchError as exc:
        _fail(exc)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SELECT statement (read-only).")],
    output: Annotated[str, typer.Option("--output", "-o", help="table, csv or json.")] = "table",
    db: DbOpt = None,
) -> None:
    """Run read-only SQL on the store (tables: versions, examples; views: version_refs, span_rows,
    label_counts, outcome_rows).

    Example: workbench sql "SELECT * FROM label_counts WHERE ref = 'sample-en@1'"
    """
    try:
        tbl = _store(db).sql(query)
    except WorkbenchError as exc:
        _fail(exc)
    if output == "csv":
        import pyarrow.csv as pacsv

        buf = __import__("io").BytesIO()
        pacsv.write_csv(tbl, buf)
        sys.stdout.write(buf.getvalue().decode())
    elif output == "json":
        sys.stdout.write(json.dumps(tbl.to_pylist(), default=str, ensure_ascii=False) + "\n")
    else:
        console.print(_table(tbl))


@app.command("export")
def export_cmd(
    ref: Annotated[str, typer.Argument(help="Version ref: NAME or NAME@N.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file or directory.")],
    format: Annotated[str, typer.Option("--format", "-f", help="conll, jsonl or parquet.")] = "conll",
    scheme: Annotated[str, typer.Option(help="Tag scheme for CoNLL.")] = "iob2",
    db: DbOpt = None,
) -> None:
    """Write a stored version to a file.

    Example: workbench export sample-en -f conll -o sample-en.conll
    """
    from workbench.export import export as run

    opts = {"scheme": scheme} if format == "conll" else {}
    try:
        n = run(ref, out, format=format, store=_store(db), **opts)
    except WorkbenchError as exc:
        _fail(exc)
    console.print(f"wrote {n} examples to {out}")


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="First version ref.")],
    b: Annotated[str, typer.Argument(help="Second version ref.")],
    db: DbOpt = None,
) -> None:
    """Examples and spans added, removed or changed between two versions, by label.

    Example: workbench diff sample-en@1 sample-en@2
    """
    from workbench.diff import diff as run

    try:
        d = run(a, b, store=_store(db))
    except WorkbenchError as exc:
        _fail(exc)
    console.print(f"{d.a} -> {d.b}: {len(d.examples_added)} examples added, "
                  f"{len(d.examples_removed)} removed, {len(d.examples_changed)} changed")
    t = Table("label", "spans added", "spans removed")
    for label, c in sorted(d.spans_by_label.items()):
        t.add_row(label, str(c["added"]), str(c["removed"]))
    console.print(t)


# -- distributed execution (workbench/distributed.py): options shared by translate and project --
# Commands take these as parameters and build the options with ``_executor_options(...)``:
#     executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None, workers: WorkersOpt = 1,
#     gpus_per_worker: GpusPerWorkerOpt = 0.0, cpus_per_worker: CpusPerWorkerOpt = 1.0,
#     staging: StagingOpt = None, shard_size: ShardSizeOpt = 256
def _executor_choice(value: str) -> str:
    from workbench.distributed import EXECUTORS

    if value not in EXECUTORS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(EXECUTORS)}")
    return value


ExecutorOpt = Annotated[str, typer.Option(
    "--executor", callback=_executor_choice, rich_help_panel="Execution",
    help="Where the stage runs: local (this process) or ray (a Ray cluster; pip install "
    "'workbench[ray]').")]
RayAddressOpt = Annotated[Optional[str], typer.Option(
    "--ray-address", envvar="RAY_ADDRESS", rich_help_panel="Execution",
    help="Ray cluster to join (auto, ray://head:10001, host:6379); default: start a local Ray.")]
WorkersOpt = Annotated[int, typer.Option(
    "--workers", min=1, rich_help_panel="Execution",
    help="Ray workers (each loads the model once); locally, multiplies --cpus-per-worker.")]
GpusPerWorkerOpt = Annotated[float, typer.Option(
    "--gpus-per-worker", min=0.0, rich_help_panel="Execution",
    help="GPUs per worker (1 = one worker per GPU; fractions share a GPU).")]
CpusPerWorkerOpt = Annotated[float, typer.Option(
    "--cpus-per-worker", min=0.01, rich_help_panel="Execution",
    help="CPU cores per worker (also its compute threads).")]
StagingOpt = Annotated[Optional[str], typer.Option(
    "--staging", rich_help_panel="Execution",
    help="Directory or URL (s3://bucket/prefix) every worker can reach, for shard files; "
    "default: .wb-shards beside the store.")]
ShardSizeOpt = Annotated[int, typer.Option(
    "--shard-size", min=1, rich_help_panel="Execution",
    help="Examples per shard (the unit of retry and resume).")]


def _executor_options(executor: str = "local", ray_address: str | None = None, workers: int = 1,
                      gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                      staging: str | None = None, shard_size: int = 256) -> Any:
    """:class:`~workbench.distributed.ExecutorOptions` from the shared CLI options."""
    from workbench.distributed import ExecutorOptions

    try:
        return ExecutorOptions(executor=executor, ray_address=ray_address, workers=workers,
                               gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                               staging=staging, shard_size=shard_size).validate()
    except WorkbenchError as exc:
        _fail(exc)


def _shard_progress(total_examples: int | None = None) -> Any:
    """An ``on_shard`` callback printing one line per staged shard (for run_sharded/run_stage)."""
    done = [0, 0]

    def report(shard: Any, rows: int) -> None:
        done[0] += 1
        done[1] += rows
        of = f"/{total_examples}" if total_examples else ""
        err.print(f"shard {shard.id}: {rows} examples ({done[1]}{of} in {done[0]} shards)",
                  highlight=False)

    return report


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except WorkbenchError as exc:  # a library error that a command did not catch
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
