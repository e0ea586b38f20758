"""The format tables: which reader and writer each format name means, and which extension means
which format. A leaf: the format modules never import it.

Readers stream :class:`~workbench.core.records.Example` objects; writers take any iterable of them.
Format is detected from the extension or content (:func:`detect_format`); errors name
``file:line`` (or the example id), what is wrong and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.load.conll import read_conll, write_conll
from workbench.load.hf import read_hf
from workbench.load.jsonl import read_jsonl, write_jsonl
from workbench.load.parquet import read_parquet, write_parquet

__all__ = ["READERS", "WRITERS", "EXTENSIONS", "read", "write", "detect_format"]

#: format name -> reader ``(path, **options) -> Iterator[Example]``
READERS: dict[str, Callable[..., Iterator[Example]]] = {
    "conll": read_conll, "jsonl": read_jsonl, "parquet": read_parquet, "hf": read_hf,
}
#: format name -> writer ``(examples, path, **options) -> number written``
WRITERS: dict[str, Callable[..., int]] = {
    "conll": write_conll, "jsonl": write_jsonl, "parquet": write_parquet,
}

#: file extension -> format name
EXTENSIONS = {
    ".conll": "conll", ".conllu": "conll", ".iob": "conll", ".iob2": "conll", ".bio": "conll",
    ".txt": "conll", ".tsv": "conll", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet", ".arrow": "hf",
}


def detect_format(path: str | Path) -> str:
    """``conll``, ``jsonl``, ``parquet`` or ``hf`` from the extension, then from the content."""
    p = Path(path)
    if p.is_dir():
        return "hf"
    fmt = EXTENSIONS.get(p.suffix.lower())
    if fmt:
        return fmt
    if not p.exists() and not p.suffix and re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", str(path)):
        return "hf"  # no such file, and it reads as a Hub dataset id (wikiann, unimelb-nlp/wikiann)
    try:
        head = p.open("rb").read(4096)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(p),
                         fix="check the path (a Hub dataset id is read with --format hf)") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "conll"


def read(path: Any, *, format: str | None = None, **options: Any) -> Iterator[Example]:
    """Stream examples from ``path`` (a file, a directory, or a ``datasets`` object)."""
    if format is None:
        format = "hf" if not isinstance(path, (str, Path)) else detect_format(path)
    if format not in READERS:
        raise InputError(f"unknown format {format!r}", fix=f"use one of {sorted(READERS)}")
    if isinstance(path, (str, Path)) and format != "hf" and not Path(path).exists():
        raise InputError("no such file", where=str(path), fix="check the path")
    return READERS[format](path, **options)


def write(examples: Iterable[Example], path: str | Path, *, format: str | None = None,
          **options: Any) -> int:
    """Write examples to ``path``; returns the number written."""
    format = format or EXTENSIONS.get(Path(path).suffix.lower(), "conll")
    if format not in WRITERS:
        raise InputError(f"unknown format {format!r}", fix=f"use one of {sorted(WRITERS)}")
    try:
        return WRITERS[format](examples, Path(path), **options)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", where=str(path),
                         fix="check that the directory exists, is writable and the disk has space") from None

