"""Inspecting the store: ``workbench versions``, ``show``, ``sql``, ``diff``."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from workbench.cli.common import DbOpt, app, arrow_table, console, store_at, styled
from workbench.core.errors import ConfigError, StoreError


@app.command()
def versions(
    corpus: Annotated[Optional[str], typer.Argument(help="Only this corpus.")] = None,
    db: DbOpt = None,
) -> None:
    """List stored versions with their stage, counts and signature.

    Example: workbench versions
    """
    store = store_at(db)
    if not store.path.exists():
        raise StoreError(f"no corpus store at {store.path}",
                         fix="ingest a corpus first (workbench ingest PATH --name NAME), or pass --db / "
                             "set WORKBENCH_DB to the right file")
    all_versions = store.versions()
    vs = [v for v in all_versions if corpus is None or v.corpus == corpus]
    # fits the terminal (80 columns too): the signature, without the version and stage the row
    # shows already, is cut to the width the other columns leave; `show` prints it whole
    by_id = {v.id: v.ref for v in all_versions}
    rows = []
    for v in vs:
        sig = v.signature.split("|", 2)[-1] if v.signature.startswith("wb:") else v.signature
        rows.append([v.ref, v.stage, ",".join(by_id.get(p, str(p)) for p in v.parents), v.lang or "",
                     str(v.n_examples), str(v.n_spans), f"{v.created_at:%m-%d %H:%M}", sig])
    heads = ["ref", "stage", "parents", "lang", "examples", "spans", "created", "signature"]
    if console.width < 120:  # a narrow terminal: parents and dates give way (`show` has them)
        keep = [i for i, h in enumerate(heads) if h not in ("parents", "created")]
        heads, rows = [heads[i] for i in keep], [[r[i] for i in keep] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads[:-1])]
    room = max(16, console.width - sum(widths) - 3 * len(heads) - 1)
    t = Table(caption="full signatures: workbench show REF" if any(len(r[-1]) > room for r in rows) else None,
              caption_justify="left")
    for h in heads:
        t.add_column(h, no_wrap=True, justify="right" if h in ("examples", "spans") else "left")
    for r in rows:
        t.add_row(*r[:-1], r[-1] if len(r[-1]) <= room else r[-1][:room - 1] + "…")
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
    store = store_at(db)
    v = store.resolve(ref)
    by_id = {x.id: x.ref for x in store.versions()}
    parents = ",".join(by_id.get(p, str(p)) for p in v.parents)
    console.print(styled((v.ref, "bold"), f" stage={v.stage} examples={v.n_examples} spans={v.n_spans} "
                         f"parents={parents or '-'} created={v.created_at:%Y-%m-%d %H:%M}"))
    console.print(f"signature: {v.signature}", soft_wrap=True)  # one line: copy-pasteable
    shown = 0
    for ex in store.examples(v, batch_size=max(limit, 1)):
        if shown >= limit:
            break
        shown += 1
        spans = ", ".join(f"[{ex.text[s.start:s.end]}]{s.label}" for s in ex.spans)
        console.print(styled((ex.id, "cyan"), " ", ex.text))
        if spans:
            console.print(f"    {spans}")


class SqlOutput(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SELECT statement(s), read-only; several separated by ';' "
                     "print one result each.")],
    output: Annotated[SqlOutput, typer.Option("--output", "-o", help="Output format.")] = SqlOutput.table,
    db: DbOpt = None,
) -> None:
    """Run read-only SQL on the store (tables: versions, examples; views: version_refs, span_rows,
    label_counts, outcome_rows). Retries while another process holds the lock
    (WORKBENCH_LOCK_TIMEOUT seconds).

    Example: workbench sql "SELECT * FROM label_counts WHERE ref = 'sample-en@1'"
    """
    import duckdb

    try:
        statements = [st.query.strip() for st in duckdb.extract_statements(query)]
    except duckdb.Error as exc:
        raise ConfigError(f"SQL error: {exc}", fix="check the query") from None
    if not statements:
        raise ConfigError("the query is empty", fix="pass a statement, e.g. workbench sql \"SELECT * FROM "
                          "version_refs\"")
    store = store_at(db)
    for statement in statements:  # every statement's result, in order
        tbl = store.sql(statement)
        if len(statements) > 1 and output is SqlOutput.table:
            console.print(styled((statement, "bold")))
        _print_result(tbl, output)


def _plain_columns(tbl: Any) -> Any:
    """Nested columns (lists, structs, maps: spans, parents, ...) as JSON text, for CSV."""
    import pyarrow as pa

    cols = []
    for col in tbl.columns:
        if pa.types.is_nested(col.type):
            col = pa.array([None if v is None else json.dumps(v, default=str, ensure_ascii=False)
                            for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=tbl.column_names)


def _print_result(tbl: Any, output: SqlOutput) -> None:
    if output is SqlOutput.csv:
        import io

        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(_plain_columns(tbl), buf)
        sys.stdout.write(buf.getvalue().decode())
    elif output is SqlOutput.json:
        sys.stdout.write(json.dumps(tbl.to_pylist(), default=str, ensure_ascii=False) + "\n")
    else:
        console.print(arrow_table(tbl))


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="First version ref.")],
    b: Annotated[str, typer.Argument(help="Second version ref.")],
    db: DbOpt = None,
) -> None:
    """Examples and spans added, removed or changed between two versions, by label.

    Example: workbench diff sample-en.de@2 sample-en.de@3
    """
    from workbench.report.diff import diff as run

    d = run(a, b, store=store_at(db))
    console.print(f"{d.a} -> {d.b}: {len(d.examples_added)} examples added, "
                  f"{len(d.examples_removed)} removed, {len(d.examples_changed)} changed")
    t = Table("label", "spans added", "spans removed")
    for label, c in sorted(d.spans_by_label.items()):
        t.add_row(label, str(c["added"]), str(c["removed"]))
    console.print(t)
