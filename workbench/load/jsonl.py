"""Character-offset JSON readers and writers: doccano, Label Studio, the workbench's own JSONL,
and token-list JSON lines. Registered in :data:`workbench.load.registry.READERS` as ``jsonl``."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example, RepairWarning, Span, SpanOutcome, cuts_character
from workbench.load.text import lines as _lines

__all__ = ["read_jsonl", "write_jsonl"]

_Raw = tuple[Any, Any, Any, Any]  # start, end, label, quoted text (Label Studio) or None


def _span_tuples(obj: dict[str, Any]) -> tuple[list[_Raw], str]:
    """Spans and flavour of one JSON record: workbench, doccano or Label Studio."""
    if "spans" in obj:  # workbench
        out: list[_Raw] = []
        for s in obj["spans"] or []:
            out.append((s["start"], s["end"], s["label"], None) if isinstance(s, dict)
                       else (s[0], s[1], s[2], None))
        return out, "workbench"
    if "label" in obj or "labels" in obj or "entities" in obj:  # doccano
        raw = obj.get("label", obj.get("labels", obj.get("entities"))) or []
        out = []
        for s in raw:
            if isinstance(s, dict):
                out.append((s["start_offset"], s["end_offset"], s["label"], None))
            else:
                out.append((s[0], s[1], s[2], None))
        return out, "doccano"
    if "annotations" in obj or "completions" in obj or "data" in obj:  # Label Studio export
        out = []
        anns = obj.get("annotations") or obj.get("completions") or []
        results = anns[0].get("result", []) if anns else (obj.get("predictions") or [{}])[0].get("result", [])
        for r in results:
            v = r.get("value", {})
            if "start" in v and ("labels" in v or "hypertextlabels" in v):
                for lab in v.get("labels") or v.get("hypertextlabels"):
                    out.append((v["start"], v["end"], lab, v.get("text")))
        return out, "labelstudio"
    if "tokens" in obj:
        return [], "tokens"
    return [], "workbench"


def _utf16_to_cp(text: str, i: int) -> int | None:
    """The code point index of UTF-16 unit ``i`` of ``text`` (None if it falls in a pair)."""
    units = 0
    for cp, ch in enumerate(text):
        if units == i:
            return cp
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > i:
            return None
    return len(text) if units == i else None


def _check_spans(text: str, raw: list[_Raw], where: str) -> list[tuple[int, int, str]]:
    """Integer, in-range spans that cut no character; Label Studio's quoted text is checked
    and offsets counted in UTF-16 units (older Label Studio, JavaScript tools) are converted."""
    out = []
    for s, e, lab, quoted in raw:
        if not (type(s) is int and type(e) is int):
            raise InputError(f"span offsets {s!r}-{e!r} are not integers", where=where,
                             fix="offsets are character positions (integers)")
        if not isinstance(lab, str) or not lab:
            raise InputError(f"span {s}-{e} has no label string ({lab!r})", where=where,
                             fix="give every span a label")
        if isinstance(quoted, str) and text[s:e] != quoted:
            s2, e2 = _utf16_to_cp(text, s), _utf16_to_cp(text, e)
            if s2 is not None and e2 is not None and text[s2:e2] == quoted:
                warnings.warn(f"{where}: span {s}-{e} {lab!r} counted UTF-16 units; converted to "
                              f"code points {s2}-{e2}", RepairWarning, stacklevel=2)
                s, e = s2, e2
            else:
                raise InputError(
                    f"span {s}-{e} {lab!r} covers {text[s:e]!r} but its annotation says {quoted!r}",
                    where=where, fix="fix the offsets (code points of the task's text)")
        if 0 <= s < e <= len(text):
            for b in (s, e):
                if cuts_character(text, b):
                    raise InputError(
                        f"span {s}-{e} {lab!r} cuts a character in two at offset {b} "
                        f"({text[max(b - 1, 0):b + 1]!r})",
                        where=where,
                        fix="offsets count Unicode code points (Python str indices); offsets from "
                        "JavaScript tools count UTF-16 units and must be converted, byte offsets too",
                    )
        out.append((s, e, lab))
    return out


def _json_records(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line, object)`` pairs of a JSON-lines file or a JSON array (Label Studio export)."""
    with path.open("rb") as fh:
        head = fh.read(1024).lstrip(b"\xef\xbb\xbf").lstrip()
    if head[:1] == b"[":
        data = path.read_bytes()
        try:
            doc = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad_line = data.count(b"\n", 0, exc.start) + 1
            raise InputError("invalid UTF-8", where=f"{path}:{bad_line}",
                             fix="re-encode the file as UTF-8") from None
        try:
            items = json.loads(doc)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} at column {exc.colno}",
                             where=f"{path}:{exc.lineno}", fix="fix the JSON") from None
        yield from enumerate(items, 1)
        return
    for lineno, line in _lines(path):
        if line.strip():
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg} at column {exc.colno}",
                                 where=f"{path}:{lineno}", fix="one JSON object per line") from None



def read_jsonl(path: str | Path, *, lang: str = "", split: str = "train", scheme: str = "iob2",
               strict: bool = False) -> Iterator[Example]:
    """Character-offset JSON lines (or a JSON array, as Label Studio exports).

    Flavours, detected per record: the workbench's own (``text``, ``spans`` of
    ``{start, end, label}``, optional ``tokens`` as offsets), doccano (``label`` as
    ``[[start, end, "LOC"], ...]`` or ``entities``), Label Studio (``data.text`` +
    ``annotations[0].result``) and token lists (``tokens`` + ``ner_tags``/``tags`` as strings in
    ``scheme``). Offsets count code points; a span that cuts a character is an error. In a JSON
    array the ``line`` of an error is the record's position.
    """
    path = Path(path)
    for n, (lineno, obj) in enumerate(_json_records(path), 1):
        where = f"{path}:{lineno}"
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", where=where, fix="one object per line")
        ex_id = str(obj["id"]) if obj.get("id") is not None else f"{path.stem}-{n}"
        meta = dict(obj["meta"]) if isinstance(obj.get("meta"), dict) else {}
        rec_lang, rec_split = obj.get("lang") or lang, obj.get("split") or split
        try:
            raw, flavour = _span_tuples(obj)
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise InputError(f"malformed span ({type(exc).__name__}: {exc})", where=where,
                             fix="spans are {'start', 'end', 'label'} or [start, end, label]") from None
        if flavour == "tokens":
            toks, tags = obj.get("tokens"), obj.get("ner_tags", obj.get("tags"))
            if not (isinstance(toks, list) and all(isinstance(t, str) for t in toks)) or not toks:
                raise InputError("'tokens' is not a non-empty list of strings", where=where,
                                 fix="give tokens as strings, or a 'text' field")
            if tags is not None and not all(isinstance(t, str) for t in tags):
                raise InputError("tags are not strings (ClassLabel ids?)", where=where,
                                 fix="give tag names, or load it as a Hugging Face dataset (--format hf)")
            yield Example.from_tokens(ex_id, toks, tags, scheme=scheme, strict=strict, where=where,
                                      lang=rec_lang, split=rec_split, meta=meta)
            continue
        text = obj.get("text")
        if text is None and isinstance(obj.get("data"), dict):
            text = obj["data"].get("text")
        if not isinstance(text, str):
            raise InputError("record has no 'text' string", where=where,
                             fix="give each record a 'text' field")
        if not text.strip():
            raise InputError(f"empty text (example {ex_id})", where=where,
                             fix="remove the record or give it a text")
        spans = _check_spans(text, raw, where)
        if flavour == "workbench" and obj.get("tokens"):
            try:
                ex = Example(
                    id=ex_id, text=text, offsets=[(int(a), int(b)) for a, b in obj["tokens"]],
                    spans=[Span(s["start"], s["end"], s["label"], s["token_start"], s["token_end"],
                                s.get("score"), s.get("source")) for s in obj["spans"] or []],
                    lang=rec_lang, split=rec_split, meta=meta,
                    outcomes=[SpanOutcome(**o) for o in obj.get("outcomes") or []],
                )
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise InputError(f"malformed record ({type(exc).__name__}: {exc})", where=where,
                                 fix="tokens are [start, end] pairs; spans need start, end, label, "
                                 "token_start, token_end") from None
            yield ex.validate(where)
            continue
        yield Example.from_text(ex_id, text, spans, where=where, lang=rec_lang, split=rec_split,
                                meta=meta)



def write_jsonl(examples: Iterable[Example], path: Path, *, flavour: str = "workbench") -> int:
    """Workbench JSONL (text, token offsets, spans with token ranges) or ``flavour='doccano'``."""
    if flavour not in ("workbench", "doccano"):
        raise InputError(f"unknown JSONL flavour {flavour!r}", fix="use workbench or doccano")
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
                if ex.outcomes:
                    obj["outcomes"] = [vars(o) for o in ex.outcomes]
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n

