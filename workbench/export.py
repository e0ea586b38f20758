"""The export stage: write a stored version as CoNLL, JSONL or Parquet, or several versions in
the Hugging Face Hub layout (``--format hf``, :mod:`workbench.export_hf`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.load import write
from workbench.store import Store, Version

__all__ = ["export", "EXPORTERS"]

#: format name -> function(store, version, out_path, **options) -> number of examples written
EXPORTERS: dict[str, Callable[..., int]] = {}


def exporter(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        EXPORTERS[name] = fn
        return fn

    return deco


def _file_exporter(fmt: str) -> Callable[..., int]:
    def run(store: Store, version: Version, out: Path, **options: Any) -> int:
        return write(store.examples(version), out, format=fmt, **options)

    run.__name__ = f"export_{fmt}"
    return run


for _fmt in ("conll", "jsonl", "parquet"):
    exporter(_fmt)(_file_exporter(_fmt))


def export(ref: str | Version | Sequence[str | Version], out: str | Path, *, format: str = "conll",
           store: Store | None = None, **options: Any) -> int:
    """Write version ``ref`` to ``out`` in ``format``; returns the number of examples written.

    ``format="hf"`` takes several refs (one config each, e.g. one per language).
    """
    store = store or Store()
    if format not in EXPORTERS:
        raise ConfigError(f"unknown export format {format!r}", fix=f"use one of {sorted(EXPORTERS)}")
    refs = [ref] if isinstance(ref, (str, Version)) else list(ref)
    fn = EXPORTERS[format]
    if len(refs) != 1 and not getattr(fn, "multi", False):
        raise ConfigError(f"format {format!r} writes one ref, got {len(refs)}",
                          fix="export the refs one at a time, or use --format hf")
    versions = [store.resolve(r) for r in refs]
    return fn(store, versions if getattr(fn, "multi", False) else versions[0], Path(out), **options)


from workbench import export_hf as _export_hf  # noqa: E402,F401  (registers "hf")
