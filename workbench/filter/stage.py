"""The filter stage: run registered quality filters over a stored version.

The output is a new version of the same corpus (stage ``"filter"``, parent = the input) holding
the examples every filter kept. Every decision, kept or not, is stored in the side table
``filter_decisions`` in the same transaction (one row per output version, example and filter),
so a rejected example stays queryable with its filter and reason::

    SELECT filter, reason, count(*) FROM filter_rows WHERE ref = 'conll-en.de@3' AND NOT kept
    GROUP BY ALL

Stateless filters run first, then stateful ones (duplicates) in the order given; a stateful filter
only remembers examples that every earlier filter kept, so a duplicate of a rejected example is
not rejected because of it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

import pyarrow as pa

from workbench.core.errors import ConfigError, StoreError
from workbench.core.records import Example
from workbench.core.signature import Signature
from workbench.filter.base import Filter, FilterContext, Item
from workbench.filter.registry import FILTERS, get
from workbench.store.lineage import chain, source_version
from workbench.store.store import (
    FILTER_PREFIX,
    Store,
    Version,
    clean_stale_dirs,
    examples_from_arrow,
    stale_prefix,
)

__all__ = ["filter_version", "FilterRun", "parse_options", "DECISION_SCHEMA"]

_TMP_PREFIX = FILTER_PREFIX  # named by the store, so a pipeline run cleans its leftovers too

#: Arrow schema of the staged decisions (``version_id`` is added at commit time).
DECISION_SCHEMA = pa.schema([
    ("input_version_id", pa.int32()), ("example_id", pa.string()), ("idx", pa.int64()),
    ("filter", pa.string()), ("kept", pa.bool_()), ("reason", pa.string()),
    ("detail", pa.string()), ("value", pa.float64()),
])


@dataclass
class FilterRun:
    """Counts of a filter run (also derivable from ``filter_decisions``).

    ``rejected_by`` counts rejections per filter; an example rejected by two filters counts for
    both, so the values may add up to more than :attr:`n_rejected`.
    """

    version: Version
    n_input: int
    n_kept: int
    rejected_by: dict[str, int]
    #: per filter, the examples it could not judge and let through (``no-score``: no MT score)
    not_scored: dict[str, int] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return self.n_input - self.n_kept


def _coerce(name: str, key: str, value: Any, hint: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    v = value.strip()
    if v.lower() in ("none", "null", "auto", "") and "None" in text:
        return None
    try:
        if text.startswith("bool"):
            if v.lower() in ("1", "true", "yes", "on"):
                return True
            if v.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(v)
        if text.startswith("int"):
            return int(v)
        if text.startswith("float"):
            return float(v)
    except ValueError:
        raise ConfigError(f"option {name}.{key}={value!r} is not a {text}",
                          fix=f"give a {text.split(' |')[0]} value") from None
    return v


def parse_options(names: Sequence[str], options: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-filter options from ``{"length-ratio.v1.max": "2.5"}`` or ``{"length-ratio.v1":
    {"max": 2.5}}``; strings are converted to the option's type."""
    out: dict[str, dict[str, Any]] = {n: {} for n in names}
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            name, opts = key, dict(value)
        else:
            name = next((n for n in sorted(FILTERS, key=len, reverse=True) if key.startswith(n + ".")),
                        None)
            if name is None:
                raise ConfigError(f"option {key!r} names no registered filter",
                                  fix="write FILTER.OPTION=VALUE, e.g. length-ratio.v1.max=2.5")
            opts = {key[len(name) + 1:]: value}
        if name not in out:
            raise ConfigError(f"option for {name}, which is not among the filters ({', '.join(names)})",
                              fix=f"add {name} to --filters or drop the option")
        cls = FILTERS[name]
        hints = get_type_hints(cls)
        known = {f.name for f in fields(cls) if f.init}
        for k, val in opts.items():
            if k not in known:
                raise ConfigError(f"filter {name} has no option {k!r}",
                                  fix=f"options of {name}: {', '.join(sorted(known)) or 'none'}")
            out[name][k] = _coerce(name, k, val, hints.get(k, str))
    return out


def _fmt_params(p: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={'auto' if v is None else v}" for k, v in p.items())


def _sources(store: Store, src: Version | None, ids: list[str]) -> dict[str, Example]:
    if src is None or not ids:
        return {}
    with store.connect() as con:
        tbl = con.sql(
            "SELECT idx, id, split, lang, text, offsets, spans, outcomes, meta::VARCHAR AS meta "
            "FROM examples WHERE version_id = ? AND id IN (SELECT unnest(?::VARCHAR[]))",
            params=[src.id, ids],
        ).to_arrow_table()
    return {ex.id: ex for ex in examples_from_arrow(tbl)}


def filter_version(
    ref: str | Version,
    *,
    filters: Sequence[str | Filter],
    options: Mapping[str, Any] | None = None,
    store: Store | None = None,
    batch_size: int = 1000,
    force: bool = False,
) -> FilterRun:
    """Filter a stored version; returns the new version (kept examples) and counts.

    Args:
        ref: the input version (``corpus`` or ``corpus@N``).
        filters: registered names (``"length-ratio.v1"``) or configured :class:`Filter` objects.
        options: per-filter options, ``{"NAME.OPTION": value}`` or ``{"NAME": {"OPTION": value}}``.
        force: filter again even when a version with the same signature exists.
    """
    store = store or Store()
    v = store.resolve(ref)
    if not filters:
        raise ConfigError("no filters given", fix=f"choose from: {', '.join(sorted(FILTERS))}")
    names = [f if isinstance(f, str) else f.name for f in filters]
    if len(set(names)) != len(names):
        raise ConfigError(f"a filter is listed twice: {', '.join(names)}", fix="list each filter once")
    opts = parse_options(names, options)
    objs: list[Filter] = [get(f, **opts[f]) if isinstance(f, str) else f for f in filters]
    ordered = [f for f in objs if not f.stateful] + [f for f in objs if f.stateful]

    sig = Signature("filter").add("parent", v.ref)
    for f in ordered:
        sig.add(f.name, _fmt_params(f.params()))
    if not force:
        done = store.find(sig.key())
        if done is not None and done.parents == [v.id]:
            return _run_from_store(store, done, v)

    src = source_version(store, v)
    ctx = FilterContext(store, v, src, chain(store, v))
    for f in ordered:
        f.prepare(ctx)

    counts = {"kept": 0}
    rejected_by: dict[str, int] = {}
    not_scored: dict[str, int] = {}
    # named after this process, so a later run removes it if this one is killed
    clean_stale_dirs(store.path.parent, _TMP_PREFIX)
    try:
        workdir = tempfile.TemporaryDirectory(prefix=stale_prefix(_TMP_PREFIX), dir=store.path.parent)
    except OSError as exc:
        raise StoreError(f"cannot write beside the store: {exc.strerror or exc}", where=str(store.path.parent),
                         fix="check that the store's directory is writable and the disk has space") from None
    with workdir as tmp:
        staged = Path(tmp) / "decisions.parquet"
        import pyarrow.parquet as pq

        writer = pq.ParquetWriter(staged, DECISION_SCHEMA)

        def kept_examples() -> Iterator[list[Example]]:
            idx = 0
            for batch in store.iter_batches(v, batch_size):
                srcs = _sources(store, src, [ex.id for ex in batch])
                items = [Item(ex, srcs.get(ex.id)) for ex in batch]
                alive = [True] * len(items)
                cols: dict[str, list[Any]] = {n: [] for n in DECISION_SCHEMA.names}
                for f in ordered:
                    ds = f.decide(items, alive)
                    if len(ds) != len(items):
                        raise ConfigError(f"filter {f.name} returned {len(ds)} decisions for "
                                          f"{len(items)} examples", fix="fix the filter's decide()")
                    for i, d in enumerate(ds):
                        cols["input_version_id"].append(v.id)
                        cols["example_id"].append(items[i].example.id)
                        cols["idx"].append(idx + i)
                        cols["filter"].append(f.name)
                        cols["kept"].append(bool(d.kept))
                        cols["reason"].append(d.reason)
                        cols["detail"].append(d.detail)
                        cols["value"].append(None if d.value is None else float(d.value))
                        if not d.kept:
                            rejected_by[f.name] = rejected_by.get(f.name, 0) + 1
                            alive[i] = False
                        elif d.reason == "no-score":
                            not_scored[f.name] = not_scored.get(f.name, 0) + 1
                writer.write_table(pa.table(cols, schema=DECISION_SCHEMA))
                idx += len(items)
                keep = [it.example for it, a in zip(items, alive, strict=True) if a]
                counts["kept"] += len(keep)
                yield keep
            writer.close()

        def on_commit(con: Any, vid: int) -> None:
            con.execute(
                "INSERT INTO filter_decisions SELECT ? AS version_id, input_version_id, example_id, "
                "idx, filter, kept, reason, detail, value FROM read_parquet(?)",
                [vid, str(staged)],
            )

        params = {"filters": {f.name: f.params() for f in ordered}, "input": v.ref}
        try:
            out = store.write_version(kept_examples(), corpus=v.corpus, stage="filter", signature=sig,
                                      parents=[v], params=params, lang=v.lang, on_commit=on_commit,
                                      validate=False, reuse=not force)
        finally:
            if writer.is_open:
                writer.close()
    return FilterRun(out, v.n_examples, counts["kept"], rejected_by, not_scored)


def _run_from_store(store: Store, out: Version, inp: Version) -> FilterRun:
    with store.connect() as con:
        rows = con.execute(
            "SELECT filter, count(*) FROM filter_decisions WHERE version_id = ? AND NOT kept "
            "GROUP BY filter",
            [out.id],
        ).fetchall()
        unscored = con.execute(
            "SELECT filter, count(*) FROM filter_decisions WHERE version_id = ? AND kept AND "
            "reason = 'no-score' GROUP BY filter", [out.id]).fetchall()
    return FilterRun(out, inp.n_examples, out.n_examples, dict(rows), dict(unscored))
