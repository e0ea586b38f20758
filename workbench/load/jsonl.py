"""Character-offset JSON readers and writers: doccano, Label Studio, the workbench's own JSONL,
and token-list JSON lines. Registered in :data:`workbench.load.registry.READERS` as ``jsonl``."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError, InputWarning
from workbench.core.records import Example, RepairWarning, Span, SpanOutcome, cuts_character
from workbench.load.checks import SURROGATE_ESCAPE, check_meta, json_kind, lone_surrogate, want
from workbench.load.text import check_encoding, read_lines, utf8_error

__all__ = ["read_jsonl", "write_jsonl"]

_Raw = tuple[Any, Any, Any, Any]  # start, end, label, quoted text (Label Studio) or None

_SPAN_FIX = "spans are {'start', 'end', 'label'} objects or [start, end, label] lists"


def _list(obj: dict[str, Any], key: str, where: str, fix: str = _SPAN_FIX) -> list[Any]:
    """``obj[key]`` as a list (missing or null: empty)."""
    return want(obj.get(key), list, f"{key!r}", where, fix, null=True) or []


def _triples(items: list[Any], key: str, start: str, end: str, where: str) -> list[_Raw]:
    """``(start, end, label, None)`` of span objects (``start``/``end`` named by the flavour) or
    ``[start, end, label]`` lists; offsets and labels are checked by :func:`_check_spans`."""
    out: list[_Raw] = []
    for i, s in enumerate(items):
        if isinstance(s, dict):
            if start not in s or end not in s or "label" not in s:
                missing = [k for k in (start, end, "label") if k not in s]
                raise InputError(f"malformed span {i + 1} of {key!r}: it lacks {missing}", where=where,
                                 fix=_SPAN_FIX)
            out.append((s[start], s[end], s["label"], None))
        elif isinstance(s, list) and len(s) >= 3:
            out.append((s[0], s[1], s[2], None))
        else:
            raise InputError(f"malformed span {i + 1} of {key!r}: {json_kind(s)} ({str(s)[:40]})",
                             where=where, fix=_SPAN_FIX)
    return out


def _span_tuples(obj: dict[str, Any], where: str) -> tuple[list[_Raw], str]:
    """Spans and flavour of one JSON record: workbench, doccano or Label Studio."""
    if "spans" in obj:  # workbench
        return _triples(_list(obj, "spans", where), "spans", "start", "end", where), "workbench"
    for key in ("label", "labels", "entities"):  # doccano
        if key in obj:
            return _triples(_list(obj, key, where), key, "start_offset", "end_offset", where), "doccano"
    if "annotations" in obj or "completions" in obj or "data" in obj:  # Label Studio export
        fix = "a Label Studio task is {'data': {'text': ...}, 'annotations': [{'result': [...]}]}"
        anns = obj.get("annotations") or obj.get("completions")
        if anns:
            first = want(want(anns, list, "'annotations'", where, fix)[0], dict, "annotation 1",
                         where, fix)
        else:
            first = want((_list(obj, "predictions", where, fix) or [{}])[0], dict, "prediction 1",
                         where, fix)
        out = []
        for k, r in enumerate(_list(first, "result", where, fix)):
            r = want(r, dict, f"result {k + 1}", where, fix)
            v = want(r.get("value", {}), dict, f"the value of result {k + 1}", where, fix)
            if "start" in v and ("labels" in v or "hypertextlabels" in v):
                labs = want(v.get("labels") or v.get("hypertextlabels"), list,
                            f"the labels of result {k + 1}", where, fix)
                quoted = want(v.get("text"), str, f"the text of result {k + 1}", where, fix, null=True)
                for lab in labs:
                    out.append((v["start"], v.get("end"), lab, quoted))
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


def _loads(text: str, where: str, fix: str, *, whole_file: bool = False) -> Any:
    """``json.loads``; errors name ``where`` (with the line of the error for a ``whole_file``)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError("JSON nested too deeply to read", where=where,
                         fix="flatten the record: nesting of a few levels is what the readers expect") from None
    except json.JSONDecodeError as exc:
        ends = exc.pos >= len(text.rstrip())
        hint = (" (the file ends inside it: truncated?)" if whole_file else " (the line ends inside it)") if ends else ""
        raise InputError(f"invalid JSON: {exc.msg} at column {exc.colno}{hint}",
                         where=f"{where}:{exc.lineno}" if whole_file else where, fix=fix) from None


def _no_surrogate(obj: Any, where: str) -> None:
    """A lone surrogate (a string no UTF-8 store can hold) is an error naming its field; called
    only where the raw text has a surrogate escape (:data:`SURROGATE_ESCAPE`)."""
    at = lone_surrogate(obj)
    if at is not None:
        raise InputError(f"{at} holds half of a UTF-16 surrogate pair (an escape like \\ud800 "
                         "without its partner)", where=where,
                         fix="write the character itself, or both halves of its pair "
                         "(\\ud83d\\ude00 for one emoji)")


def _json_records(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line, object)`` pairs of a JSON-lines file or a JSON array (Label Studio export). A
    JSON-lines file that ends inside a record (truncated) gives the records before it and an
    :class:`InputWarning` naming the line."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path), fix="check the path") from None
    check_encoding(head, path)
    if head.lstrip(b"\xef\xbb\xbf").lstrip()[:1] == b"[":
        data = path.read_bytes()
        try:
            doc = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad_line = data.count(b"\n", 0, exc.start) + 1
            start = data.rfind(b"\n", 0, exc.start) + 1
            raw = data[start:data.find(b"\n", exc.start) % (len(data) + 1)]
            raise utf8_error(raw, exc, f"{path}:{bad_line}") from None
        items = _loads(doc, str(path), "fix the JSON", whole_file=True)
        if not isinstance(items, list):
            raise InputError("expected a JSON array of records", where=str(path), fix="one object per line, or an array of them")
        escapes = SURROGATE_ESCAPE.search(doc) is not None  # looked for once, not per record
        for n, item in enumerate(items, 1):
            if escapes:
                _no_surrogate(item, f"{path}:{n}")
            yield n, item
        return
    count = 0
    for no, text, ended, cut in read_lines(path):
        if not cut and not text.strip():
            continue
        where = f"{path}:{no}"
        try:
            if cut:  # the file stops inside a character: whatever the line holds is cut
                raise InputError("cut", where=where)
            obj = _loads(text, where, "one JSON object per line")
        except InputError:
            if not ended:  # the file's unfinished last line: truncated, not malformed
                warnings.warn(f"{where}: the file ends inside a JSON record (truncated?); the "
                              f"record was left out, {count} complete records read", InputWarning,
                              stacklevel=3)
                return
            raise
        if SURROGATE_ESCAPE.search(text):
            _no_surrogate(obj, where)
        count += 1
        yield no, obj


def _record_id(value: Any, n: int, path: Path, where: str) -> str:
    """The example id: a string, or an integer written as one; absent: ``{file stem}-{n}``."""
    if value is None:
        return f"{path.stem}-{n}"
    want(value, (str, int), "'id'", where, "give ids as strings (or integers)")
    return str(value)


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
            raise InputError(f"expected a JSON object, found {json_kind(obj)}", where=where,
                             fix="one object per line")
        ex_id = _record_id(obj.get("id"), n, path, where)
        meta = check_meta(obj.get("meta"), where)
        rec_lang = want(obj.get("lang"), str, "'lang'", where, "give lang as a code such as \"en\"",
                        null=True) or lang
        rec_split = want(obj.get("split"), str, "'split'", where,
                         "give split as a name such as \"train\"", null=True) or split
        raw, flavour = _span_tuples(obj, where)
        if flavour == "tokens":
            toks, tags = obj.get("tokens"), obj.get("ner_tags", obj.get("tags"))
            if not (isinstance(toks, list) and all(isinstance(t, str) and t for t in toks)) or not toks:
                raise InputError("'tokens' is not a non-empty list of non-empty strings", where=where,
                                 fix="give tokens as strings, or a 'text' field")
            if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
                raise InputError("tags are not a list of strings (ClassLabel ids?)", where=where,
                                 fix="give tag names, or load it as a Hugging Face dataset (--format hf)")
            yield Example.from_tokens(ex_id, toks, tags, scheme=scheme, strict=strict, where=where,
                                      lang=rec_lang, split=rec_split, meta=meta)
            continue
        text = obj.get("text")
        if text is None and isinstance(obj.get("data"), dict):
            text = obj["data"].get("text")
        if not isinstance(text, str):
            raise InputError(f"record has no 'text' string ({json_kind(text)})", where=where,
                             fix="give each record a 'text' field")
        if not text.strip():
            raise InputError(f"empty text (example {ex_id})", where=where,
                             fix="remove the record or give it a text")
        spans = _check_spans(text, raw, where)
        if flavour == "workbench" and obj.get("tokens"):
            yield _workbench_record(obj, ex_id, text, rec_lang, rec_split, meta, where).validate(where)
            continue
        yield Example.from_text(ex_id, text, spans, where=where, lang=rec_lang, split=rec_split,
                                meta=meta)


_WB_FIX = ("tokens are [start, end] pairs of integers; spans need integer start, end, token_start, "
           "token_end, a label string, and a number score / integer source or none")


def _workbench_record(obj: dict[str, Any], ex_id: str, text: str, lang: str, split: str,
                      meta: dict[str, Any], where: str) -> Example:
    """An example of the workbench's own JSONL, tokens and token ranges as written; every field
    of the JSON type it must have (no float or string coerced to an offset)."""
    offsets = []
    for i, pair in enumerate(want(obj["tokens"], list, "'tokens'", where, _WB_FIX)):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InputError(f"token {i} is {json_kind(pair)} ({str(pair)[:40]}), not a [start, end] pair",
                             where=where, fix=_WB_FIX)
        offsets.append((want(pair[0], int, f"token {i} start", where, _WB_FIX),
                        want(pair[1], int, f"token {i} end", where, _WB_FIX)))
    spans = []
    for i, sp in enumerate(_list(obj, "spans", where)):
        what = f"span {i + 1}"
        sp = want(sp, dict, what, where, _WB_FIX)
        if "token_start" not in sp or "token_end" not in sp:
            raise InputError(f"malformed record: {what} lacks token_start/token_end", where=where,
                             fix=_WB_FIX)
        spans.append(Span(
            sp["start"], sp["end"], sp["label"],
            want(sp["token_start"], int, f"{what} token_start", where, _WB_FIX),
            want(sp["token_end"], int, f"{what} token_end", where, _WB_FIX),
            want(sp.get("score"), float, f"{what} score", where, _WB_FIX, null=True),
            _index(sp.get("source"), f"{what} source", where, _WB_FIX),
        ))
    outcomes = []
    for i, o in enumerate(_list(obj, "outcomes", where, _OUTCOME_FIX)):
        what = f"outcome {i + 1}"
        o = want(o, dict, what, where, _OUTCOME_FIX)
        unknown = set(o) - _OUTCOME_FIELDS
        if unknown or not {"source", "label", "outcome"} <= set(o):
            raise InputError(f"{what} has fields {sorted(o)}", where=where, fix=_OUTCOME_FIX)
        _index(o["source"], f"{what} source", where, _OUTCOME_FIX, null=False)
        label, outcome, reason, projector = (want(o.get(k, ""), str, f"{what} {k}", where, _OUTCOME_FIX)
                                             for k in ("label", "outcome", "reason", "projector"))
        outcomes.append(SpanOutcome(
            o["source"], label, outcome, reason, projector,
            want(o.get("score"), float, f"{what} score", where, _OUTCOME_FIX, null=True),
        ))
    return Example(id=ex_id, text=text, offsets=offsets, spans=spans, lang=lang, split=split,
                   meta=meta, outcomes=outcomes)


def _index(value: Any, what: str, where: str, fix: str, *, null: bool = True) -> int | None:
    """A source span index: an integer the store's int32 column holds, or null."""
    want(value, int, what, where, fix, null=null)
    if value is not None and not 0 <= value < 2**31:
        raise InputError(f"{what} {value} is not a span index (0 to 2**31 - 1)", where=where, fix=fix)
    return value


_OUTCOME_FIELDS = {"source", "label", "outcome", "reason", "projector", "score"}
_OUTCOME_FIX = ("outcomes are objects of integer source, label, outcome, reason and projector "
                "strings, and a number score or none")


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

