"""Hugging Face ``datasets`` reader (``hf``) and the conversion back to token-classification
datasets with ClassLabel tags."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example

__all__ = ["read_hf", "to_hf_dataset", "to_hf_dataset_dict", "label_names"]

_HF_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet",
                ".arrow": "arrow", ".txt": "text"}


def _load_hf(source: str | Path, config: str | None = None, revision: str | None = None) -> Any:
    import datasets

    p = Path(source)
    try:
        if p.is_dir() and any((p / f).exists() for f in
                              ("dataset_dict.json", "state.json", "dataset_info.json")):
            return datasets.load_from_disk(str(p))
        if p.is_file():
            builder = _HF_BUILDERS.get(p.suffix.lower())
            if builder is None:
                raise InputError(f"cannot load {p.suffix!r} files as a dataset", where=str(p),
                                 fix=f"use one of {sorted(_HF_BUILDERS)}")
            return datasets.load_dataset(builder, data_files=str(p))
        if p.is_dir() and config is None:
            # a Hub-layout directory (a workbench hf export, a cloned dataset repository) with
            # several configs: load_dataset would silently read only the default one
            names = _config_names(p)
            if len(names) > 1:
                raise InputError(f"the dataset has {len(names)} configs: {', '.join(names)}",
                                 where=str(source), fix=f"choose one with --config, e.g. --config {names[0]}")
        return datasets.load_dataset(str(source), config, revision=revision)
    except InputError:
        raise
    except Exception as exc:
        msg = str(exc)
        if "Config name is missing" in msg or "BuilderConfig" in msg and "not found" in msg:
            # a Hub dataset with configs (wikiann, PAN-X, MasakhaNER): the message lists them
            listed = msg.split("vailable", 1)[-1] if "vailable" in msg else msg
            raise InputError(f"choose a config of this dataset ({'no config given' if config is None else f'no config {config!r}'}); "
                             f"available{listed.strip()[:600]}", where=str(source),
                             fix="pass --config NAME (and --revision to pin the dataset's version)") from None
        raise InputError(f"cannot load dataset: {type(exc).__name__}: {msg}", where=str(source),
                         fix="pass a directory saved with save_to_disk, a data file or a Hub id "
                             "(with --config for a dataset with configs)") from None


def _config_names(p: Path) -> list[str]:
    import datasets

    try:
        return list(datasets.get_dataset_config_names(str(p)))
    except Exception:  # noqa: BLE001 - no configs declared: load_dataset decides
        return []


def _class_names(feature: Any) -> list[str] | None:
    import datasets

    inner = getattr(feature, "feature", None)
    if inner is None and isinstance(feature, list) and feature:
        inner = feature[0]
    return list(inner.names) if isinstance(inner, datasets.ClassLabel) else None



def read_hf(
    source: Any,
    *,
    lang: str = "",
    split: str | None = None,
    config: str | None = None,
    revision: str | None = None,
    tokens_column: str = "tokens",
    tags_column: str = "ner_tags",
    scheme: str = "iob2",
    strict: bool = False,
    names: list[str] | None = None,
    batch_size: int = 1000,
) -> Iterator[Example]:
    """A ``datasets.Dataset``/``DatasetDict``, or a local path (a ``save_to_disk`` folder, a
    JSON/CSV/Parquet data file) or a Hub id ``load_dataset`` reads. ``config`` and ``revision``
    go to ``load_dataset`` (a Hub dataset or a Hub-layout directory with several configs needs
    ``config``: without it the error lists them).

    ``ner_tags`` may be ClassLabel integers (names resolved), strings, or integers with
    ``names`` given. The label names, in their ClassLabel order, are kept in
    ``meta['label_names']`` of the first example of each split (:func:`to_hf_dataset` uses them).
    Example ids come from an ``id`` column (else ``{split}-{row}``); in a DatasetDict with
    several splits they are prefixed with the split (``train-0``), since split ids usually
    repeat, and the original is kept in ``meta['orig_id']``.
    """
    import datasets

    ds = _load_hf(source, config, revision) if isinstance(source, (str, Path)) else source
    if isinstance(ds, (datasets.IterableDataset, datasets.IterableDatasetDict)):
        raise InputError("streaming datasets are not supported", where=str(source),
                         fix="load it without streaming=True")
    if isinstance(ds, datasets.DatasetDict):
        if split is not None and split not in ds:
            raise InputError(f"no split {split!r} (splits: {list(ds)})", where=str(source),
                             fix="pass one of the splits, or none for all")
        parts = [(name, ds[name]) for name in ds if split is None or name == split]
    elif isinstance(ds, datasets.Dataset):
        parts = [(split or str(ds.split or "train"), ds)]
    else:
        raise InputError(f"not a datasets.Dataset or DatasetDict: {type(ds).__name__}",
                         fix="pass a Dataset, a DatasetDict or a path")
    prefix_ids = len(parts) > 1
    for split_name, d in parts:
        for col in (tokens_column, tags_column):
            if col not in d.column_names:
                raise InputError(f"dataset has no column {col!r} (columns: {d.column_names})",
                                 where=f"split {split_name}", fix="pass --tokens-column/--tags-column")
        class_names = _class_names(d.features[tags_column]) or names
        has_id = "id" in d.column_names
        # a workbench export (or any dataset) with a string `lang` column keeps its language
        # when --lang is not given
        has_lang = not lang and "lang" in d.column_names and str(getattr(d.features["lang"], "dtype", "")) == "string"
        cols = [tokens_column, tags_column] + (["id"] if has_id else []) + (["lang"] if has_lang else [])
        i = 0
        for batch in d.select_columns(cols).iter(batch_size=batch_size):
            for j, (toks, tags) in enumerate(zip(batch[tokens_column], batch[tags_column], strict=False)):
                row = i + j
                orig = str(batch["id"][j]) if has_id else None
                ex_id = orig if orig is not None else f"{split_name}-{row}"
                if prefix_ids and orig is not None:
                    ex_id = f"{split_name}-{orig}"
                where = f"split {split_name} row {row} (id {orig if orig is not None else ex_id})"
                if not toks:
                    raise InputError("empty sentence (no tokens)", where=where,
                                     fix="drop empty rows (dataset.filter(lambda r: r['tokens']))")
                if tags and not isinstance(tags[0], str):
                    if class_names is None:
                        raise InputError("tags are integers but the column is no ClassLabel",
                                         where=where, fix="pass names=[...] (the label names in id order)")
                    try:
                        tags = [class_names[t] for t in tags]
                    except (IndexError, TypeError):
                        raise InputError(f"tag id out of range for {len(class_names)} names: {tags}",
                                         where=where, fix="check the label names") from None
                meta: dict[str, Any] = {}
                if class_names is not None and row == 0:
                    meta["label_names"] = class_names
                if prefix_ids and orig is not None:
                    meta["orig_id"] = orig
                row_lang = (batch["lang"][j] or "") if has_lang else lang
                yield Example.from_tokens(ex_id, toks, tags, scheme=scheme, strict=strict,
                                          where=where, lang=row_lang, split=split_name, meta=meta)
            i += len(batch[tokens_column])


def label_names(labels: Iterable[str], known: list[str] | None = None) -> list[str]:
    """IOB2 tag names in a fixed order: ``O``, then ``B-X``, ``I-X`` per label.

    ``known`` (ClassLabel names of the source) keeps its order; new labels are appended sorted.
    """
    names = list(known or ["O"])
    if "O" not in names:
        names.insert(0, "O")
    for lab in sorted(set(labels)):
        for t in (f"B-{lab}", f"I-{lab}"):
            if t not in names:
                names.append(t)
    return names


def to_hf_dataset(examples: Iterable[Example], *, names: list[str] | None = None) -> Any:
    """A ``datasets.Dataset`` with ``id``, ``tokens`` and ``ner_tags`` (ClassLabel, IOB2).

    ``names`` defaults to the ClassLabel names an HF ingest kept (``meta['label_names']``), so
    HF -> store -> HF keeps the names and their order; labels not among them are appended.
    ``id`` is the original dataset id when the reader prefixed it (``meta['orig_id']``).
    """
    import datasets

    rows = list(examples)
    if names is None:
        names = next((ex.meta["label_names"] for ex in rows if ex.meta.get("label_names")), None)
    names = label_names({s.label for ex in rows for s in ex.spans}, names)
    index = {n: i for i, n in enumerate(names)}
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    return datasets.Dataset.from_dict(
        {
            "id": [str(ex.meta.get("orig_id", ex.id)) for ex in rows],
            "tokens": [ex.tokens for ex in rows],
            "ner_tags": [[index[t] for t in ex.tags("iob2")] for ex in rows],
        },
        features=features,
    )


def to_hf_dataset_dict(examples: Iterable[Example], *, names: list[str] | None = None) -> Any:
    """A ``datasets.DatasetDict`` with one :func:`to_hf_dataset` per split, in first-seen order,
    all with the same ClassLabel names."""
    import datasets

    by_split: dict[str, list[Example]] = {}
    for ex in examples:
        by_split.setdefault(ex.split, []).append(ex)
    if names is None:
        names = next((ex.meta["label_names"] for rows in by_split.values() for ex in rows
                      if ex.meta.get("label_names")), None)
    names = label_names({s.label for rows in by_split.values() for ex in rows for s in ex.spans},
                        names)
    return datasets.DatasetDict({k: to_hf_dataset(v, names=names) for k, v in by_split.items()})
