"""Hub-ready export: the layout ``datasets.load_dataset(DIR)`` and the Hugging Face Hub read.

One config per exported version (as wikiann and MasakhaNER have one config per language)::

    DIR/README.md                                   dataset card: YAML (configs, dataset_info) + text
    DIR/data/{config}/{split}-00000-of-0000N.parquet
    DIR/.workbench-export.json                      what was exported (refs, options, key)

Columns: ``id``, ``tokens``, ``ner_tags`` (sequence of ClassLabel, IOB2, fixed label order:
``O`` then ``B-X``/``I-X`` per label, the source's ClassLabel order kept when known), ``text``,
character-offset ``spans``, ``lang`` and the provenance columns ``src_text``, ``mt_score`` and
``outcomes`` (one per source span: projected / fallback / dropped, with reason and projector).
Every config has the same features, so languages can be concatenated.

The directory is written next to its destination and moved into place at the end: a crash
leaves either the previous export or the new one, never a half-written one.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError, InputError
from workbench.core.records import Example
from workbench.core.signature import content_hash
from workbench.load.hf import label_names
from workbench.store.lineage import ancestors
from workbench.store.lineage import root as source_root
from workbench.store.store import Store, Version, clean_stale_dirs, stale_prefix

__all__ = ["HubExportOptions", "export_hf", "hub_features", "config_names", "MARKER"]

MARKER = ".workbench-export.json"
SPLIT_ORDER = ("train", "validation", "test")
_CONFIG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")


@dataclass
class HubExportOptions:
    """Options of ``workbench export --format hf``.

    Attributes:
        config_names: one config name per exported ref (default: each version's language,
            else its corpus name; ``default`` for a single ref without language).
        license: Hub licence id for the card's YAML (``cc-by-4.0``, ``apache-2.0``, ``other``...).
        license_details: free text for the card's licence section (terms, attribution).
        source_license: licence of the source corpus, recorded in the card.
        pretty_name: title of the card (default: from the corpus name).
        shard_rows: examples per Parquet shard (default 200,000).
        overwrite: replace an existing directory that is not a workbench export, or an export of
            other corpora (without it, only an export of the same corpora is replaced).
    """

    config_names: list[str] | None = None
    license: str | None = None
    license_details: str | None = None
    source_license: str | None = None
    pretty_name: str | None = None
    shard_rows: int = 200_000
    overwrite: bool = False


def _span_feature() -> dict[str, Any]:
    import datasets

    v = datasets.Value
    return {"start": v("int32"), "end": v("int32"), "label": v("string"),
            "token_start": v("int32"), "token_end": v("int32"), "score": v("float64"),
            "source": v("int32")}


def hub_features(names: Sequence[str]) -> Any:
    """The ``datasets.Features`` of every exported config, with ``names`` as the tag order."""
    import datasets

    v = datasets.Value
    outcome = {"source": v("int32"), "label": v("string"), "outcome": v("string"),
               "reason": v("string"), "projector": v("string"), "score": v("float64")}
    return datasets.Features(
        {
            "id": v("string"),
            "tokens": datasets.Sequence(v("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(names))),
            "text": v("string"),
            "spans": datasets.List(_span_feature()),
            "lang": v("string"),
            "src_text": v("string"),
            "mt_score": v("float64"),
            "outcomes": datasets.List(outcome),
        }
    )


def config_names(versions: Sequence[Version], names: Sequence[str] | None = None) -> list[str]:
    """Config name per version: given, else language, else corpus name; unique and Hub-safe."""
    if names:
        if len(names) != len(versions):
            raise ConfigError(f"{len(names)} config names for {len(versions)} refs",
                              fix="give one --config-name per ref, in order")
        out = list(names)
    elif len(versions) == 1:
        out = [versions[0].lang or "default"]
    else:
        out = [v.lang or v.corpus for v in versions]
    for name in out:
        if not _CONFIG_RE.match(name):
            raise ConfigError(f"bad config name {name!r}",
                              fix="use letters, digits, '_', '-' and '.' (e.g. a language code)")
    dup = sorted({n for n in out if out.count(n) > 1})
    if dup:
        raise ConfigError(f"two refs would share the config name {dup[0]!r}",
                          fix="pass --config-name NAME once per ref to name them apart")
    return out


def source_label_names(store: Store, v: Version) -> list[str] | None:
    """ClassLabel names recorded at ingest (``meta['label_names']``) of ``v``'s oldest ancestor."""
    first = source_root(store, v)
    with store.connect() as con:
        row = con.execute(
            "SELECT meta->>'$.label_names' FROM examples WHERE version_id=? "
            "AND json_exists(meta, '$.label_names') ORDER BY idx LIMIT 1", [first.id]
        ).fetchone()
    if row and row[0]:
        names = json.loads(row[0])
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return names
    return None


def _labels(store: Store, versions: Sequence[Version]) -> list[str]:
    """Tag names over the labels of the versions and their ancestors (a label every span of
    which was dropped in projection still has its tags), in the source's order when known."""
    ids = sorted({x.id for v in versions for x in ancestors(store, v)})
    with store.connect() as con:
        rows = con.execute(
            "SELECT DISTINCT label FROM span_rows WHERE version_id IN (SELECT unnest(?))", [ids]
        ).fetchall()
    known = None
    for v in versions:
        known = source_label_names(store, v)
        if known:
            break
    return label_names({r[0] for r in rows}, known)


def _row(ex: Example, index: dict[str, int], where: str) -> dict[str, Any]:
    tags = ex.tags("iob2")
    try:
        ner = [index[t] for t in tags]
    except KeyError as exc:  # pragma: no cover - label_names covers every stored label
        raise InputError(f"tag {exc} is not in the label list", where=f"{where} example {ex.id}") from None
    mt = ex.meta.get("mt_score")
    return {
        "id": ex.id,
        "tokens": ex.tokens,
        "ner_tags": ner,
        "text": ex.text,
        "spans": [{"start": s.start, "end": s.end, "label": s.label, "token_start": s.token_start,
                   "token_end": s.token_end, "score": s.score, "source": s.source} for s in ex.spans],
        "lang": ex.lang,
        "src_text": ex.meta.get("src_text"),
        "mt_score": float(mt) if isinstance(mt, (int, float)) else None,
        "outcomes": [asdict(o) for o in ex.outcomes],
    }


def _split_counts(store: Store, v: Version) -> dict[str, int]:
    with store.connect() as con:
        rows = con.execute(
            "SELECT coalesce(split, 'train'), count(*) FROM examples WHERE version_id=? GROUP BY 1",
            [v.id],
        ).fetchall()
    counts = dict(rows)
    for split in counts:
        if not _SPLIT_RE.match(split):
            raise InputError(f"split name {split!r} of {v.ref} cannot be a Hub split",
                             fix="use word characters only (train, validation, test)")
    order = [s for s in SPLIT_ORDER if s in counts] + sorted(s for s in counts if s not in SPLIT_ORDER)
    return {s: counts[s] for s in order}


def _write_config(store: Store, v: Version, root: Path, config: str, features: Any,
                  shard_rows: int) -> dict[str, dict[str, int]]:
    """Write one config's shards; returns ``{split: {num_examples, num_bytes}}``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = features.arrow_schema
    index = {n: i for i, n in enumerate(features["ner_tags"].feature.names)}
    counts = _split_counts(store, v)
    shards = {s: max(1, math.ceil(n / shard_rows)) for s, n in counts.items()}
    writers: dict[str, Any] = {}
    written = {s: 0 for s in counts}
    nbytes = {s: 0 for s in counts}
    cfg_dir = root / "data" / config
    cfg_dir.mkdir(parents=True, exist_ok=True)

    def writer_for(split: str) -> Any:
        shard = written[split] // shard_rows
        key = f"{split}/{shard}"
        if key not in writers:
            prev = f"{split}/{shard - 1}"
            if prev in writers:
                writers.pop(prev).close()
            path = cfg_dir / f"{split}-{shard:05d}-of-{shards[split]:05d}.parquet"
            writers[key] = pq.ParquetWriter(path, schema)
        return writers[key]

    try:
        for batch in store.iter_batches(v):
            rows: dict[str, list[dict[str, Any]]] = {}
            for ex in batch:
                rows.setdefault(ex.split or "train", []).append(_row(ex, index, v.ref))
            for split, items in rows.items():
                while items:
                    room = shard_rows - written[split] % shard_rows
                    chunk, items = items[:room], items[room:]
                    tbl = pa.Table.from_pylist(chunk, schema=schema)
                    writer_for(split).write_table(tbl)
                    written[split] += len(chunk)
                    nbytes[split] += tbl.nbytes
    finally:
        for w in writers.values():
            w.close()
    return {s: {"num_examples": written[s], "num_bytes": nbytes[s]} for s in counts}


def _place(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move the finished directory ``tmp`` to ``out``, replacing a previous export."""
    if out.exists():
        ours = (out / MARKER).is_file()
        if out.is_file() or (not ours and any(out.iterdir()) and not overwrite):
            raise ConfigError(f"{out} exists and is not a workbench export",
                              fix="choose another output directory, or pass --overwrite")
        old = Path(tempfile.mkdtemp(prefix=stale_prefix(f".{out.name}.old-"), dir=out.parent))
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _check_replaces_only_ours(out: Path, vs: Sequence[Version], configs: Sequence[str]) -> None:
    """An export may replace an earlier export of the same corpora (newer versions, renamed
    configs), never silently drop a corpus it held."""
    old = read_marker(out)
    if not old:
        return
    corpora = {v.corpus for v in vs}  # a config renamed, a newer version: the same corpora
    lost = [f"{c} ({r})" for c, r in zip(old.get("configs") or [], old.get("refs") or [], strict=False)
            if str(r).rsplit("@", 1)[0] not in corpora]
    if lost:
        raise ConfigError(
            f"{out} holds an export of other refs; replacing it would drop {', '.join(lost)}",
            where=str(out), fix="export every ref the dataset should hold in one command "
            "(workbench export A B -f hf -o DIR), choose another directory, or pass --overwrite")


def export_key(versions: Sequence[Version], opts: HubExportOptions) -> str:
    """Stable key of an export: the versions' signatures and the options."""
    return content_hash([v.signature_key for v in versions], [v.ref for v in versions], asdict(opts))


def export_hf(store: Store, versions: Version | Sequence[Version], out: Path, **options: Any) -> int:
    """Write ``versions`` (one config each) in the Hub layout under ``out``; returns examples written.

    Options: the fields of :class:`HubExportOptions`.
    """
    from workbench.export.card import render_card

    vs = [versions] if isinstance(versions, Version) else list(versions)
    if not vs:
        raise ConfigError("nothing to export", fix="name at least one ref")
    unknown = set(options) - set(HubExportOptions.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown hf export options {sorted(unknown)}",
                          fix=f"use {sorted(HubExportOptions.__dataclass_fields__)}")
    opts = HubExportOptions(**options)
    if opts.shard_rows < 1:
        raise ConfigError("shard_rows must be at least 1")
    configs = config_names(vs, opts.config_names)
    out = Path(out)
    if not opts.overwrite:
        _check_replaces_only_ours(out, vs, configs)
    features = hub_features(_labels(store, vs))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for kind in ("tmp", "old"):  # left by a killed export
            clean_stale_dirs(out.parent, f".{out.name}.{kind}-")
        tmp = Path(tempfile.mkdtemp(prefix=stale_prefix(f".{out.name}.tmp-"), dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", where=str(out),
                         fix="check that the directory is writable and the disk has space") from None
    try:
        splits: dict[str, dict[str, dict[str, int]]] = {}
        for v, config in zip(vs, configs, strict=True):
            splits[config] = _write_config(store, v, tmp, config, features, opts.shard_rows)
        card = render_card(store, vs, configs, features, splits, opts)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        (tmp / MARKER).write_text(json.dumps({
            "key": export_key(vs, opts), "refs": [v.ref for v in vs], "configs": configs,
            "signatures": [v.signature for v in vs], "options": asdict(opts),
        }, indent=1), encoding="utf-8")
        _place(tmp, out, opts.overwrite)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"cannot write the export: {exc.strerror or exc}", where=str(out),
                         fix="check that the directory is writable and the disk has space") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sum(s["num_examples"] for cfg in splits.values() for s in cfg.values())


export_hf.multi = True  # type: ignore[attr-defined]


def read_marker(out: str | Path) -> dict[str, Any] | None:
    """The ``.workbench-export.json`` of an export directory, or None."""
    p = Path(out) / MARKER
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
