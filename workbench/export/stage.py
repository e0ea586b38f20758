"""The export stage: write a stored version as CoNLL, JSONL or Parquet, or several versions in
the Hugging Face Hub layout (``--format hf``, :mod:`workbench.export.hub`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError
from workbench.export.hub import export_hf
from workbench.load.registry import write
from workbench.store.store import Store, Version

__all__ = ["export", "export_format", "EXPORTERS", "FORMAT_OF_SUFFIX"]

def _file_exporter(fmt: str) -> Callable[..., int]:
    def run(store: Store, version: Version, out: Path, **options: Any) -> int:
        return write(store.examples(version), out, format=fmt, **options)

    run.__name__ = f"export_{fmt}"
    return run


#: format name -> function(store, version, out_path, **options) -> number of examples written
#: (one whose ``multi`` attribute is true takes a list of versions: one config each)
EXPORTERS: dict[str, Callable[..., int]] = {
    "conll": _file_exporter("conll"), "jsonl": _file_exporter("jsonl"),
    "parquet": _file_exporter("parquet"), "hf": export_hf,
}


#: output extension -> format (no extension: a directory in the Hub layout)
FORMAT_OF_SUFFIX = {
    ".conll": "conll", ".conllu": "conll", ".iob": "conll", ".iob2": "conll", ".bio": "conll",
    ".txt": "conll", ".tsv": "conll", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet", "": "hf",
}


def export_format(out: str | Path, format: str | None = None) -> str:
    """The format to write ``out`` in: ``format`` when given, else the one its extension names;
    a :class:`ConfigError` when they disagree (``-f conll -o x.parquet``) or neither tells."""
    suffix = Path(out).suffix.lower()
    named = FORMAT_OF_SUFFIX.get(suffix)
    if format is None:
        if named is None:
            raise ConfigError(f"cannot tell the export format from the extension {suffix!r}",
                              where=str(out), fix=f"pass --format (one of {', '.join(sorted(EXPORTERS))})")
        return named
    if format not in EXPORTERS:
        raise ConfigError(f"unknown export format {format!r}", fix=f"use one of {sorted(EXPORTERS)}")
    if named is not None and named != format and suffix:
        raise ConfigError(f"--format {format} but the output {Path(out).name} is named like {named}",
                          where=str(out), fix=f"name the output for {format} (or drop --format to write {named})")
    return format


def export(ref: str | Version | Sequence[str | Version], out: str | Path, *, format: str | None = None,
           store: Store | None = None, **options: Any) -> int:
    """Write version ``ref`` to ``out`` in ``format``; returns the number of examples written.

    ``format`` defaults to the one the extension of ``out`` names (``.conll``, ``.jsonl``,
    ``.parquet``; none: ``hf``, the Hub layout, which takes several refs: one config each).
    """
    store = store or Store()
    format = export_format(out, format)
    refs = [ref] if isinstance(ref, (str, Version)) else list(ref)
    fn = EXPORTERS[format]
    if len(refs) != 1 and not getattr(fn, "multi", False):
        raise ConfigError(f"format {format!r} writes one ref, got {len(refs)}",
                          fix="export the refs one at a time, or use --format hf")
    versions = [store.resolve(r) for r in refs]
    return fn(store, versions if getattr(fn, "multi", False) else versions[0], Path(out), **options)

