"""The export stage: write a stored version as CoNLL, JSONL or Parquet.

The Hub layout (``--format hf``) is added by the Hub export module.
"""

from __future__ import annotations

from collections.abc import Callable
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


def export(ref: str | Version, out: str | Path, *, format: str = "conll",
           store: Store | None = None, **options: Any) -> int:
    """Write version ``ref`` to ``out`` in ``format``; returns the number of examples written."""
    store = store or Store()
    if format not in EXPORTERS:
        raise ConfigError(f"unknown export format {format!r}", fix=f"use one of {sorted(EXPORTERS)}")
    v = store.resolve(ref)
    return EXPORTERS[format](store, v, Path(out), **options)
