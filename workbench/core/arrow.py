"""Examples <-> Arrow tables in the store's schema (the hot path of every stage that writes or
reads a version): built column by column from flat lists, never row by row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from workbench.core.records import Example, Span, SpanOutcome

__all__ = ["OFFSET_TYPE", "SPAN_TYPE", "OUTCOME_TYPE", "EXAMPLE_SCHEMA", "examples_to_arrow",
           "examples_from_arrow"]

OFFSET_TYPE = pa.struct([("start", pa.int32()), ("end", pa.int32())])
SPAN_TYPE = pa.struct(
    [
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("label", pa.string()),
        ("token_start", pa.int32()),
        ("token_end", pa.int32()),
        ("score", pa.float64()),
        ("source", pa.int32()),
    ]
)
OUTCOME_TYPE = pa.struct(
    [
        ("source", pa.int32()),
        ("label", pa.string()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("projector", pa.string()),
        ("score", pa.float64()),
    ]
)
#: Arrow schema of examples as staged and as returned by :meth:`Store.to_arrow`.
EXAMPLE_SCHEMA = pa.schema(
    [
        ("idx", pa.int64()),
        ("id", pa.string()),
        ("split", pa.string()),
        ("lang", pa.string()),
        ("text", pa.string()),
        ("offsets", pa.list_(OFFSET_TYPE)),
        ("spans", pa.list_(SPAN_TYPE)),
        ("outcomes", pa.list_(OUTCOME_TYPE)),
        ("meta", pa.string()),
    ]
)

def examples_to_arrow(examples: Sequence[Example], start_idx: int = 0) -> pa.Table:
    """Arrow table (:data:`EXAMPLE_SCHEMA`) of examples; ``idx`` counts from ``start_idx``.

    Built column by column from flat Python lists (no per-row dicts): this is the hot path of
    every stage that writes a version.
    """
    ids, splits, langs, texts, metas = [], [], [], [], []
    off_len: list[int] = [0]
    off_s: list[int] = []
    off_e: list[int] = []
    sp_len: list[int] = [0]
    sp: list[list[Any]] = [[] for _ in SPAN_TYPE]
    oc_len: list[int] = [0]
    oc: list[list[Any]] = [[] for _ in OUTCOME_TYPE]
    for ex in examples:
        ids.append(ex.id)
        splits.append(ex.split)
        langs.append(ex.lang)
        texts.append(ex.text)
        metas.append(json.dumps(ex.meta, ensure_ascii=False) if ex.meta else None)
        if ex.offsets:
            starts, ends = zip(*ex.offsets, strict=True)
            off_s.extend(starts)
            off_e.extend(ends)
        off_len.append(len(off_s))
        for x in ex.spans:
            for col, v in zip(sp, (x.start, x.end, x.label, x.token_start, x.token_end, x.score,
                                   x.source), strict=True):
                col.append(v)
        sp_len.append(sp_len[-1] + len(ex.spans))
        for o in ex.outcomes:
            for col, v in zip(oc, (o.source, o.label, o.outcome, o.reason, o.projector, o.score), strict=True):
                col.append(v)
        oc_len.append(oc_len[-1] + len(ex.outcomes))

    def lists(lengths: list[int], typ: pa.StructType, cols: list[list[Any]]) -> pa.Array:
        children = [pa.array(c, type=typ.field(i).type) for i, c in enumerate(cols)]
        values = pa.StructArray.from_arrays(children, fields=list(typ))
        return pa.ListArray.from_arrays(pa.array(lengths, pa.int32()), values)

    n = len(ids)
    arrays = [
        pa.array(range(start_idx, start_idx + n), pa.int64()),
        pa.array(ids, pa.string()),
        pa.array(splits, pa.string()),
        pa.array(langs, pa.string()),
        pa.array(texts, pa.string()),
        lists(off_len, OFFSET_TYPE, [off_s, off_e]),
        lists(sp_len, SPAN_TYPE, sp),
        lists(oc_len, OUTCOME_TYPE, oc),
        pa.array(metas, pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=EXAMPLE_SCHEMA)


def _flat_lists(table: pa.Table, name: str, fields: Sequence[str]) -> tuple[list[int], list[list[Any]]]:
    """Cumulative bounds per row and the struct fields as flat Python lists (nulls as empty)."""
    import pyarrow.compute as pc

    n = table.num_rows
    if name not in table.column_names:
        return [0] * (n + 1), [[] for _ in fields]
    col = table.column(name)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_pylist()
    bounds = [0]
    for k in lengths:
        bounds.append(bounds[-1] + k)
    flat = arr.flatten()
    return bounds, [flat.field(f).to_pylist() if flat.type.get_field_index(f) >= 0 else [None] * len(flat)
                    for f in fields]


def examples_from_arrow(table: pa.Table | pa.RecordBatch) -> list[Example]:
    """Examples from an Arrow table or batch in :data:`EXAMPLE_SCHEMA` (``idx``, ``lang``,
    ``split``, ``meta`` and ``outcomes`` optional). Converted column by column (fast)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    n = table.num_rows

    def column(name: str) -> list[Any]:
        return table.column(name).to_pylist() if name in table.column_names else [None] * n

    ids, texts, langs, splits, metas = (column(c) for c in ("id", "text", "lang", "split", "meta"))
    ob, (os_, oe) = _flat_lists(table, "offsets", ("start", "end"))
    sb, sc = _flat_lists(table, "spans", [f.name for f in SPAN_TYPE])
    cb, cc = _flat_lists(table, "outcomes", [f.name for f in OUTCOME_TYPE])
    out = []
    for i in range(n):
        a, b = ob[i], ob[i + 1]
        c, d = sb[i], sb[i + 1]
        e, f = cb[i], cb[i + 1]
        meta = metas[i]
        out.append(
            Example(
                id=ids[i],
                text=texts[i],
                offsets=list(zip(os_[a:b], oe[a:b], strict=True)),
                spans=[Span(*t) for t in zip(*(x[c:d] for x in sc), strict=True)] if d > c else [],
                lang=langs[i] or "",
                split=splits[i] or "train",
                meta=(json.loads(meta) if isinstance(meta, str) else dict(meta)) if meta else {},
                outcomes=[SpanOutcome(*t) for t in zip(*(x[e:f] for x in cc), strict=True)]
                if f > e else [],
            )
        )
    return out
