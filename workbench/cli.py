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
) -> None:
    """Translate a stored version into one or more languages (a new version per language).

    Translations are cached in the store: an interrupted run resumes where it stopped and a
    repeated run is served from the cache.

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

    try:
        with bar:
            vs = translate(ref, model=model, src_lang=src_lang, tgt_langs=tgt_lang.split(","),
                           store=_store(db), options=opts, progress=on_progress)
    except WorkbenchError as exc:
        _fail(exc)
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

    try:
        with err.status(f"converting {model} ..."):
            out = convert(model, quantization=quantization, force=force, revision=revision)
        m = open_model(out)
    except WorkbenchError as exc:
        _fail(exc)
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


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except WorkbenchError as exc:  # a library error that a command did not catch
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
