"""Examples <-> Arrow tables in the store's schema (the hot path of every stage that writes or
reads a version): built column by column from flat lists, never row by row."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from workbench.core.records import _UNSPACED_RE, Example, Span, SpanOutcome, _token_re, tokenize

__all__ = ["OFFSET_TYPE", "SPAN_TYPE", "OUTCOME_TYPE", "EXAMPLE_SCHEMA", "examples_to_arrow",
           "examples_from_arrow", "numeric", "offsets_column", "strings", "texts_table"]

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

def _validity(n: int, missing: list[int]) -> pa.Buffer | None:
    """The validity bitmap of ``n`` values with nulls at ``missing`` (``None`` when there are none)."""
    if not missing:
        return None
    import numpy as np

    valid = np.ones(n, bool)
    valid[missing] = False
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def strings(values: Sequence[str | None]) -> pa.Array:
    """``pa.array(values, pa.string())``, assembled from its buffers.

    Why: ``pa.array`` imports pandas on its first call in a process (it checks whether the input
    is a pandas object), which the translate stage, writing a column table per chunk, would pay
    for nothing. Falls back to ``pa.array`` past 2 GiB of text (the 32-bit offsets of
    ``pa.string()``)."""
    import numpy as np

    n = len(values)
    missing = [i for i, v in enumerate(values) if v is None]
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, n), out=offsets[1:])
    if offsets[-1] >= 2**31:
        return pa.array(values, pa.string())
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded)),
                                       _validity(n, missing), len(missing))


def numeric(values: Any, typ: pa.DataType) -> pa.Array:
    """``pa.array(values, typ)`` of a fixed-width type (ints, floats, timestamps), from a numpy
    array or a list (``None``: null), assembled from its buffers (see :func:`strings`)."""
    import numpy as np

    dtype = f"datetime64[{typ.unit}]" if pa.types.is_timestamp(typ) else typ.to_pandas_dtype()
    missing: list[int] = []
    if not isinstance(values, np.ndarray):
        missing = [i for i, v in enumerate(values) if v is None]
        values = np.asarray([0 if v is None else v for v in values] if missing else values, dtype=dtype)
    values = values.astype(dtype, copy=False)
    if pa.types.is_timestamp(typ):
        values = values.view(np.int64)
    return pa.Array.from_buffers(typ, len(values), [_validity(len(values), missing),
                                                    pa.py_buffer(np.ascontiguousarray(values))], len(missing))


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


def offsets_column(texts: Sequence[str]) -> pa.ListArray:
    """``tokenize(t)`` of every text as one Arrow column of :data:`OFFSET_TYPE` lists.

    One pass over the texts joined by newlines instead of one per text (a stage writing machine
    translations tokenises every output): a token never contains whitespace, so no token crosses
    a newline and each text's tokens are the same as on its own. ASCII texts are tokenised on
    their bytes with numpy (:func:`_ascii_spans`), the others by the regex; texts with characters
    of unspaced scripts take :func:`tokenize` (those are split further)."""
    import numpy as np

    n = len(texts)
    ascii_ = [i for i, t in enumerate(texts) if t.isascii()]
    if len(ascii_) == n:
        owner, starts, ends = _joined_spans(texts, ascii=True)
    elif not ascii_:
        owner, starts, ends = _joined_spans(texts, ascii=False)
    else:  # each part on its own, merged back in text order (a stable sort by text)
        other = [i for i, t in enumerate(texts) if not t.isascii()]
        parts = [(np.array(idx, np.int64), _joined_spans([texts[i] for i in idx], ascii=flag))
                 for idx, flag in ((ascii_, True), (other, False))]
        owner = np.concatenate([idx[o] for idx, (o, _, _) in parts])
        starts = np.concatenate([s for _, (_, s, _) in parts])
        ends = np.concatenate([e for _, (_, _, e) in parts])
        order = np.argsort(owner, kind="stable")
        owner, starts, ends = owner[order], starts[order], ends[order]
    bounds = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(owner, minlength=n), out=bounds[1:])
    values = pa.StructArray.from_arrays([numeric(starts, pa.int32()), numeric(ends, pa.int32())],
                                        fields=list(OFFSET_TYPE))
    return pa.ListArray.from_arrays(numeric(bounds, pa.int32()), values)


def _joined_spans(texts: Sequence[str], *, ascii: bool) -> tuple[Any, Any, Any]:
    """(text index, start, end) of every token of ``texts``, by text (numpy arrays)."""
    import numpy as np

    n = len(texts)
    bases = np.zeros(n, np.int64)
    np.cumsum(np.fromiter(map(len, texts), np.int64, n)[:-1] + 1, out=bases[1:])
    joined = "\n".join(texts)
    if ascii:
        flat = _ascii_spans(joined)
    else:
        flat = np.fromiter(itertools.chain.from_iterable(map(re.Match.span, _token_re().finditer(joined))),
                           np.int64)
    owner = np.searchsorted(bases, flat[0::2], side="right") - 1
    starts, ends = flat[0::2] - bases[owner], flat[1::2] - bases[owner]
    if ascii or not _UNSPACED_RE.search(joined):
        return owner, starts, ends
    # texts with unspaced characters: their tokens from tokenize(), in their place
    unspaced = [i for i, t in enumerate(texts) if _UNSPACED_RE.search(t)]
    keep = ~np.isin(owner, unspaced)
    extra = np.array([(i, a, b) for i in unspaced for a, b in tokenize(texts[i])], np.int64).reshape(-1, 3)
    owner = np.concatenate([owner[keep], extra[:, 0]])
    starts = np.concatenate([starts[keep], extra[:, 1]])
    ends = np.concatenate([ends[keep], extra[:, 2]])
    order = np.argsort(owner, kind="stable")
    return owner[order], starts[order], ends[order]


_ASCII_CLASSES: Any = None


def _ascii_spans(text: str) -> Any:
    """The token spans of an ASCII ``text`` (flat: start, end, start, end, ...), as the regex of
    :func:`tokenize` finds them, computed on the bytes at once. In ASCII the regex is: runs of
    word characters, joined by one ``-``, ``'`` or ``.`` between two word characters, or one other
    non-space character (combining marks, emoji sequences and ``’`` are not ASCII)."""
    import numpy as np

    global _ASCII_CLASSES
    if _ASCII_CLASSES is None:  # word and space as Python's regex classes them (\x1c-\x1f are spaces)
        word = np.array([re.match(r"\w", chr(c)) is not None for c in range(128)])
        space = np.array([re.match(r"\s", chr(c)) is not None for c in range(128)])
        joiner = np.zeros(128, bool)
        joiner[[ord("-"), ord("'"), ord(".")]] = True
        _ASCII_CLASSES = word, space, joiner
    word_t, space_t, joiner_t = _ASCII_CLASSES
    b = np.frombuffer(text.encode("ascii"), np.uint8)
    w = np.zeros(len(b) + 2, bool)  # padded by one non-word character each side
    w[1:-1] = word_t[b]
    joined = joiner_t[b] & w[:-2] & w[2:]
    inword = np.zeros(len(b) + 2, bool)
    inword[1:-1] = w[1:-1] | joined
    single = ~inword[1:-1] & ~space_t[b]
    edges = np.flatnonzero(inword[1:] != inword[:-1])  # run starts and ends, alternating
    starts = np.concatenate([edges[0::2], np.flatnonzero(single)])
    ends = np.concatenate([edges[1::2], np.flatnonzero(single) + 1])
    order = np.argsort(starts, kind="stable")
    flat = np.empty(2 * len(starts), np.int64)
    flat[0::2], flat[1::2] = starts[order], ends[order]
    return flat


def texts_table(ids: Sequence[str], texts: Sequence[str], *, splits: Sequence[str], lang: str,
                metas: Sequence[str | None]) -> pa.Table:
    """A table in :data:`EXAMPLE_SCHEMA` of examples made of a text, its :func:`tokenize`
    offsets and ``meta`` (JSON text), without spans: what ``examples_to_arrow`` makes of
    ``Example(id, text, offsets=tokenize(text), lang=lang, split=split, meta=json.loads(meta))``,
    built without the examples (``idx`` counts from 0)."""
    n = len(ids)

    import numpy as np

    def empty(typ: pa.StructType) -> pa.Array:
        values = pa.StructArray.from_arrays([pa.nulls(0, f.type) for f in typ], fields=list(typ))
        return pa.ListArray.from_arrays(numeric(np.zeros(n + 1, np.int32), pa.int32()), values)

    # column builders that do not go through pa.array (see strings())
    arrays = [numeric(np.arange(n), pa.int64()), strings(ids), strings(splits), strings([lang] * n),
              strings(texts), offsets_column(texts), empty(SPAN_TYPE), empty(OUTCOME_TYPE), strings(metas)]
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
    """Examples from an Arrow table or batch in :data:`EXAMPLE_SCHEMA` (every column but ``id``
    optional: an absent one leaves its field empty). Converted column by column (fast)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    n = table.num_rows

    def column(name: str) -> list[Any]:
        return table.column(name).to_pylist() if name in table.column_names else [None] * n

    ids, texts, langs, splits, metas = (column(c) for c in ("id", "text", "lang", "split", "meta"))
    names = table.column_names
    offsets = _pairs(table, "offsets") if "offsets" in names else None
    spans = _structs(table, "spans", SPAN_TYPE, Span) if "spans" in names else None
    outcomes = _structs(table, "outcomes", OUTCOME_TYPE, SpanOutcome) if "outcomes" in names else None
    out = []
    for i in range(n):  # an absent column leaves its field empty (a fresh list per example)
        meta = metas[i]
        out.append(
            Example(
                id=ids[i],
                text=texts[i],
                offsets=offsets[i] if offsets is not None else [],
                spans=spans[i] if spans is not None else [],
                lang=langs[i] or "",
                split=splits[i] or "train",
                meta=(json.loads(meta) if isinstance(meta, str) else dict(meta)) if meta else {},
                outcomes=outcomes[i] if outcomes is not None else [],
            )
        )
    return out


def _pairs(table: pa.Table, name: str) -> list[list[tuple[int, int]]]:
    bounds, (starts, ends) = _flat_lists(table, name, ("start", "end"))
    return [list(zip(starts[a:b], ends[a:b], strict=True)) for a, b in zip(bounds, bounds[1:], strict=False)]


def _structs(table: pa.Table, name: str, typ: pa.StructType, cls: Any) -> list[list[Any]]:
    bounds, cols = _flat_lists(table, name, [f.name for f in typ])
    return [[cls(*t) for t in zip(*(x[a:b] for x in cols), strict=True)] if b > a else []
            for a, b in zip(bounds, bounds[1:], strict=False)]
