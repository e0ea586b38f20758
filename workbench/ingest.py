"""The ingest stage: read a file or dataset into a new stored version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.load import detect_format, read
from workbench.signature import Signature, content_hash
from workbench.store import Store, Version

__all__ = ["ingest", "ingest_signature"]


def _file_hash(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def ingest_signature(source: Any, *, lang: str = "", format: str | None = None,
                     **options: Any) -> Signature:
    """The signature :func:`ingest` gives the version it makes (computed without reading it)."""
    is_path = isinstance(source, (str, Path))
    fmt = format or (detect_format(source) if is_path else "hf")
    sig = Signature("ingest").add("format", fmt).add("lang", lang or None)
    if is_path and Path(source).is_file():
        sig.add("src", f"{Path(source).name}#{_file_hash(Path(source))}")
    elif is_path and Path(source).is_dir():  # a dataset directory: its files' names, sizes, times
        root = Path(source)
        listing = sorted((str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns)
                         for f in root.rglob("*") if f.is_file())
        sig.add("src", f"{root.name}#{content_hash(listing)}")
    elif is_path:
        sig.add("src", str(source))
    else:
        sig.add("src", f"dataset#{getattr(source, '_fingerprint', None) or content_hash(repr(source))}")
    for k, v in sorted(options.items()):
        sig.add(k, v)
    return sig


def ingest(
    source: Any,
    *,
    name: str,
    store: Store | None = None,
    lang: str = "",
    format: str | None = None,
    **options: Any,
) -> Version:
    """Read ``source`` (path or ``datasets`` object) and store it as a new version of ``name``.

    Options go to the reader (``scheme``, ``tag_column``, ``strict``, ``split``, ...). Nothing is
    stored when the input has an error.
    """
    store = store or Store()
    is_path = isinstance(source, (str, Path))
    fmt = format or (detect_format(source) if is_path else "hf")
    sig = ingest_signature(source, lang=lang, format=fmt, **options)
    examples = read(source, format=fmt, lang=lang, **options)
    params = {"source": str(source) if is_path else type(source).__name__, "format": fmt,
              "lang": lang, **options}
    return store.write_version(examples, corpus=name, stage="ingest", signature=sig,
                               params=params, lang=lang or None)
