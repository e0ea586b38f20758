"""The ``workbench`` command line: parses options, calls library functions, prints.

This is the only module that prints or exits; the library raises typed errors (``errors.py``).
"""

from __future__ import annotations

import json
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from workbench import __version__
from workbench.errors import WorkbenchError

console = Console()
err = Console(stderr=True)


def _print_error(exc: BaseException) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)


class _Group(TyperGroup):
    """Every command's :class:`WorkbenchError` becomes ``error: ...`` on stderr and exit 1, with
    no traceback; commands need no try/except of their own."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            _print_error(exc)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="workbench",
    cls=_Group,
    help="Turn a span-labelled dataset into training or test data in other languages.\n\n"
    "Stages: ingest -> translate -> project -> filter -> export; every stage stores a new "
    "immutable version in a DuckDB file you can query with SQL.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
)

DbOpt = Annotated[
    Optional[Path],
    typer.Option("--db", envvar="WORKBENCH_DB", help="Corpus store (DuckDB file).",
                 show_default="workbench.duckdb"),
]


def _store(db: Path | None) -> Any:
    from workbench.store import Store

    return Store(db) if db else Store()


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
    token_column: Annotated[Optional[int], typer.Option(
        help="CoNLL token column (default: 0, or 1 when column 0 is the running index 1, 2, ...).")] = None,
    tokens_column: Annotated[str, typer.Option(help="HF dataset: column of token lists.")] = "tokens",
    tags_column: Annotated[str, typer.Option(help="HF dataset: column of tags.")] = "ner_tags",
    split: Annotated[Optional[str], typer.Option(help="Split name for files; one split of a "
                     "dataset.")] = None,
    strict: Annotated[bool, typer.Option(help="Reject ill-formed tag sequences instead of "
                      "repairing them.")] = False,
    db: DbOpt = None,
) -> None:
    """Read a labelled file or dataset into a new stored version.

    Example: workbench ingest data/sample-en.conll --name sample-en --lang en
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from workbench.ingest import ingest as run
    from workbench.load import detect_format

    fmt = format or detect_format(path)
    opts: dict[str, Any] = {}
    if fmt in ("conll", "hf", "jsonl"):
        opts.update(scheme=scheme, strict=strict)
    if fmt == "hf" and (tokens_column, tags_column) != ("tokens", "ner_tags"):
        opts.update(tokens_column=tokens_column, tags_column=tags_column)
    if fmt == "conll":
        opts["tag_column"] = tag_column
        if token_column is not None:
            opts["token_column"] = token_column
    if split:
        opts["split"] = split
    shown: list[str] = []
    count = 0

    def keep(message: Any, *args: Any, **kwargs: Any) -> None:  # bounded: no list of all warnings
        nonlocal count
        count += 1
        if len(shown) < 20:
            shown.append(str(message))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = keep
        bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                       TextColumn("{task.completed:,} examples"), TimeElapsedColumn(),
                       console=err, transient=True, disable=not err.is_terminal)
        with bar:
            task = bar.add_task(f"ingesting {path}", total=None)
            v = run(path, name=name, store=_store(db), lang=lang, format=fmt,
                    progress=lambda n: bar.update(task, completed=n), **opts)
    for msg in shown:
        err.print("[yellow]warning:[/]", msg, highlight=False)
    if count > len(shown):
        err.print(f"[yellow]... and {count - len(shown)} more warnings[/]")
    console.print(f"stored [bold]{v.ref}[/]: {v.n_examples} examples, {v.n_spans} spans")


@app.command()
def versions(
    corpus: Annotated[Optional[str], typer.Argument(help="Only this corpus.")] = None,
    db: DbOpt = None,
) -> None:
    """List stored versions with their stage, counts and signature.

    Example: workbench versions
    """
    store = _store(db)
    all_versions = store.versions()
    vs = [v for v in all_versions if corpus is None or v.corpus == corpus]
    t = Table()
    for col in ("ref", "stage", "parents", "lang", "examples", "spans", "created", "signature"):
        t.add_column(col, overflow="fold")
    by_id = {v.id: v.ref for v in all_versions}
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
    v = store.resolve(ref)
    console.print(f"[bold]{v.ref}[/] stage={v.stage} examples={v.n_examples} spans={v.n_spans}")
    console.print(f"signature: {v.signature}", highlight=False, markup=False)
    shown = 0
    for ex in store.examples(v, batch_size=max(limit, 1)):
        if shown >= limit:
            break
        shown += 1
        spans = ", ".join(f"[{ex.text[s.start:s.end]}]{s.label}" for s in ex.spans)
        console.print(f"[cyan]{ex.id}[/]", ex.text, highlight=False)
        if spans:
            console.print(f"    {spans}", highlight=False, markup=False)


class SqlOutput(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SELECT statement (read-only).")],
    output: Annotated[SqlOutput, typer.Option("--output", "-o", help="Output format.")] = SqlOutput.table,
    db: DbOpt = None,
) -> None:
    """Run read-only SQL on the store (tables: versions, examples; views: version_refs, span_rows,
    label_counts, outcome_rows). Retries while another process holds the lock
    (WORKBENCH_LOCK_TIMEOUT seconds).

    Example: workbench sql "SELECT * FROM label_counts WHERE ref = 'sample-en@1'"
    """
    tbl = _store(db).sql(query)
    if output is SqlOutput.csv:
        import io

        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(tbl, buf)
        sys.stdout.write(buf.getvalue().decode())
    elif output is SqlOutput.json:
        sys.stdout.write(json.dumps(tbl.to_pylist(), default=str, ensure_ascii=False) + "\n")
    else:
        console.print(_table(tbl))


@app.command("export")
def export_cmd(
    refs: Annotated[list[str], typer.Argument(help="Version ref(s): NAME or NAME@N (several for "
                    "--format hf: one config each).")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file or directory.")],
    format: Annotated[str, typer.Option("--format", "-f", help="conll, jsonl, parquet or hf "
                      "(Hugging Face Hub layout with dataset card).")] = "conll",
    scheme: Annotated[str, typer.Option(help="Tag scheme for CoNLL.")] = "iob2",
    comments: Annotated[bool, typer.Option(help="CoNLL: write # sent_id and # text comments.")] = False,
    config_name: Annotated[Optional[list[str]], typer.Option("--config-name", help="hf: config "
                           "name per ref (default: the version's language).")] = None,
    license: Annotated[Optional[str], typer.Option(help="hf: licence id for the card, e.g. "
                       "cc-by-4.0.")] = None,
    license_details: Annotated[Optional[str], typer.Option(help="hf: licence terms or attribution "
                               "text for the card.")] = None,
    source_license: Annotated[Optional[str], typer.Option(help="hf: licence of the source "
                              "corpus.")] = None,
    pretty_name: Annotated[Optional[str], typer.Option(help="hf: title of the card.")] = None,
    overwrite: Annotated[bool, typer.Option(help="hf: replace a directory that is not a "
                         "workbench export.")] = False,
    db: DbOpt = None,
) -> None:
    """Write stored version(s) to a file, or to a Hub-ready dataset directory (--format hf).

    Example: workbench export sample-en.de sample-en.es -f hf -o out/hf --license cc-by-4.0
    """
    from workbench.export import export as run

    if format == "conll":
        opts: dict[str, Any] = {"scheme": scheme, "comments": comments}
    elif format == "hf":
        opts = {"config_names": config_name or None, "license": license,
                "license_details": license_details, "source_license": source_license,
                "pretty_name": pretty_name, "overwrite": overwrite}
    else:
        opts = {}
    n = run(refs, out, format=format, store=_store(db), **opts)
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

    d = run(a, b, store=_store(db))
    console.print(f"{d.a} -> {d.b}: {len(d.examples_added)} examples added, "
                  f"{len(d.examples_removed)} removed, {len(d.examples_changed)} changed")
    t = Table("label", "spans added", "spans removed")
    for label, c in sorted(d.spans_by_label.items()):
        t.add_row(label, str(c["added"]), str(c["removed"]))
    console.print(t)


# ---- filter and report (issue 6) ------------------------------------------------------------


@app.command("filter")
def filter_cmd(
    ref: Annotated[str, typer.Argument(help="Version ref to filter: NAME or NAME@N.")],
    filters: Annotated[str, typer.Option("--filters", "-F", help="Comma-separated filter names: "
                       "length-ratio.v1, langid.v1, copy.v1, repeat-ngram.v1, mt-score.v1, "
                       "projection-complete.v1, span-confidence.v1, span-length.v1, duplicate.v1, "
                       "near-duplicate.v1, cometkiwi.v1.")],
    option: Annotated[Optional[list[str]], typer.Option("--option", "-O", help="A filter option "
                      "FILTER.OPTION=VALUE, e.g. length-ratio.v1.max=2.5 (repeatable).")] = None,
    force: Annotated[bool, typer.Option(help="Filter again even if the same filters already ran.")] = False,
    db: DbOpt = None,
) -> None:
    """Keep the examples that pass every filter, as a new version; every decision is stored
    (table filter_decisions, view filter_rows) with its filter, reason and measured value.

    Example: workbench filter sample-en.de -F langid.v1,length-ratio.v1 -O length-ratio.v1.max=2.5
    """
    from workbench.errors import ConfigError
    from workbench.filter import filter as run

    names = [n.strip() for n in filters.split(",") if n.strip()]
    opts: dict[str, str] = {}
    for item in option or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"--option {item!r} has no '='",
                              fix="write FILTER.OPTION=VALUE, e.g. length-ratio.v1.max=2.5")
        opts[key.strip()] = value.strip()
    with console.status(f"filtering {ref} ..."):
        r = run(ref, filters=names, options=opts, store=_store(db), force=force)
    console.print(f"stored [bold]{r.version.ref}[/]: {r.n_input} examples in, {r.n_kept} kept, "
                  f"{r.n_rejected} rejected")
    t = Table("filter", "rejected")
    for name in names:
        t.add_row(name, str(r.rejected_by.get(name, 0)))
    console.print(t)
    console.print(f"reasons: workbench sql \"SELECT filter, reason, count(*) FROM filter_rows WHERE "
                  f"ref = '{r.version.ref}' AND NOT kept GROUP BY ALL\"", highlight=False)


@app.command()
def report(
    ref: Annotated[str, typer.Argument(help="Version ref: NAME or NAME@N.")],
    ref2: Annotated[Optional[str], typer.Argument(help="A second version to compare with.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML "
                    "report with plots to this file.")] = None,
    bins: Annotated[int, typer.Option(help="Histogram bins.")] = 20,
    db: DbOpt = None,
) -> None:
    """Summarise a version (spans per label, projection outcomes, filter rejections, score and
    length-ratio distributions), or two versions and their differences.

    Example: workbench report sample-en.de@3 sample-en.de@4 --html report.html
    """
    from workbench.report import build_report, render_terminal, write_html

    rep = build_report(ref, ref2, store=_store(db), bins=bins)
    for item in render_terminal(rep):
        console.print(item)
    if html is not None:
        write_html(rep, html)
        console.print(f"wrote {html}")

# -- project (alignment) + eval: workbench project / workbench eval ----------------------------------
def _projector_names() -> list[str]:
    import projectors
    from projectors.base import _load_builtin

    _load_builtin()
    return sorted(projectors.PROJECTORS)


def _parse_options(items: list[str] | None) -> dict[str, Any]:
    from workbench.errors import ConfigError

    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"bad option {item!r}", fix="write --option KEY=VALUE, e.g. --option n_runs=3")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _print_report(rep: Any) -> None:
    parts = ", ".join(f"{k} {v}" for k, v in sorted(rep.outcomes.items()))
    console.print(f"{rep.examples} sentences, {rep.spans} source spans: {parts or 'none'}")
    for reason, n in sorted(rep.reasons.items(), key=lambda x: -x[1])[:8]:
        console.print(f"  dropped/fallback: {n} x {reason}", highlight=False)


@app.command("project")
def project_cmd(
    ref: Annotated[Optional[str], typer.Argument(help="Translated version to project onto "
                   "(NAME or NAME@N); omit with --source/--target.")] = None,
    projector: Annotated[Optional[str], typer.Option(
        help="Registered projector (default align.eflomal.v1, offline). One of: "
        "align.eflomal.v1, align.simalign.v1, markers.v1, constrained.v1 (these two use the "
        "translation model REF was made with), or any other registered name.")] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "--option", help="Projector option KEY=VALUE (repeatable), e.g. n_runs=3, "
        "model=bert-base-multilingual-cased, span_gap=1; for markers.v1/constrained.v1 "
        "model=CT2_DIR, src_lang, tgt_lang, compute_type, beam_size override the translate "
        "version's.")] = None,
    source: Annotated[Optional[Path], typer.Option(help="Labelled source CoNLL file (file mode).")] = None,
    target: Annotated[Optional[Path], typer.Option(help="Target sentences: one tokenised sentence per "
                      "line, or CoNLL with tags ignored (file mode).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output CoNLL (file mode).")] = None,
    target_format: Annotated[str, typer.Option(help="auto, lines or conll.")] = "auto",
    source_ref: Annotated[Optional[str], typer.Option(help="Version with the source examples "
                          "(default: the first parent of REF).")] = None,
    align_corpus: Annotated[Optional[Path], typer.Option(help="Extra unlabelled parallel text "
                            "('src tokens ||| tgt tokens' per line) for statistical aligners.")] = None,
    force: Annotated[bool, typer.Option(help="Project again even if an identical version exists.")] = False,
    db: DbOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
    cpus_per_worker: CpusPerWorkerOpt = 1.0,
    staging: StagingOpt = None,
    shard_size: ShardSizeOpt = 256,
) -> None:
    """Project source spans onto translations: a stored version, or files (--source/--target/-o).

    A stored version can be projected on a Ray cluster (--executor ray, --workers N, ...).

    Example: workbench project --source en.conll --target de.txt -o de.conll
    """
    from workbench.errors import ConfigError
    from workbench.project import ProjectReport, project, project_files, read_parallel

    rep = ProjectReport()
    if projector is not None and projector not in _projector_names():
        raise ConfigError(f"unknown projector {projector!r}",
                          fix=f"use one of {', '.join(_projector_names())}")
    ex_opts = _executor_options(executor, ray_address, workers, gpus_per_worker,
                              cpus_per_worker, staging, shard_size)
    opts = _parse_options(option)
    extra = read_parallel(align_corpus) if align_corpus else ()
    file_mode = source is not None or target is not None or output is not None
    if file_mode:
        if ex_opts.executor != "local":
            raise ConfigError("--executor ray projects stored versions, not files",
                              fix="ingest and store the data, or drop --executor")
        if ref is not None or source is None or target is None or output is None:
            raise ConfigError("file mode needs --source, --target and --output, and no REF",
                              fix="workbench project --source SRC.conll --target TGT.txt -o OUT.conll")
        with console.status("projecting ..."):
            project_files(source, target, output, projector=projector, options=opts, extra=extra,
                          target_format=target_format, report=rep)
        _print_report(rep)
        console.print(f"wrote {output}")
        return
    if ref is None:
        raise ConfigError("give a version REF, or --source/--target/-o",
                          fix="workbench project NAME@N, or workbench project --source ... ")
    with console.status(f"projecting {ref} ..."):
        v = project(ref, projector=projector, options=opts, store=_store(db), source=source_ref,
                    extra=extra, force=force, report=rep, executor=ex_opts)
    _print_report(rep)
    console.print(f"stored [bold]{v.ref}[/]: {v.n_examples} examples, {v.n_spans} spans")


eval_app = typer.Typer(help="Intrinsic evaluation: projected spans, word alignments.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("projection")
def eval_projection(
    pred: Annotated[Path, typer.Option(help="Predicted CoNLL file (e.g. from workbench project).")],
    gold: Annotated[Path, typer.Option(help="Gold CoNLL file with the same tokens.")],
    scheme: Annotated[str, typer.Option(help="Tag scheme: iob2, iob1 or bioes.")] = "iob2",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Exact-span precision / recall / F1, overall and per label (seqeval conventions).

    Example: workbench eval projection --pred de.pred.conll --gold de.conll
    """
    from workbench.evaluate import evaluate_projection

    sc = evaluate_projection(pred, gold, scheme=scheme)
    if as_json:
        sys.stdout.write(json.dumps(sc.as_dict()) + "\n")
        return
    t = Table("label", "precision", "recall", "f1", "pred", "gold")
    rows = sorted(sc.by_label.items()) + [("overall", sc.overall)]
    for lab, m in rows:
        t.add_row(lab, f"{100 * m.precision:.2f}", f"{100 * m.recall:.2f}", f"{100 * m.f1:.2f}",
                  str(m.n_pred), str(m.n_gold))
    console.print(t)


@eval_app.command("alignment")
def eval_alignment(
    pred: Annotated[Path, typer.Option(help="Predicted links, one line per pair (i-j; 0- or 1-indexed, "
                    "detected).")],
    gold: Annotated[Path, typer.Option(help="Gold links: 1-indexed i-j sure, ipj possible.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Alignment error rate, precision and recall against gold sure/possible links.

    Example: workbench eval alignment --pred enfr.links --gold enfr.gold
    """
    from workbench.evaluate import evaluate_alignment

    sc = evaluate_alignment(pred, gold)
    if as_json:
        sys.stdout.write(json.dumps(sc.as_dict()) + "\n")
        return
    console.print(f"AER {100 * sc.aer:.2f}  precision {100 * sc.precision:.2f}  "
                  f"recall {100 * sc.recall:.2f}  ({sc.n_sentences} sentences)")


# -- export, push and pipelines (issue 7) -------------------------------------------------------
@app.command()
def push(
    refs: Annotated[list[str], typer.Argument(help="Version ref(s) to push (one config each).")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Dataset repository: OWNER/NAME.")],
    private: Annotated[bool, typer.Option(help="Create the repository as private.")] = False,
    config_name: Annotated[Optional[list[str]], typer.Option("--config-name", help="Config "
                           "name per ref (default: the version's language).")] = None,
    license: Annotated[Optional[str], typer.Option(help="Licence id for the card.")] = None,
    license_details: Annotated[Optional[str], typer.Option(help="Licence terms for the card.")] = None,
    source_license: Annotated[Optional[str], typer.Option(help="Licence of the source corpus.")] = None,
    pretty_name: Annotated[Optional[str], typer.Option(help="Title of the card.")] = None,
    db: DbOpt = None,
) -> None:
    """Export version(s) in the Hub layout and upload them to a Hugging Face dataset repository.

    The token comes from HF_TOKEN or `hf auth login`; it is never printed.

    Example: workbench push sample-en.de sample-en.es --repo-id me/sample-ner --license cc-by-4.0
    """
    from workbench.push import push as run

    with console.status(f"pushing to {repo_id} ..."):
        res = run(refs, repo_id, private=private, config_names=config_name, store=_store(db),
                  license=license, license_details=license_details,
                  source_license=source_license, pretty_name=pretty_name)
    console.print(f"pushed {len(res.files)} files (configs: {', '.join(res.configs)}) to "
                  f"{res.repo_url}", highlight=False)


@app.command("run")
def run_cmd(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline file (TOML).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan: which stages would "
                       "run and which are already stored.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out-dir", help="Override the pipeline's "
                       "out_dir (store, exports, reports).")] = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="Override the pipeline's store.")] = None,
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
        console.print(f"[{colours.get(step.status, 'white')}]{status:>9}[/] {step.stage:<9} "
                      f"{step.target:<12} {refs} {step.detail}".rstrip(), highlight=False)

    steps = run_pipeline(pipeline, dry_run=dry_run, out_dir=out_dir, db=db, on_step=show)
    ran = sum(s.status == "run" for s in steps)
    skipped = sum(s.status == "skip" for s in steps)
    pending = sum(s.status == "pending" for s in steps)
    if dry_run:
        console.print(f"would run {ran + pending} step(s) ({pending} after the steps they depend on), "
                      f"skip {skipped} already stored")
    else:
        console.print(f"ran {ran} step(s), skipped {skipped} already stored")


# ---- translate: the translate stage and the model cache (workbench/translate.py, models.py) ----
models_app = typer.Typer(help="Convert and list translation models (CTranslate2 cache in "
                         "$WORKBENCH_HOME, default ~/.cache/workbench/models).", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _csv_ints(value: str) -> list[int]:
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated integers, got {value!r}") from None


@app.command("translate")
def translate_cmd(
    ref: Annotated[str, typer.Argument(help="Source version ref: NAME or NAME@N.")],
    model: Annotated[str, typer.Option("--model", "-m", help="CTranslate2 directory or converted "
                     "Hugging Face id (workbench models list).")],
    src_lang: Annotated[str, typer.Option("--src-lang", help="Source language code (en, eng_Latn, ...).")],
    tgt_lang: Annotated[str, typer.Option("--tgt-lang", help="Target language code(s), comma-separated.")],
    name: Annotated[Optional[str], typer.Option(help="Output corpus name ({tgt} is replaced); "
                    "default SOURCE.TGT.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    device_index: Annotated[str, typer.Option(help="GPU ids, comma-separated (one replica each).")] = "0",
    compute_type: Annotated[str, typer.Option(help="auto (int8 on CPU, int8_float16 on GPU), int8, "
                            "int8_float16, float16, bfloat16, float32.")] = "auto",
    beam_size: Annotated[int, typer.Option(help="Beam width (1 = greedy).")] = 4,
    max_batch_tokens: Annotated[int, typer.Option(help="Tokens per batch; 0 = 1024 on CPU, 8192 on GPU.")] = 0,
    max_decoding_length: Annotated[int, typer.Option(help="Most target tokens per sentence.")] = 256,
    min_decoding_length: Annotated[int, typer.Option(help="Fewest target tokens.")] = 1,
    length_penalty: Annotated[float, typer.Option(help="Length normalisation exponent.")] = 1.0,
    repetition_penalty: Annotated[float, typer.Option(help="> 1 penalises repeats.")] = 1.0,
    no_repeat_ngram_size: Annotated[int, typer.Option(help="Forbid repeated n-grams (0: off).")] = 0,
    inter_threads: Annotated[int, typer.Option(help="Parallel batches (0: auto).")] = 0,
    intra_threads: Annotated[int, typer.Option(help="Threads per batch (0: auto).")] = 0,
    split: Annotated[bool, typer.Option("--split/--no-split", help="Split inputs over the model "
                     "limit at sentence boundaries (--no-split: fail on them).")] = True,
    token_logprobs: Annotated[bool, typer.Option(help="Store per-token log-probs (slower).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    db: DbOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
    cpus_per_worker: CpusPerWorkerOpt = 1.0,
    staging: StagingOpt = None,
    shard_size: ShardSizeOpt = 256,
) -> None:
    """Translate a stored version into one or more languages (a new version per language).

    Translations are cached in the store: an interrupted run resumes where it stopped and a
    repeated run is served from the cache. With --executor ray, shards of --shard-size
    sentences are translated by --workers Ray workers (cached sentences are never sent).

    Example: workbench translate sample-en --model Helsinki-NLP/opus-mt-en-de --src-lang en --tgt-lang de
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from workbench.translate import TranslateOptions, translate

    opts = TranslateOptions(
        device=device, device_index=_csv_ints(device_index), compute_type=compute_type,
        beam_size=beam_size, max_batch_tokens=max_batch_tokens,
        max_decoding_length=max_decoding_length, min_decoding_length=min_decoding_length,
        length_penalty=length_penalty, repetition_penalty=repetition_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size, inter_threads=inter_threads,
        intra_threads=intra_threads, split_long=split, token_logprobs=token_logprobs, name=name)
    ex_opts = _executor_options(executor, ray_address, workers, gpus_per_worker,
                              cpus_per_worker, staging, shard_size)
    finals: list[Any] = []
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=err,
                   disable=quiet)
    tasks: dict[str, Any] = {}

    def on_progress(p: Any) -> None:
        if p.tgt_lang not in tasks:
            tasks[p.tgt_lang] = bar.add_task(f"-> {p.tgt_lang}", total=p.total, rate="")
        bar.update(tasks[p.tgt_lang], completed=p.done,
                   rate=f"{p.sentences_per_s:.1f} sent/s  {p.tokens_per_s:.0f} tok/s  "
                        f"cached {p.cached}")
        if p.finished:
            finals.append(p)

    with bar:
        vs = translate(ref, model=model, src_lang=src_lang, tgt_langs=tgt_lang.split(","),
                       store=_store(db), options=opts, progress=on_progress, executor=ex_opts)
    t = Table("version", "examples", "translated", "from cache", "split", "sent/s", "tok/s", "seconds")
    for v, p in zip(vs, finals, strict=False):
        t.add_row(v.ref, str(v.n_examples), str(p.translated), str(p.cached), str(p.split),
                  f"{p.sentences_per_s:.1f}", f"{p.tokens_per_s:.0f}", f"{p.elapsed:.1f}")
    console.print(t)


@models_app.command("convert")
def models_convert(
    model: Annotated[str, typer.Argument(help="Hugging Face id or local Hugging Face directory.")],
    quantization: Annotated[str, typer.Option(help="int8, int8_float16, float16, bfloat16 or "
                            "float32.")] = "int8",
    force: Annotated[bool, typer.Option(help="Convert again even if cached.")] = False,
    revision: Annotated[Optional[str], typer.Option(help="Hub revision.")] = None,
) -> None:
    """Download (the only network step) and convert a model to CTranslate2 in the model cache.

    Example: workbench models convert facebook/nllb-200-distilled-600M --quantization int8
    """
    from workbench.models import convert, open_model

    with err.status(f"converting {model} ..."):
        out = convert(model, quantization=quantization, force=force, revision=revision)
    m = open_model(out)
    console.print(f"converted [bold]{model}[/] -> {out} ({m.family.label}, "
                  f"{len(m.family.supported())} languages)", highlight=False)


@models_app.command("list")
def models_list() -> None:
    """List converted models in the cache.

    Example: workbench models list
    """
    from workbench.models import list_models, models_home

    t = Table("name", "source", "family", "quantization", "MB", "path")
    for m in list_models():
        t.add_row(m.name, m.source, m.family, m.quantization, f"{m.size_mb:.1f}", str(m.path))
    console.print(t)
    console.print(f"cache: {models_home()}", highlight=False)


# -- MT-guided projection: translate-test back-projection (mtproject) ----------------------------
@app.command("project-back")
def project_back_cmd(
    original: Annotated[Path, typer.Argument(help="Original (target-language) sentences: .txt one per "
                        "line, or CoNLL/JSONL (tags ignored).")],
    english: Annotated[Path, typer.Argument(help="Their English translations with predicted spans "
                       "(CoNLL or JSONL), same order.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file (.conll or .jsonl).")],
    projector: Annotated[str, typer.Option("--projector", "-p", help="Registered projector, e.g. "
                         "constrained.v1, markers.v1, align.eflomal.v1.")] = "constrained.v1",
    model: Annotated[Optional[Path], typer.Option(help="CTranslate2 model English -> original language "
                     "(markers.*, constrained.*), with its sentencepiece files.")] = None,
    tgt_lang: Annotated[Optional[str], typer.Option(help="Language of the original sentences (de, ...): "
                        "the model's language tokens come from its family (workbench models).")] = None,
    src_lang: Annotated[str, typer.Option(help="Language of the translations (with --tgt-lang).")] = "en",
    source_prefix: Annotated[Optional[str], typer.Option(help="Source language token(s), comma-separated "
                             "(e.g. eng_Latn for NLLB), for a model without family metadata.")] = None,
    target_prefix: Annotated[Optional[str], typer.Option(help="Target language token(s), comma-separated "
                             "(e.g. deu_Latn for NLLB).")] = None,
    original_format: Annotated[Optional[str], typer.Option(help="lines, conll or jsonl (default: by "
                               "extension).")] = None,
    scheme: Annotated[str, typer.Option(help="Tag scheme of CoNLL input/output.")] = "iob2",
) -> None:
    """Write spans predicted on English translations back onto the original sentences.

    Example: workbench project-back test.de.txt test.en.pred.conll --model en-de-ct2 --tgt-lang de -o test.de.pred.conll
    """
    from workbench.load import read, write
    from workbench.project_back import make_projector, project_back, read_originals

    mt = None
    if model is not None and tgt_lang:
        from workbench.mt import load_mt

        mt = load_mt(model, src_lang=src_lang, tgt_lang=tgt_lang)
    elif model is not None:
        from workbench.mt import CT2Model

        mt = CT2Model(model, source_prefix=source_prefix.split(",") if source_prefix else (),
                      target_prefix=target_prefix.split(",") if target_prefix else ())
    proj = make_projector(projector, model=mt)
    en_opts = {"scheme": scheme} if str(english).endswith((".conll", ".iob", ".bio", ".tsv")) else {}
    origs = read_originals(original, original_format)
    results = project_back(origs, read(english, **en_opts), proj)
    counts: dict[str, int] = {}

    def counted():
        for ex in results:
            for o in ex.outcomes:
                counts[o.outcome] = counts.get(o.outcome, 0) + 1
            yield ex

    opts = {"scheme": scheme} if str(out).endswith(".conll") else {}
    n = write(counted(), out, **opts)
    console.print(f"wrote {n} sentences to {out}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


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
    help="Ray workers (each loads the model once); --executor ray only.")]
GpusPerWorkerOpt = Annotated[float, typer.Option(
    "--gpus-per-worker", min=0.0, rich_help_panel="Execution",
    help="GPUs per worker (1 = one worker per GPU; fractions share a GPU).")]
CpusPerWorkerOpt = Annotated[float, typer.Option(
    "--cpus-per-worker", min=0.01, rich_help_panel="Execution",
    help="CPU cores per Ray worker (also its compute threads).")]
StagingOpt = Annotated[Optional[str], typer.Option(
    "--staging", rich_help_panel="Execution",
    help="Directory or URL (s3://bucket/prefix) every worker can reach, for shard files; "
    "default: .wb-shards beside the store.")]
ShardSizeOpt = Annotated[int, typer.Option(
    "--shard-size", min=1, rich_help_panel="Execution",
    help="Examples per shard (the unit of retry and resume); --executor ray only.")]


def _executor_options(executor: str = "local", ray_address: str | None = None, workers: int = 1,
                      gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                      staging: str | None = None, shard_size: int = 256) -> Any:
    """:class:`~workbench.distributed.ExecutorOptions` from the shared CLI options."""
    from workbench.distributed import ExecutorOptions

    return ExecutorOptions(executor=executor, ray_address=ray_address, workers=workers,
                           gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                           staging=staging, shard_size=shard_size).validate()


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
    app()
