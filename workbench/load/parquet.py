"""Parquet in the workbench schema (as the store and ``export --format parquet`` write it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from workbench.core.errors import InputError
from workbench.core.records import Example

__all__ = ["read_parquet", "write_parquet"]


def read_parquet(path: str | Path, *, lang: str = "", split: str = "train",
                 batch_size: int = 2000) -> Iterator[Example]:
    """Parquet in the workbench schema (as written by :func:`write_parquet` or an export)."""
    import pyarrow.parquet as pq

    from workbench.core.arrow import EXAMPLE_SCHEMA, examples_from_arrow

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"not a readable Parquet file: {exc}", where=str(path)) from None
    missing = {"id", "text", "offsets", "spans"} - set(pf.schema_arrow.names)
    if missing:
        raise InputError(f"Parquet file lacks columns {sorted(missing)}", where=str(path),
                         fix="write it with workbench export --format parquet")
    import pyarrow as pa

    batches = pf.iter_batches(batch_size=batch_size)
    done = 0
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            cols = {n: batch.column(n) for n in batch.schema.names if n in EXAMPLE_SCHEMA.names}
            exs = examples_from_arrow(pa.table(cols))
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise InputError(f"corrupt Parquet data after {done} rows: {exc}", where=str(path),
                             fix="re-export the file; it may be truncated or damaged") from None
        for ex in exs:
            ex.lang = ex.lang or lang
            done += 1
            yield ex



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
