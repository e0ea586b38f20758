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
    try:
        for item in option or []:
            key, eq, value = item.partition("=")
            if not eq:
                raise ConfigError(f"--option {item!r} has no '='",
                                  fix="write FILTER.OPTION=VALUE, e.g. length-ratio.v1.max=2.5")
            opts[key.strip()] = value.strip()
        with console.status(f"filtering {ref} ..."):
            r = run(ref, filters=names, options=opts, store=_store(db), force=force)
    except WorkbenchError as exc:
        _fail(exc)
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

    try:
        rep = build_report(ref, ref2, store=_store(db), bins=bins)
    except WorkbenchError as exc:
        _fail(exc)
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
        "align.eflomal.v1, align.simalign.v1, or any other registered name.")] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "--option", help="Projector option KEY=VALUE (repeatable), e.g. n_runs=3, "
        "model=bert-base-multilingual-cased, span_gap=1.")] = None,
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
) -> None:
    """Project source spans onto translations: a stored version, or files (--source/--target/-o).

    Example: workbench project --source en.conll --target de.txt -o de.conll
    """
    from workbench.errors import ConfigError
    from workbench.project import ProjectReport, project, project_files, read_parallel

    rep = ProjectReport()
    try:
        if projector is not None and projector not in _projector_names():
            raise ConfigError(f"unknown projector {projector!r}",
                              fix=f"use one of {', '.join(_projector_names())}")
        opts = _parse_options(option)
        extra = read_parallel(align_corpus) if align_corpus else ()
        file_mode = source is not None or target is not None or output is not None
        if file_mode:
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
                        extra=extra, force=force, report=rep)
    except WorkbenchError as exc:
        _fail(exc)
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

    try:
        sc = evaluate_projection(pred, gold, scheme=scheme)
    except WorkbenchError as exc:
        _fail(exc)
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

    try:
        sc = evaluate_alignment(pred, gold)
    except WorkbenchError as exc:
        _fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(sc.as_dict()) + "\n")
        return
    console.print(f"AER {100 * sc.aer:.2f}  precision {100 * sc.precision:.2f}  "
                  f"recall {100 * sc.recall:.2f}  ({sc.n_sentences} sentences)")


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except WorkbenchError as exc:  # a library error that a command did not catch
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
