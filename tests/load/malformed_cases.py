"""Builders of malformed inputs for tests/load/test_malformed.py: re-encodings, control
characters, JSON records with a field of every wrong type (every field of every flavour), and
Parquet files with columns of wrong types."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Case:
    name: str
    fmt: str  # conll, jsonl, doccano, parquet, detect
    data: bytes
    #: error, ingest-error, same, prefix, line-prefix, line-error-or-same, line-error-or-valid,
    #: check, int-ids (see test_malformed_file)
    expect: str
    variant: str = "full"
    k: int = 0  # prefix: how many complete examples
    warn: bool | None = None  # prefix: a warning must (True) or must not (False) come
    match: str = ""  # error: a regex the message must match
    line: int = 0  # error: the line it must name (0: any place in the file)
    extra: dict[str, Any] = field(default_factory=dict)


# -- encodings ----------------------------------------------------------------------------------------
def _overlong(text: str) -> bytes:
    """UTF-8 with its first ``a`` written as the overlong two-byte sequence C1 A1."""
    data = text.encode("utf-8")
    i = data.index(b"a")
    return data[:i] + b"\xc1\xa1" + data[i + 1:]


def _cesu8(text: str) -> bytes:
    """CESU-8: characters past U+FFFF as two three-byte surrogates (Java's and Oracle's habit)."""
    if not any(ord(c) > 0xFFFF for c in text):
        raise UnicodeEncodeError("cesu-8", text, 0, 1, "no character past U+FFFF")
    out = []
    for c in text:
        o = ord(c) - 0x10000
        out.append(chr(0xD800 + (o >> 10)) + chr(0xDC00 + (o & 0x3FF)) if o >= 0 else c)
    return "".join(out).encode("utf-8", "surrogatepass")


def _bom_joined(text: str) -> bytes:
    """A byte order mark where files were joined: at the start of every other sentence/record."""
    sep = "\n\n" if "\n\n" in text else "\n"
    parts = text.split(sep)
    return sep.join(("\ufeff" + p) if i % 2 else p for i, p in enumerate(parts)).encode("utf-8")


#: (name, encoder, what the error must name; "same": the same examples must come)
ENCODINGS: list[tuple[str, Callable[[str], bytes], str]] = [
    ("utf-16", lambda t: t.encode("utf-16"), "UTF-16LE"),
    ("utf-16-le", lambda t: t.encode("utf-16-le"), "UTF-16LE"),
    ("utf-16-be", lambda t: t.encode("utf-16-be"), "UTF-16BE"),
    ("utf-32", lambda t: t.encode("utf-32"), "UTF-32LE"),
    ("utf-32-le", lambda t: t.encode("utf-32-le"), "UTF-32LE"),
    ("utf-32-be", lambda t: t.encode("utf-32-be"), "UTF-32BE"),
    ("latin-1", lambda t: t.encode("latin-1"), "Latin-1"),
    ("cp1252", lambda t: t.encode("cp1252"), "CP1252"),
    ("shift-jis", lambda t: t.encode("shift_jis"), "Shift-JIS"),
    ("overlong-utf-8", _overlong, "overlong"),
    ("cesu-8", _cesu8, "surrogate"),
    ("utf-8-bom", lambda t: t.encode("utf-8-sig"), "same"),
    ("bom-where-joined", _bom_joined, "same"),
]

#: C0 controls but tab and line breaks, DEL, C1 controls
CONTROL = [chr(c) for c in range(0x20) if c not in (9, 10, 13)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]


# -- JSON fields of every wrong type ------------------------------------------------------------------
_WB = {"id": "w1", "lang": "en", "split": "train", "text": "Ada met Grace",
       "tokens": [[0, 3], [4, 7], [8, 13]],
       "spans": [{"start": 0, "end": 3, "label": "PER", "token_start": 0, "token_end": 1, "score": 0.5,
                  "source": 0}],
       "meta": {"k": "v"},
       "outcomes": [{"source": 0, "label": "PER", "outcome": "projected", "reason": "", "projector": "p",
                     "score": 0.5}]}
_DOCCANO = {"id": 1, "text": "Ada met Grace", "label": [[0, 3, "PER"]], "meta": {}}
_ENTITIES = {"text": "Ada met Grace", "entities": [{"start_offset": 0, "end_offset": 3, "label": "PER"}]}
_LS = {"id": 3, "data": {"text": "Ada met Grace"},
       "annotations": [{"result": [{"value": {"start": 0, "end": 3, "text": "Ada", "labels": ["PER"]}}]}]}
_TOKENS = {"id": "t1", "tokens": ["Ada", "met"], "ner_tags": ["B-PER", "O"]}

_COMMON = [((), "dict"), (("id",), "str int null"), (("lang",), "str null"), (("split",), "str null"),
           (("meta",), "dict null")]
#: (flavour, base record, [(path, the JSON kinds the field may have)])
_SPECS: list[tuple[str, dict[str, Any], list[tuple[tuple[Any, ...], str]]]] = [
    ("workbench", _WB, _COMMON + [
        (("text",), "str"), (("tokens",), "list null"), (("tokens", 0), "list"), (("tokens", 0, 0), "int"),
        (("tokens", 0, 1), "int"), (("spans",), "list null"), (("spans", 0), "dict"),
        *((("spans", 0, k), "int") for k in ("start", "end", "token_start", "token_end")),
        (("spans", 0, "label"), "str"), (("spans", 0, "score"), "int float null"),
        (("spans", 0, "source"), "int null"), (("outcomes",), "list null"), (("outcomes", 0), "dict"),
        (("outcomes", 0, "source"), "int"),
        *((("outcomes", 0, k), "str") for k in ("label", "outcome", "reason", "projector")),
        (("outcomes", 0, "score"), "int float null"),
    ]),
    ("doccano", _DOCCANO, _COMMON + [
        (("text",), "str"), (("label",), "list null"), (("label", 0), "list dict"),
        (("label", 0, 0), "int"), (("label", 0, 1), "int"), (("label", 0, 2), "str"),
    ]),
    ("entities", _ENTITIES, [
        (("entities",), "list null"), (("entities", 0), "dict list"),
        (("entities", 0, "start_offset"), "int"), (("entities", 0, "end_offset"), "int"),
        (("entities", 0, "label"), "str"),
    ]),
    ("labelstudio", _LS, [
        (("data",), "dict"), (("data", "text"), "str"), (("annotations",), "list null"),
        (("annotations", 0), "dict"), (("annotations", 0, "result"), "list null"),
        (("annotations", 0, "result", 0), "dict"), (("annotations", 0, "result", 0, "value"), "dict"),
        *((("annotations", 0, "result", 0, "value", k), "int") for k in ("start", "end")),
        (("annotations", 0, "result", 0, "value", "labels"), "list"),
        (("annotations", 0, "result", 0, "value", "labels", 0), "str"),
        (("annotations", 0, "result", 0, "value", "text"), "str null"),
    ]),
    ("tokens", _TOKENS, _COMMON + [
        (("tokens",), "list"), (("tokens", 0), "str"), (("ner_tags",), "list null"), (("ner_tags", 0), "str"),
    ]),
]
JSON_FIELDS = [(flavour, path) for flavour, _, fields in _SPECS for path, _ in fields]

#: one value of each JSON kind
_PALETTE = [("null", None), ("bool", True), ("int", 7), ("float", 1.5), ("str", "x"), ("list", [1]),
            ("dict", {"a": 1})]


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(obj)
    at = out
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return out


def json_type_cases() -> list[Case]:
    """A valid record on line 1 and, on line 2, its flavour's record with one field of a kind it
    may not have: an InputError naming line 2. Then lone surrogates and nesting past any use."""
    out = []
    for flavour, base, fields in _SPECS:
        first = json.dumps(base, ensure_ascii=False)
        for path, kinds in fields:
            for kind, value in _PALETTE:
                if kind in kinds.split():
                    continue
                second = json.dumps(_set(base, path, value), ensure_ascii=False)
                name = ".".join(map(str, path)) or "record"
                out.append(Case(f"json-type-{flavour}-{name}-{kind}", "jsonl",
                                f"{first}\n{second}\n".encode(), "error", line=2))
    ok = json.dumps(_DOCCANO)
    for name, raw in [("text", '{"text": "Ada \\ud800", "label": []}'),
                      ("id", '{"id": "\\udc00", "text": "Ada"}'),
                      ("label", '{"text": "Ada", "label": [[0, 3, "\\ud83d"]]}'),
                      ("meta-value", '{"text": "Ada", "meta": {"a": ["\\udfff"]}}'),
                      ("meta-key", '{"text": "Ada", "meta": {"\\ud800": 1}}'),
                      ("lang", '{"text": "Ada", "lang": "e\\ud800n"}'),
                      ("token", '{"tokens": ["\\ud800"]}')]:
        out.append(Case(f"json-surrogate-{name}", "jsonl", f"{ok}\n{raw}\n".encode(), "error",
                        match="surrogate", line=2))
    for depth, match in [(100_000, "nested too deeply"), (1_000, "nested too deeply|nests"), (101, "nests")]:
        raw = '{"text": "Ada", "meta": {"a": ' + "[" * depth + "]" * depth + "}}"
        out.append(Case(f"json-deep-meta-{depth}", "jsonl", f"{ok}\n{raw}\n".encode(), "error",
                        match=match, line=2))
    return out


# -- Parquet columns of wrong types -------------------------------------------------------------------
def _parquet_columns() -> list[tuple[str, Callable[[Any, Any], Any], str, str]]:
    """(name, table -> damaged table, expect, what the error must name)."""
    import pyarrow as pa

    def col(name: str, make: Callable[[Any, int], Any]) -> Callable[[Any, Any], Any]:
        def apply(t: Any, _pa: Any) -> Any:
            return t.set_column(t.schema.get_field_index(name), name, make(t, t.num_rows))
        return apply

    def nth_null(name: str) -> Callable[[Any, Any], Any]:
        return col(name, lambda t, n: pa.array([None if i == 1 else v for i, v in
                                                 enumerate(t.column(name).to_pylist())], t.schema.field(name).type))

    def structs(name: str, rows: Callable[[Any], list[Any]]) -> Callable[[Any, Any], Any]:
        return col(name, lambda t, n: pa.array([rows(r) for r in t.column(name).to_pylist()]))

    def spans_with(**over: Any) -> Callable[[Any, Any], Any]:
        return structs("spans", lambda r: [{**s, **over} for s in r] or [{"start": 0, "end": 1, "label": "X",
                                                                          "token_start": 0, "token_end": 1, **over}])

    drop_label = structs("spans", lambda r: [{k: v for k, v in s.items() if k != "label"} for s in r]
                         or [{"start": 0, "end": 1}])
    return [
        ("text-int", col("text", lambda t, n: pa.array(range(n))), "error", "column 'text' is int64"),
        ("text-float", col("text", lambda t, n: pa.array([1.5] * n)), "error", "column 'text' is double"),
        ("text-bool", col("text", lambda t, n: pa.array([True] * n)), "error", "column 'text' is bool"),
        ("text-binary", col("text", lambda t, n: pa.array([b"x"] * n)), "error", "column 'text' is binary"),
        ("text-list", col("text", lambda t, n: pa.array([["x"]] * n)), "error", "column 'text' is list"),
        ("text-null-type", col("text", lambda t, n: pa.nulls(n)), "error", "row 0 .*text is null"),
        ("text-null-row", nth_null("text"), "error", "row 1 .*text is null"),
        ("id-float", col("id", lambda t, n: pa.array([0.5 + i for i in range(n)])), "error", "column 'id' is double"),
        ("id-bool", col("id", lambda t, n: pa.array([True] * n)), "error", "column 'id' is bool"),
        ("id-null-type", col("id", lambda t, n: pa.nulls(n)), "error", "column 'id' is null"),
        ("id-null-row", nth_null("id"), "error", "row 1: id is null"),
        ("id-int", col("id", lambda t, n: pa.array(range(n))), "int-ids", ""),
        ("split-int", col("split", lambda t, n: pa.array([7] * n)), "error", "column 'split' is int64"),
        ("lang-list", col("lang", lambda t, n: pa.array([["en"]] * n)), "error", "column 'lang' is list"),
        ("meta-int", col("meta", lambda t, n: pa.array([7] * n)), "error", "column 'meta' is int64"),
        ("meta-not-json", col("meta", lambda t, n: pa.array(["{"] * n)), "error", "not JSON"),
        ("meta-list", col("meta", lambda t, n: pa.array(["[1]"] * n)), "error", "not a JSON object"),
        ("meta-deep", col("meta", lambda t, n: pa.array(['{"a": ' + "[" * 200 + "]" * 200 + "}"] * n)),
         "error", "nests 201 levels"),
        ("offsets-strings", structs("offsets", lambda r: [{"start": str(o["start"]), "end": str(o["end"])} for o in r]),
         "error", "field 'start' is string"),
        ("offsets-ints", col("offsets", lambda t, n: pa.array([[1, 2]] * n)), "error", "list of structs"),
        ("offsets-overflow", structs("offsets", lambda r: [{"start": o["start"], "end": o["end"] + 2**40} for o in r]),
         "error", "cannot hold"),
        ("offsets-null-field", structs("offsets", lambda r: [{"start": None, "end": o["end"]} for o in r]),
         "error", "token offset is null"),
        ("spans-no-label", drop_label, "error", "lack the field 'label'"),
        ("spans-label-int", spans_with(label=7), "error", "field 'label' is int64"),
        ("spans-token-start-float", spans_with(token_start=0.5), "error", "field 'token_start' is double"),
        ("spans-score-string", spans_with(score="high"), "error", "field 'score' is string"),
        ("outcomes-source-string", col("outcomes", lambda t, n: pa.array(
            [[{"source": "a", "label": "X", "outcome": "dropped"}]] * n)), "error", "field 'source' is string"),
        ("missing-text", lambda t, _pa: t.drop_columns(["text"]), "error", r"lacks columns \['text'\]"),
        ("extra-column", lambda t, _pa: t.append_column("note", pa.array(["x"] * t.num_rows)), "same", ""),
        ("split-null-row", nth_null("split"), "same", ""),
        ("lang-null-type", col("lang", lambda t, n: pa.nulls(n)), "same", ""),
    ]


PARQUET_COLUMNS = [name for name, *_ in _parquet_columns()]


def parquet_cases(examples: list[Any]) -> list[Case]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.core.arrow import examples_to_arrow

    base = examples_to_arrow(examples)
    out = []
    for name, damage, expect, match in _parquet_columns():
        sink = pa.BufferOutputStream()
        pq.write_table(damage(base, pa), sink)
        out.append(Case(f"parquet-{name}", "parquet", sink.getvalue().to_pybytes(), expect, match=match))
    return out
