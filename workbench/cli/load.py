"""``workbench ingest``: read a labelled file or dataset into a new stored version."""

from __future__ import annotations

import warnings
from typing import Annotated, Any, Optional

import typer

from workbench.cli.common import DbOpt, LockTimeoutOpt, app, console, err, store_at, styled


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
    config: Annotated[Optional[str], typer.Option(help="HF dataset: the config (wikiann's 'sw', a "
                      "multi-config export's language); the error lists them when one is needed.")] = None,
    revision: Annotated[Optional[str], typer.Option(help="HF Hub dataset: the revision (branch, tag "
                        "or commit) to read.")] = None,
    strict: Annotated[bool, typer.Option(help="Reject ill-formed tag sequences instead of "
                      "repairing them.")] = False,
    force: Annotated[bool, typer.Option(help="Store a new version even when this input was ingested "
                     "under this name with these options already.")] = False,
    init: Annotated[bool, typer.Option("--init", help="Add the workbench tables to an existing DuckDB "
                    "database that holds other tables (refused without it).")] = False,
    lock_timeout: LockTimeoutOpt = None,
    db: DbOpt = None,
) -> None:
    """Read a labelled file or dataset into a new stored version.

    Example: workbench ingest data/sample-en.conll --name sample-en --lang en

    A Hub dataset with configs: workbench ingest wikiann --config sw --split train --name wikiann-sw --lang sw
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from workbench.load.ingest import ingest as run
    from workbench.load.registry import detect_format

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
    for key, value in (("config", config), ("revision", revision)):
        if value is not None:
            if fmt != "hf":
                raise typer.BadParameter(f"--{key} is for HF datasets, not {fmt} files", param_hint=f"--{key}")
            opts[key] = value
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
        bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                       TextColumn("{task.completed:,} examples"), TimeElapsedColumn(),
                       console=err, transient=True, disable=not err.is_terminal)
        with bar:
            task = bar.add_task(f"ingesting {path}", total=None)
            store = store_at(db, init=init, lock_timeout=lock_timeout)
            before = {x.id for x in store.versions(name)}
            v = run(path, name=name, store=store, lang=lang, format=fmt, force=force,
                    progress=lambda n: bar.update(task, completed=n), **opts)
    for msg in shown:
        err.print(styled(("warning:", "yellow"), " ", msg))
    if count > len(shown):
        err.print(styled((f"... and {count - len(shown)} more warnings", "yellow")))
    if v.id in before:
        console.print(styled("already stored ", (v.ref, "bold"), f": {v.n_examples} examples, {v.n_spans} "
                             "spans (the same input and options; --force stores a new version)"))
        return
    console.print(styled("stored ", (v.ref, "bold"), f": {v.n_examples} examples, {v.n_spans} spans"))
