"""Parquet in the workbench schema (as the store and ``export --format parquet`` write it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.load.checks import check_meta, lone_surrogate

__all__ = ["read_parquet", "write_parquet"]


def read_parquet(path: str | Path, *, lang: str = "", split: str = "train",
                 batch_size: int = 2000) -> Iterator[Example]:
    """Parquet in the workbench schema (as written by :func:`write_parquet` or an export).

    Columns must have the schema's types (a string ``text``, integer offsets, ...; integer ids
    are read as strings); a wrong type, a null ``id`` or ``text`` and a damaged or truncated file
    are errors naming the column or the row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.core.arrow import examples_from_arrow

    path = Path(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"not a readable Parquet file: {exc}", where=str(path),
                         fix=_truncated(path) or "give a Parquet file (workbench export --format parquet)") from None
    names = set(pf.schema_arrow.names)
    missing = {"id", "text", "offsets", "spans"} - names
    if missing:
        raise InputError(f"Parquet file lacks columns {sorted(missing)}", where=str(path),
                         fix="write it with workbench export --format parquet")
    for f in pf.schema_arrow:
        if f.name in _EXPECTED:
            problem = _EXPECTED[f.name](f.type)
            if problem:
                raise InputError(f"column {f.name!r} is {f.type}: {problem}", where=str(path),
                                 fix="write it with workbench export --format parquet")
    wanted = [n for n in pf.schema_arrow.names if n in _EXPECTED]
    batches = pf.iter_batches(batch_size=batch_size, columns=wanted)
    done = 0
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            table = pa.Table.from_batches([batch])
            if pa.types.is_integer(table.schema.field("id").type):  # ids are strings; integers read as such
                table = table.set_column(table.schema.get_field_index("id"), "id",
                                         table.column("id").cast(pa.string()))
            exs = examples_from_arrow(_narrowed(table, f"{path}: rows {done}-{done + len(table) - 1}"))
        except InputError:
            raise
        except json.JSONDecodeError as exc:
            raise InputError(f"a meta value after row {done} is not JSON ({exc.msg})", where=str(path),
                             fix="the meta column holds JSON objects as strings (or nulls)") from None
        except RecursionError:
            raise InputError(f"a meta value after row {done} is nested too deeply to read", where=str(path),
                             fix="flatten meta: it is free metadata that every stage reads and writes again") from None
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise InputError(f"corrupt Parquet data after {done} rows: {exc}", where=str(path),
                             fix="re-export the file; it may be truncated or damaged") from None
        for ex in exs:
            where = f"{path}: row {done}" + (f" (id {ex.id})" if ex.id is not None else "")
            _check_row(ex, where)
            ex.lang = ex.lang or lang
            done += 1
            yield ex


def _truncated(path: Path) -> str | None:
    """The fix for a file that does not end with Parquet's footer magic, None when it does."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4))
            tail = fh.read(4)
    except OSError:
        return None
    if tail == b"PAR1":
        return None
    return "the file does not end as Parquet files do (PAR1): it is truncated or not Parquet; write it again"


def _string(t: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_null(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return None
    if pa.types.is_dictionary(t) and _string(t.value_type) is None:
        return None
    return "it should hold strings"


def _id(t: Any) -> str | None:
    import pyarrow as pa

    return None if pa.types.is_integer(t) or (_string(t) is None and not pa.types.is_null(t)) else \
        "it should hold strings (or integers)"


def _structs(required: dict[str, str]) -> Callable[[Any], str | None]:
    """A check of a list-of-struct column: each field in ``required`` (``int``, ``str`` or
    ``num``) present with that kind of type; other fields of the schema may be missing."""
    def check(t: Any) -> str | None:
        import pyarrow as pa

        if pa.types.is_null(t):
            return None
        if not (pa.types.is_list(t) or pa.types.is_large_list(t)) or not pa.types.is_struct(t.value_type):
            return "it should be a list of structs"
        st = t.value_type
        for name, kind in required.items():
            i = st.get_field_index(name)
            if i < 0:
                if kind.endswith("?"):
                    continue
                return f"its structs lack the field {name!r}"
            ft = st.field(i).type
            ok = {"int": pa.types.is_integer(ft), "str": _string(ft) is None,
                  "num": pa.types.is_integer(ft) or pa.types.is_floating(ft)}[kind.rstrip("?")]
            if not ok and not pa.types.is_null(ft):
                return f"field {name!r} is {ft}"
        return None
    return check


#: column -> check of its Arrow type (None: fine, else what is wrong)
_EXPECTED: dict[str, Callable[[Any], str | None]] = {
    "id": _id, "text": _string, "split": _string, "lang": _string, "meta": _string,
    "offsets": _structs({"start": "int", "end": "int"}),
    "spans": _structs({"start": "int", "end": "int", "label": "str", "token_start": "int",
                       "token_end": "int", "score": "num?", "source": "int?"}),
    "outcomes": _structs({"source": "int", "label": "str", "outcome": "str", "reason": "str?",
                          "projector": "str?", "score": "num?"}),
}


def _narrowed(table: Any, where: str) -> Any:
    """``table`` with its integer struct fields cast to the store's (int32): a value that does
    not fit is an ArrowInvalid here, not later in the store."""
    import pyarrow as pa

    from workbench.core.arrow import EXAMPLE_SCHEMA

    for name in ("offsets", "spans", "outcomes"):
        if name not in table.column_names or pa.types.is_null(table.schema.field(name).type):
            continue
        target = EXAMPLE_SCHEMA.field(name).type.value_type
        st = table.schema.field(name).type.value_type
        fields = [pa.field(f.name, target.field(f.name).type if target.get_field_index(f.name) >= 0
                           else f.type) for f in st]
        try:
            col = table.column(name).cast(pa.list_(pa.struct(fields)))
        except pa.ArrowInvalid as exc:
            raise InputError(f"column {name!r} holds a value the store cannot hold ({exc})",
                             where=where, fix="offsets and indices are 32-bit integers") from None
        table = table.set_column(table.schema.get_field_index(name), name, col)
    return table


def _check_row(ex: Example, where: str) -> None:
    """Nulls where the schema needs a value, meta that is not an object, bad spans: errors."""
    if ex.id is None or ex.text is None:
        raise InputError(f"{'id' if ex.id is None else 'text'} is null", where=where,
                         fix="every row needs an id and a text")
    if not isinstance(ex.meta, dict):
        raise InputError("meta is not a JSON object", where=where, fix="meta holds a JSON object (or null)")
    check_meta(ex.meta, where)
    at = lone_surrogate(ex.meta, "meta")
    if at is not None:
        raise InputError(f"{at} holds half of a UTF-16 surrogate pair", where=where,
                         fix="write meta without lone \\uD800-\\uDFFF escapes")
    if any(s is None or e is None for s, e in ex.offsets):
        raise InputError("a token offset is null", where=where, fix="every token has a start and an end")
    for sp in ex.spans:
        if None in (sp.start, sp.end, sp.label, sp.token_start, sp.token_end):
            raise InputError(f"span {sp} has a null field", where=where,
                             fix="spans need start, end, label, token_start and token_end")
    for o in ex.outcomes:
        if None in (o.source, o.label, o.outcome):
            raise InputError(f"outcome {o} has a null field", where=where,
                             fix="outcomes need source, label and outcome")
    ex.validate(where)


def write_parquet(examples: Iterable[Example], path: Path, *, batch_size: int = 2000) -> int:
    """Parquet in the workbench schema, streamed in batches."""
    import pyarrow.parquet as pq

    from workbench.core.arrow import EXAMPLE_SCHEMA, examples_to_arrow

    n = 0
    buf: list[Example] = []
    with pq.ParquetWriter(path, EXAMPLE_SCHEMA) as w:
        for ex in examples:
            buf.append(ex)
            if len(buf) >= batch_size:
                w.write_table(examples_to_arrow(buf, n))
                n += len(buf)
                buf = []
        if buf:
            w.write_table(examples_to_arrow(buf, n))
            n += len(buf)
    return n
