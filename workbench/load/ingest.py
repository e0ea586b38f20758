"""The ingest stage: read a file or dataset into a new stored version."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError, LanguageError, StoreError
from workbench.core.records import Example
from workbench.core.signature import Signature, content_hash
from workbench.load.registry import detect_format, read
from workbench.mt.languages import short_code
from workbench.store.store import Store, Version

__all__ = ["ingest", "ingest_signature"]


def _file_hash(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def _dataset_hash(ds: Any) -> str:
    fp = getattr(ds, "_fingerprint", None)
    if fp:
        return str(fp)
    if hasattr(ds, "values"):  # DatasetDict: its splits' fingerprints
        parts = [f"{k}={getattr(v, '_fingerprint', None)}" for k, v in ds.items()]
        if all(not p.endswith("=None") for p in parts):
            return content_hash(parts)
    return content_hash(repr(ds))


def _nonempty(examples: Iterable[Example], source: Any, params: dict[str, Any],
              langs: set[str] | None = None) -> Iterator[Example]:
    """Pass examples through; raise when there are none. ClassLabel names an HF reader found
    go into ``params['label_names']`` (params are stored at commit, after the stream); the
    examples' languages into ``langs``."""
    n = 0
    for ex in examples:
        n += 1
        if langs is not None and len(langs) < 2:
            langs.add(ex.lang or "")
        if "label_names" not in params and ex.meta.get("label_names"):
            params["label_names"] = list(ex.meta["label_names"])
        yield ex
    if n == 0:
        raise InputError("no examples found", where=str(source) if isinstance(source, (str, Path))
                         else type(source).__name__,
                         fix="check the file and its --format (blank lines between sentences?)")


def normalised_lang(lang: str) -> str:
    """``lang`` as its normalised tag (``EN`` -> ``en``, ``deu`` -> ``de``, ``zh-Hant``); ``""``
    stays empty; a code that names no language is a :class:`LanguageError`."""
    if not lang:
        return ""
    tag = short_code(lang)
    if tag is None:
        raise LanguageError(f"unknown language code {lang!r}", where="--lang",
                            fix="use an ISO 639-1/639-3 or BCP-47 code, e.g. en, de, pcm, zh-Hant")
    return tag


def ingest_signature(source: Any, *, lang: str = "", format: str | None = None,
                     **options: Any) -> Signature:
    """The signature :func:`ingest` gives the version it makes (computed without reading it)."""
    lang = normalised_lang(lang)
    is_path = isinstance(source, (str, Path))
    fmt = format or (detect_format(source) if is_path else "hf")
    sig = Signature("ingest").add("format", fmt).add("lang", lang or None)
    if is_path and Path(source).is_file():
        sig.add("src", f"{Path(source).name}#{_file_hash(Path(source))}")
    elif is_path and Path(source).is_dir():  # a dataset directory: its files' names and contents
        root = Path(source)
        listing = sorted((str(f.relative_to(root)), _file_hash(f)) for f in root.rglob("*") if f.is_file())
        sig.add("src", f"{root.name}#{content_hash(listing)}")
    elif is_path:
        sig.add("src", str(source))
    else:
        sig.add("src", f"dataset#{_dataset_hash(source)}")
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
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    **options: Any,
) -> Version:
    """Read ``source`` (path or ``datasets`` object) and store it as a new version of ``name``.

    A version of ``name`` with the same signature (same input content, format and options) is
    returned as it is, as every stage does; ``force`` stores a new one.

    Options go to the reader (``scheme``, ``tag_column``, ``strict``, ``split``, ...). Nothing is
    stored when the input has an error (or holds no example). ``progress(n)`` is called with the
    number of examples read so far, once per staged batch.
    """
    store = store or Store()
    lang = normalised_lang(lang)
    other = next((v for v in store.versions(name) if v.stage != "ingest"), None)
    if other is not None:  # an ingest would become the newest version of a translation, say
        raise StoreError(f"corpus {name!r} holds versions made by the {other.stage} stage ({other.ref}); "
                         "an ingest would be appended to it", fix="choose another --name")
    is_path = isinstance(source, (str, Path))
    fmt = format or (detect_format(source) if is_path else "hf")
    sig = ingest_signature(source, lang=lang, format=fmt, **options)
    if not force:
        done = store.find(sig.key())
        if done is not None and done.corpus == name:
            return done
    params = {"source": str(source) if is_path else type(source).__name__, "format": fmt,
              "lang": lang, **options}
    langs: set[str] = set()
    examples = _nonempty(read(source, format=fmt, lang=lang, **options), source, params, langs)

    def version_lang() -> str | None:  # --lang, else the one language the examples carry
        if lang:
            return lang
        one = next(iter(langs)) if len(langs) == 1 else ""
        return (short_code(one) or one) if one else None

    return store.write_version(examples, corpus=name, stage="ingest", signature=sig,
                               params=params, lang=version_lang, progress=progress, reuse=not force)
