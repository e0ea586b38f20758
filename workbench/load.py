"""Readers and writers: CoNLL (IOB2/IOB1/BIOES), Hugging Face datasets, character-offset JSONL
(doccano, Label Studio, the workbench's own), Parquet in the workbench schema.

Readers stream :class:`~workbench.records.Example` objects; writers take any iterable of them.
Format is detected from the extension or content (:func:`detect_format`); errors name
``file:line`` (or the example id), what is wrong and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.records import Example, Span

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
        raise InputError(f"cannot read: {exc.strerror}", where=str(p)) from None
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
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"invalid UTF-8 at byte {exc.start} of the line",
                    where=f"{path}:{lineno}",
                    fix="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                ) from None
            if lineno == 1:
                line = line.lstrip("\ufeff")
            yield lineno, line.rstrip("\r\n")


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
    column 0, or column 1 when the first column is a running integer index (CoNLL-U style);
    tags come from ``tag_column`` (default: last).
    """
    path = Path(path)
    prefix = id_prefix if id_prefix is not None else path.stem
    tokens: list[str] = []
    tags: list[str] = []
    meta: dict[str, Any] = {}
    first_line = 0
    count = 0

    def make() -> Example:
        nonlocal count
        count += 1
        where = f"{path}:{first_line}"
        ex_id = str(meta.pop("sent_id", None) or f"{prefix}-{count}")
        text = meta.pop("text", None)
        ex = Example.from_tokens(ex_id, tokens, tags, text=text, scheme=scheme, strict=strict,
                                 where=where, lang=lang, split=split, meta=dict(meta))
        ex.meta["line"] = first_line
        return ex

    for lineno, line in _lines(path):
        stripped = line.strip()
        if not stripped:
            if tokens:
                yield make()
            tokens, tags, meta = [], [], {}
            continue
        if stripped.startswith("-DOCSTART-"):
            continue
        if not tokens and stripped.startswith("#"):
            body = stripped[1:].strip()
            key, eq, value = body.partition("=")
            if eq and key.strip() and " " not in key.strip():
                meta[key.strip()] = value.strip() if key.strip() != "text" else value[1:] if value.startswith(" ") else value
            else:
                meta.setdefault("comments", []).append(body)
            continue
        sep = separator if separator is not None else ("\t" if "\t" in line else None)
        cols = line.split(sep) if sep else line.split()
        if len(cols) < 2:
            raise InputError(
                f"expected a token and a tag, found {len(cols)} column(s): {line[:60]!r}",
                where=f"{path}:{lineno}",
                fix="one 'token<TAB>tag' per line, blank line between sentences",
            )
        tc = token_column if token_column is not None else (1 if cols[0].isdigit() and len(cols) > 2 else 0)
        try:
            tok, tag = cols[tc], cols[tag_column].strip()
        except IndexError:
            raise InputError(
                f"line has {len(cols)} columns, tag column {tag_column} does not exist",
                where=f"{path}:{lineno}", fix="pass --tag-column with an existing column",
            ) from None
        if not tok:
            raise InputError("empty token", where=f"{path}:{lineno}", fix="remove the line")
        if not tokens:
            first_line = lineno
        tokens.append(tok)
        tags.append(tag)
    if tokens:
        yield make()


@writer("conll")
def write_conll(
    examples: Iterable[Example],
    path: Path,
    *,
    scheme: str = "iob2",
    comments: bool = False,
    docstart: bool = False,
) -> int:
    """One ``token<TAB>tag`` per line; ``comments`` writes ``# sent_id`` and ``# text`` first."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        if docstart:
            fh.write("-DOCSTART-\tO\n\n")
        for ex in examples:
            if comments:
                fh.write(f"# sent_id = {ex.id}\n# text = {ex.text}\n")
            for tok, tag in zip(ex.tokens, ex.tags(scheme)):
                fh.write(f"{tok}\t{tag}\n")
            fh.write("\n")
            n += 1
    return n


# -- JSONL ---------------------------------------------------------------------------------------
def _span_tuples(obj: dict[str, Any], where: str) -> tuple[list[tuple[int, int, str]], str]:
    """Spans and flavour of one JSON record: workbench, doccano or Label Studio."""
    if "spans" in obj:  # workbench
        out = []
        for s in obj["spans"] or []:
            out.append((s["start"], s["end"], s["label"]) if isinstance(s, dict) else tuple(s))
        return out, "workbench"
    if "label" in obj or "labels" in obj or "entities" in obj:  # doccano
        raw = obj.get("label", obj.get("labels", obj.get("entities"))) or []
        out = []
        for s in raw:
            if isinstance(s, dict):
                out.append((s["start_offset"], s["end_offset"], s["label"]))
            else:
                out.append((s[0], s[1], s[2]))
        return out, "doccano"
    if "annotations" in obj or "data" in obj:  # Label Studio export
        out = []
        anns = obj.get("annotations") or obj.get("completions") or []
        results = anns[0].get("result", []) if anns else obj.get("predictions", [{}])[0].get("result", [])
        for r in results:
            v = r.get("value", {})
            if "start" in v and ("labels" in v or "hypertextlabels" in v):
                for lab in v.get("labels") or v.get("hypertextlabels"):
                    out.append((v["start"], v["end"], lab))
        return out, "labelstudio"
    return [], "workbench"


def _check_offsets_utf16(text: str, spans: list[tuple[int, int, str]], where: str) -> None:
    for s, e, lab in spans:
        if not (isinstance(s, int) and isinstance(e, int)):
            raise InputError(f"span offsets {s!r}-{e!r} are not integers", where=where,
                             fix="offsets are character positions (integers)")
        for b in (s, e):
            if 0 < b < len(text) and 0xDC00 <= ord(text[b]) <= 0xDFFF:
                raise InputError(f"span {s}-{e} {lab!r} cuts a character in two", where=where,
                                 fix="offsets must count Unicode code points, not bytes or UTF-16 units")


@reader("jsonl")
def read_jsonl(path: str | Path, *, lang: str = "", split: str = "train") -> Iterator[Example]:
    """Character-offset JSON lines (or a JSON array, as Label Studio exports).

    Flavours, detected per record: the workbench's own (``text``, ``spans`` of
    ``{start, end, label}``, optional ``tokens`` as offsets), doccano (``label`` as
    ``[[start, end, "LOC"], ...]``) and Label Studio (``data.text`` + ``annotations[0].result``).
    """
    path = Path(path)

    def records() -> Iterator[tuple[int, Any]]:
        with path.open("rb") as fh:
            head = fh.read(1024).lstrip(b"\xef\xbb\xbf").lstrip()
        if head[:1] == b"[":
            try:
                data = json.loads(path.read_text(encoding="utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"invalid JSON: {exc}", where=str(path), fix="fix the JSON") from None
            for i, obj in enumerate(data, 1):
                yield i, obj
            return
        for lineno, line in _lines(path):
            if line.strip():
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"invalid JSON: {exc.msg} at column {exc.colno}",
                                     where=f"{path}:{lineno}", fix="one JSON object per line") from None

    for n, (lineno, obj) in enumerate(records(), 1):
        where = f"{path}:{lineno}"
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", where=where, fix="one object per line")
        text = obj.get("text")
        if text is None and isinstance(obj.get("data"), dict):
            text = obj["data"].get("text")
        if not isinstance(text, str):
            raise InputError("record has no 'text' string", where=where,
                             fix="give each record a 'text' field")
        try:
            spans, flavour = _span_tuples(obj, where)
        except (KeyError, IndexError, TypeError) as exc:
            raise InputError(f"malformed span ({exc})", where=where,
                             fix="spans are {'start', 'end', 'label'} or [start, end, label]") from None
        _check_offsets_utf16(text, spans, where)
        ex_id = str(obj.get("id", f"{path.stem}-{n}"))
        meta = dict(obj.get("meta") or {}) if isinstance(obj.get("meta"), dict) else {}
        if flavour == "workbench" and obj.get("tokens"):
            try:
                ex = Example(
                    id=ex_id, text=text, offsets=[tuple(t) for t in obj["tokens"]],  # type: ignore[misc]
                    spans=[Span(s["start"], s["end"], s["label"], s["token_start"], s["token_end"],
                                s.get("score"), s.get("source")) for s in obj["spans"]],
                    lang=obj.get("lang", lang), split=obj.get("split", split), meta=meta,
                )
                ex.validate(where)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise InputError(f"malformed record ({type(exc).__name__}: {exc})", where=where,
                                 fix="tokens are [start, end] pairs; spans have start, end, label, "
                                 "token_start, token_end") from None
            yield ex
            continue
        yield Example.from_text(ex_id, text, spans, where=where, lang=obj.get("lang", lang),
                                split=obj.get("split", split), meta=meta)


@writer("jsonl")
def write_jsonl(examples: Iterable[Example], path: Path, *, flavour: str = "workbench") -> int:
    """Workbench JSONL (text, token offsets, spans with token ranges) or ``flavour='doccano'``."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for ex in examples:
            if flavour == "doccano":
                obj: dict[str, Any] = {"id": ex.id, "text": ex.text,
                                       "label": [[s.start, s.end, s.label] for s in ex.spans]}
            else:
                obj = {
                    "id": ex.id, "lang": ex.lang, "split": ex.split, "text": ex.text,
                    "tokens": [list(o) for o in ex.offsets],
                    "spans": [
                        {k: v for k, v in vars(s).items() if v is not None} for s in ex.spans
                    ],
                    "meta": ex.meta,
                }
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
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


# -- Hugging Face datasets -----------------------------------------------------------------------
@reader("hf")
def read_hf(
    source: Any,
    *,
    lang: str = "",
    split: str | None = None,
    tokens_column: str = "tokens",
    tags_column: str = "ner_tags",
    scheme: str = "iob2",
    strict: bool = False,
) -> Iterator[Example]:
    """A ``datasets.Dataset``/``DatasetDict``, or a local path (or Hub id) ``load_dataset`` reads.

    ``ner_tags`` may be ClassLabel integers (names resolved) or strings. The label names, in
    their ClassLabel order, are kept in ``meta['label_names']`` of the first example of each split.
    """
    import datasets

    if isinstance(source, (str, Path)):
        p = Path(source)
        try:
            if p.is_dir() and (p / "dataset_info.json").exists() or (p / "state.json").exists():
                ds: Any = datasets.load_from_disk(str(p))
            else:
                ds = datasets.load_dataset(str(source))
        except Exception as exc:
            raise InputError(f"cannot load dataset: {exc}", where=str(source),
                             fix="pass a directory saved with save_to_disk, data files or a Hub id") from None
    else:
        ds = source
    if isinstance(ds, datasets.DatasetDict):
        parts = [(name, ds[name]) for name in ds if split is None or name == split]
    else:
        parts = [(split or "train", ds)]
    for split_name, d in parts:
        for col in (tokens_column, tags_column):
            if col not in d.column_names:
                raise InputError(f"dataset has no column {col!r} (columns: {d.column_names})",
                                 where=f"split {split_name}", fix="pass --tokens-column/--tags-column")
        feat = d.features[tags_column]
        inner = getattr(feat, "feature", None) or (feat[0] if isinstance(feat, list) else None)
        names = list(inner.names) if isinstance(inner, datasets.ClassLabel) else None
        has_id = "id" in d.column_names
        for i, row in enumerate(d):
            tags = row[tags_column]
            if names is not None:
                tags = [names[t] for t in tags]
            ex_id = str(row["id"]) if has_id else f"{split_name}-{i}"
            meta: dict[str, Any] = {"label_names": names} if names is not None and i == 0 else {}
            yield Example.from_tokens(ex_id, row[tokens_column], tags, scheme=scheme, strict=strict,
                                      where=f"{split_name} row {i} (id {ex_id})", lang=lang,
                                      split=split_name, meta=meta)


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
    """A ``datasets.Dataset`` with ``id``, ``tokens`` and ``ner_tags`` (ClassLabel, IOB2)."""
    import datasets

    rows = list(examples)
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
            "id": [ex.id for ex in rows],
            "tokens": [ex.tokens for ex in rows],
            "ner_tags": [[index[t] for t in ex.tags("iob2")] for ex in rows],
        },
        features=features,
    )
