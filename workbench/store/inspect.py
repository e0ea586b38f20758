"""Inspection SQL where it cannot write anything: ``workbench sql`` and :meth:`Store.sql`.

Each call runs in a DuckDB instance of its own (not the store's shared one, which stages and
commits through Parquet and so needs file access): the store file is attached read-only, then
external access (files, other databases, extensions) is switched off and the configuration
locked, so no statement can attach, copy, export or change a setting; the instance is closed
after the call, so nothing (a setting, a table in ``memory``) reaches the next one. Statements
are classified by DuckDB's own parser (``extract_statements``): only queries run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from workbench.core.errors import StoreError
from workbench.store.engine import cannot_open, locked_error, quote
from workbench.store.schema import VIEWS

__all__ = ["READ_PRAGMAS", "inspect", "statements"]

#: statement types that only read
_QUERIES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
#: PRAGMAs that only describe (others set things: refused)
READ_PRAGMAS = ("table_info", "show_tables", "show_tables_expanded", "show", "database_list",
                "database_size", "storage_info", "version", "platform", "functions")
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([a-z_]+)", re.IGNORECASE)
_FIX = ("inspection SQL only reads: SELECT, WITH ..., FROM ..., DESCRIBE, SHOW, SUMMARIZE, EXPLAIN "
        f"(tables: versions, examples; views: {', '.join(VIEWS)}); change the store with workbench "
        "commands")


def statements(query: str) -> list[str]:
    """The statements of ``query``, each checked to be a read; a :class:`StoreError` naming the
    first one that is not (nothing runs then)."""
    try:
        parsed = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise StoreError(f"SQL error: {exc}", fix="check the query") from None
    out = []
    for st in parsed:
        text = st.query.strip().rstrip(";").strip()
        kind = st.type
        ok = kind in _QUERIES
        if kind == duckdb.StatementType.PRAGMA:
            m = _PRAGMA_NAME.match(text)
            ok = bool(m) and m.group(1).lower() in READ_PRAGMAS
        if not ok:
            name = getattr(kind, "name", str(kind))
            raise StoreError(f"read-only inspection: {name} statements are not run ({text[:80]!r})",
                             fix=_FIX)
        out.append(text)
    return out


def _open(path: Path, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    """A private instance with ``path`` attached read-only and every way out closed. While a
    writer holds the file, the attach is retried often (a reader should slip in between a
    stage's short writes), on the same instance (starting one costs more than an attach)."""
    deadline = time.monotonic() + lock_timeout
    delay = 0.01
    con = duckdb.connect(":memory:")
    try:
        while True:
            try:
                con.execute(f"ATTACH {quote(str(path))} AS store (READ_ONLY)")
                break
            except duckdb.IOException as exc:
                msg = str(exc)
                if "lock" not in msg.lower():
                    raise cannot_open(path, msg) from None
                if time.monotonic() >= deadline:
                    raise locked_error(path, msg, lock_timeout) from None
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.005)))
                delay = min(delay * 1.5, 0.1)
            except duckdb.Error as exc:
                raise cannot_open(path, exc) from None
        con.execute("USE store")
        con.execute("SET enable_external_access = false")  # no files, no other databases
        con.execute("SET lock_configuration = true")  # and no statement can switch it back
    except BaseException:
        con.close()
        raise
    return con


def inspect(path: Path, query: str, params: Sequence[Any] | None = None, *,
            lock_timeout: float = 30.0) -> pa.Table:
    """Run the read-only statements of ``query`` on the store at ``path``; the last one's result."""
    texts = statements(query)
    if not texts:
        raise StoreError("the query is empty", fix="pass a statement, e.g. SELECT * FROM version_refs")
    if not path.exists():
        raise StoreError(f"no corpus store at {path}",
                         fix="ingest a corpus first (workbench ingest PATH --name NAME), or pass --db / "
                             "set WORKBENCH_DB to the right file")
    con = _open(path, lock_timeout)
    try:
        result = pa.table({})
        for i, text in enumerate(texts):
            args = list(params) if params and i == len(texts) - 1 else None
            try:
                rel = con.sql(text, params=args)
                result = rel.to_arrow_table() if rel is not None else pa.table({})
            except duckdb.Error as exc:
                raise StoreError(f"SQL error: {exc}", fix=_FIX) from None
        return result
    finally:
        con.close()
