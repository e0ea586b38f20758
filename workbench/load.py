"""Readers and writers: CoNLL (IOB2/IOB1/BIOES), Hugging Face datasets, character-offset JSONL
(doccano, Label Studio, the workbench's own), Parquet in the workbench schema.

Readers stream :class:`~workbench.records.Example` objects; writers take any iterable of them.
Format is detected from the extension or content (:func:`detect_format`); errors name
``file:line`` (or the example id), what is wrong and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.records import Example

__all__ = [
    "READERS",
    "WRITERS",
    "read",
    "write",
    "detect_format",
    "read_conll",
    "write_conll",
    "read_jsonl",
    "write_jsonl",
    "read_parquet",
    "write_parquet",
    "read_hf",
    "to_hf_dataset",
    "to_hf_dataset_dict",
    "label_names",
]

READERS: dict[str, Callable[..., Iterator[Example]]] = {}
WRITERS: dict[str, Callable[..., int]] = {}


def reader(name: str) -> Callable[[Callable[..., Iterator[Example]]], Callable[..., Iterator[Example]]]:
    def deco(fn: Callable[..., Iterator[Example]]) -> Callable[..., Iterator[Example]]:
        READERS[name] = fn
        return fn

    return deco


def writer(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        WRITERS[name] = fn
        return fn

    return deco


_EXT = {
    ".conll": "conll", ".conllu": "conll", ".iob": "conll", ".iob2": "conll", ".bio": "conll",
    ".txt": "conll", ".tsv": "conll", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet", ".arrow": "hf",
}


def detect_format(path: str | Path) -> str:
    """``conll``, ``jsonl``, ``parquet`` or ``hf`` from the extension, then from the content."""
    p = Path(path)
    if p.is_dir():
        return "hf"
    fmt = _EXT.get(p.suffix.lower())
    if fmt:
        return fmt
    try:
        head = p.open("rb").read(4096)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(p), fix="check the path") from None
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
    format = format or _EXT.get(Path(path).suffix.lower(), "conll")
    if format not in WRITERS:
        raise InputError(f"unknown format {format!r}", fix=f"use one of {sorted(WRITERS)}")
    try:
        return WRITERS[format](examples, Path(path), **options)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", where=str(path),
                         fix="check that the directory exists, is writable and the disk has space") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` without its line break; invalid UTF-8 names its line."""
    try:
        with path.open("r", encoding="utf-8", newline="\n") as fh:
            for lineno, line in enumerate(fh, 1):
                if lineno == 1:
                    line = line.lstrip("\ufeff")
                yield lineno, line.rstrip("\r\n")
    except UnicodeDecodeError:
        _raise_bad_utf8(path)


def _raise_bad_utf8(path: Path) -> None:
    """Find the first line that is not UTF-8 and raise an :class:`InputError` naming it."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"invalid UTF-8 at byte {exc.start} of the line",
                    where=f"{path}:{lineno}",
                    fix="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                ) from None
    raise InputError("invalid UTF-8", where=str(path), fix="re-encode the file as UTF-8")


# -- CoNLL ---------------------------------------------------------------------------------------
@reader("conll")
def read_conll(
    path: str | Path,
    *,
    lang: str = "",
    scheme: str = "iob2",
    tag_column: int = -1,
    token_column: int | None = None,
    separator: str | None = None,
    strict: bool = False,
    split: str = "train",
    id_prefix: str | None = None,
) -> Iterator[Example]:
    """CoNLL-style files: one token per line, blank line between sentences.

    ``-DOCSTART-`` lines are skipped; ``# key = value`` comments become ``meta`` (``# text =``
    restores the original sentence, ``# sent_id =`` becomes the example id). Columns are split on
    tabs when the line has one, otherwise on whitespace (``separator`` to force). The token is
    ``token_column``; by default column 0, or column 1 when column 0 of every line of the
    sentence is its running index 1, 2, 3, ... (CoNLL-U style; a number token in column 0 of
    CoNLL-2003 is not mistaken for one); tags come from ``tag_column`` (default: last).
    """
    path = Path(path)
    prefix = id_prefix if id_prefix is not None else path.stem
    tokens: list[str] = []  # column 0 (or token_column)
    second: list[str] = []  # column 1, the token when column 0 is a running index 1, 2, 3, ...
    indexed = True
    tags: list[str] = []
    meta: dict[str, Any] = {}
    first_line = 0
    count = 0

    def make() -> Example:
        nonlocal count
        count += 1
        start = comment_line or first_line  # the sentence's first line, comments included
        toks = second if token_column is None and indexed else tokens
        for i, tok in enumerate(toks):
            if not tok or tok.isspace():
                raise InputError("empty token", where=f"{path}:{first_line + i}",
                                 fix="remove the line or fix its columns")
        ex_id = str(meta.pop("sent_id", None) or f"{prefix}-{count}")
        text = meta.pop("text", None)
        ex = Example.from_tokens(ex_id, toks, tags, text=text, scheme=scheme, strict=strict,
                                 where=f"{path}:{start}", lang=lang, split=split, meta=dict(meta))
        ex.meta["line"] = start
        return ex

    def columns(line: str) -> list[str]:
        sep = separator if separator is not None else ("\t" if "\t" in line else None)
        return line.split(sep) if sep else line.split()

    comment_line = 0
    for lineno, line in _lines(path):
        if not line or line.isspace():
            if tokens:
                yield make()
            elif "sent_id" in meta or "text" in meta:
                raise InputError(
                    f"empty sentence: {'# sent_id' if 'sent_id' in meta else '# text'} comment "
                    "with no token lines",
                    where=f"{path}:{comment_line}",
                    fix="add the sentence's 'token<TAB>tag' lines or remove its comments",
                )
            tokens, second, tags, meta, comment_line, indexed = [], [], [], {}, 0, True
            continue
        if line[0] in "-#" or line[0].isspace():
            stripped = line.strip()
            if stripped.startswith("-DOCSTART-"):
                continue
            if not tokens and stripped.startswith("#") and not _is_token_line(columns(line), tag_column):
                body = stripped[1:].strip()
                key, eq, value = body.partition("=")
                k = key.strip()
                if eq and k and " " not in k:
                    meta[k] = value.strip() if k != "text" else value[1:] if value.startswith(" ") else value
                else:
                    meta.setdefault("comments", []).append(body)
                comment_line = comment_line or lineno
                continue
        if separator:
            cols = line.split(separator)
        else:
            cols = line.split("\t") if "\t" in line else line.split()
        if len(cols) < 2:
            raise InputError(
                f"expected a token and a tag, found {len(cols)} column(s): {line[:60]!r}",
                where=f"{path}:{lineno}",
                fix="one 'token<TAB>tag' per line, blank line between sentences",
            )
        try:
            if token_column is None:
                tok = cols[0]
                if indexed and len(cols) > 2 and cols[0] == str(len(tokens) + 1):
                    second.append(cols[1])
                else:
                    indexed = False
            else:
                tok = cols[token_column]
            tag = cols[tag_column].strip()
        except IndexError:
            raise InputError(
                f"line has {len(cols)} columns; token column {token_column} or tag column "
                f"{tag_column} does not exist",
                where=f"{path}:{lineno}", fix="pass --tag-column / --token-column with existing columns",
            ) from None
        if not (tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in "BIESLU")) and not _is_tag(tag):
            raise InputError(
                f"tag {tag!r} (column {tag_column}) is not O or PREFIX-LABEL (PREFIX one of B, I, "
                "E, S)",
                where=f"{path}:{lineno}",
                fix="check the tag column (--tag-column) and the scheme (--scheme)",
            )
        if not tokens:
            first_line = lineno
        tokens.append(tok)
        tags.append(tag)
    if tokens:
        yield make()
    elif "sent_id" in meta or "text" in meta:
        raise InputError("empty sentence: comments with no token lines at the end of the file",
                         where=f"{path}:{comment_line}", fix="remove the comments or add the tokens")


_TAG_RE = re.compile(r"^(?:O|[BIESLU][-_]\S+)$")


def _is_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


def _is_token_line(cols: list[str], tag_column: int) -> bool:
    """A ``#...`` line is a token (``#`` or ``#hashtag``) rather than a comment when it splits
    into columns whose tag column holds a tag and no column looks like ``key = value``."""
    if len(cols) < 2 or "=" in cols:
        return False
    try:
        return _is_tag(cols[tag_column].strip())
    except IndexError:
        return False


@writer("conll")
def write_conll(
    examples: Iterable[Example],
    path: Path,
    *,
    scheme: str = "iob2",
    comments: bool = False,
    docstart: bool = False,
) -> int:
    """One ``token<TAB>tag`` per line; ``comments`` writes ``# sent_id`` and ``# text`` first.

    Examples without tokens (an empty translation) cannot be written in CoNLL and are skipped;
    the number written is returned.
    """
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        if docstart:
            fh.write("-DOCSTART-\tO\n\n")
        for ex in examples:
            if not ex.offsets:
                continue
            lines = []
            if comments:
                text = " ".join(ex.text.splitlines())
                lines.append(f"# sent_id = {ex.id}\n# text = {text}\n")
            for tok, tag in zip(ex.tokens, ex.tags(scheme), strict=True):
                if "\t" in tok or "\n" in tok or "\r" in tok:
                    raise InputError(f"token {tok!r} holds a tab or line break", where=f"example {ex.id}",
                                     fix="CoNLL cannot hold it: export as jsonl or parquet")
                lines.append(f"{tok}\t{tag}\n")
            fh.write("".join(lines) + "\n")
            n += 1
    return n


# -- Parquet -------------------------------------------------------------------------------------
@reader("parquet")
def read_parquet(path: str | Path, *, lang: str = "", split: str = "train",
                 batch_size: int = 2000) -> Iterator[Example]:
    """Parquet in the workbench schema (as written by :func:`write_parquet` or an export)."""
    import pyarrow.parquet as pq

    from workbench.store import EXAMPLE_SCHEMA, examples_from_arrow

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"not a readable Parquet file: {exc}", where=str(path)) from None
    missing = {"id", "text", "offsets", "spans"} - set(pf.schema_arrow.names)
    if missing:
        raise InputError(f"Parquet file lacks columns {sorted(missing)}", where=str(path),
                         fix="write it with workbench export --format parquet")
    import pyarrow as pa

    batches = pf.iter_batches(batch_size=batch_size)
    done = 0
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            cols = {n: batch.column(n) for n in batch.schema.names if n in EXAMPLE_SCHEMA.names}
            exs = examples_from_arrow(pa.table(cols))
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise InputError(f"corrupt Parquet data after {done} rows: {exc}", where=str(path),
                             fix="re-export the file; it may be truncated or damaged") from None
        for ex in exs:
            ex.lang = ex.lang or lang
            done += 1
            yield ex


@writer("parquet")
def write_parquet(examples: Iterable[Example], path: Path, *, batch_size: int = 2000) -> int:
    """Parquet in the workbench schema, streamed in batches."""
    import pyarrow.parquet as pq

    from workbench.store import EXAMPLE_SCHEMA, examples_to_arrow

    n = 0
    buf: list[Example] = []
    with pq.ParquetWriter(path, EXAMPLE_SCHEMA) as w:
        for ex in examples:
            buf.append(ex)
            if len(buf) >= batch_size:
                w.write_table(examples_to_arrow(buf, n))
                n += len(buf)
                buf = []
        if buf:
            w.write_table(examples_to_arrow(buf, n))
            n += len(buf)
    return n


# the other formats register themselves on import; re-exported here (public API)
from workbench.load_hf import label_names, read_hf, to_hf_dataset, to_hf_dataset_dict  # noqa: E402
from workbench.load_jsonl import read_jsonl, write_jsonl  # noqa: E402
