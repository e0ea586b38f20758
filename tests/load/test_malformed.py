"""Malformed files, generated with a fixed seed from valid CoNLL, JSON-lines and Parquet files.

What each kind of damage must give (and nothing may raise anything but an InputError, a
:class:`~workbench.core.errors.WorkbenchError`, nor warn anything but an InputWarning or a
RepairWarning):

- random bytes: an InputError (ingest stores nothing);
- a truncated file: the complete examples, and a warning naming where it stopped when it stopped
  inside a sentence or a record (a cut at a line end inside a CoNLL sentence cannot be told from a
  shorter file: the sentence's lines so far); a truncated Parquet file: an InputError;
- a re-encoded file (UTF-16/32 with and without BOM, Latin-1, CP1252, Shift-JIS, overlong UTF-8,
  CESU-8): an InputError naming the encoding (the same examples where the bytes did not change:
  ASCII text); a UTF-8 BOM at the start or where files were joined, CR or CRLF line ends, no final
  line break: the same examples;
- control characters: an InputError naming file:line, or examples that validate;
- huge lines, tokens and sentences: read whole;
- a JSON field of a wrong type (every field of every flavour) or a Parquet column of a wrong type:
  an InputError naming the line (the column, the row).

The cases are built at collection from files written by the workbench's own writers; the
examples they are compared with are read from the undamaged files. A few go through the CLI.
"""

from __future__ import annotations

import atexit
import json
import random
import re
import shutil
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.load.malformed_cases import (
    CONTROL,
    ENCODINGS,
    JSON_FIELDS,
    PARQUET_COLUMNS,
    Case,
    json_type_cases,
    parquet_cases,
)
from workbench.core.errors import InputError, InputWarning
from workbench.core.records import Example, RepairWarning
from workbench.load import read, write

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240613
_DIR = Path(tempfile.mkdtemp(prefix="wb-malformed-"))  # made at collection: the cases are built from it
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def _examples() -> dict[str, list[Example]]:
    base = list(read(ROOT / "data" / "sample-en.conll"))[:8]
    lat = Example.from_tokens("x-lat", ["José", "Martí", "visitó", "Zürich", "y", "Ærø", "."],
                              ["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC", "O"])
    cjk = Example.from_tokens("x-cjk", ["東京", "で", "山田", "さん", "に", "会った", "。"],
                              ["B-LOC", "O", "B-PER", "O", "O", "O", "O"])
    emoji = Example.from_tokens("x-emo", ["Ada", "😀", "in", "Łódź", "!"], ["B-PER", "O", "O", "B-LOC", "O"])
    return {"full": base[:6] + [lat, cjk, emoji] + base[6:], "latin": base[:4] + [lat],
            "cjk": base[:4] + [cjk]}


def _valid() -> dict[tuple[str, str], bytes]:
    """(format, variant) -> the bytes of a valid file: CoNLL with comments, workbench JSONL,
    doccano JSONL, Parquet."""
    out = {}
    for variant, exs in _examples().items():
        for fmt, opts in (("conll", {"comments": True}), ("jsonl", {}), ("doccano", {"flavour": "doccano"}),
                          ("parquet", {})):
            if fmt == "parquet" and variant != "full":
                continue
            p = _DIR / f"valid-{variant}.{fmt}"
            write(exs, p, format="jsonl" if fmt == "doccano" else fmt, **opts)
            out[fmt, variant] = p.read_bytes()
    return out


VALID = _valid()


@cache
def reference(fmt: str, variant: str) -> list[Example]:
    """The examples of an undamaged file."""
    p = _DIR / f"valid-{variant}.{fmt}"
    return list(read(p, format="jsonl" if fmt == "doccano" else fmt))


# -- truncations --------------------------------------------------------------------------------------
def _conll_cuts(rng: random.Random, data: bytes) -> list[Case]:
    """Cuts of a CoNLL file at every kind of boundary, each with what it must give."""
    kinds: dict[str, list[Case]] = {}
    line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    done = 0  # complete sentences before the current line
    for li, start in enumerate(line_starts[:-1]):
        end = line_starts[li + 1] - 1  # index of this line's \n
        line = data[start:end]
        blank = not line.strip()
        if blank:
            if data[max(0, start - 1):start] == b"\n" and start > 0 and data[start - 2:start - 1] != b"\n":
                done += 1  # this blank line closes a sentence
            kinds.setdefault("between-sentences", []).append(
                Case("", "conll", data[:end + 1], "prefix", k=done, warn=False))
            continue
        comment = line.startswith(b"#")
        following_blank = not data[end + 1:line_starts[li + 2] - 1 if li + 2 < len(line_starts) else len(data)].strip()
        if comment:  # a sentence's comments, then the end: warned, the sentence never came
            kinds.setdefault("after-comment-line", []).append(
                Case("", "conll", data[:end + 1], "prefix", k=done, warn=True))
        elif following_blank:  # the sentence is complete, only its blank line is missing
            kinds.setdefault("after-last-token-line", []).append(
                Case("", "conll", data[:end + 1], "prefix", k=done + 1, warn=False))
        else:  # a line end inside a sentence: indistinguishable from a shorter file
            kinds.setdefault("line-end-mid-sentence", []).append(
                Case("", "conll", data[:end + 1], "line-prefix", k=done))
        tab = line.find(b"\t")
        for p in range(start + 1, end):
            part = ("mid-utf8" if 0x80 <= data[p] < 0xC0 else "mid-comment" if comment
                    else "mid-token" if tab < 0 or p - start <= tab else "mid-tag")
            kinds.setdefault(part, []).append(Case("", "conll", data[:p], "prefix", k=done, warn=True))
    return _sample(rng, kinds, "truncated-conll", per_kind=8)


def _jsonl_cuts(rng: random.Random, data: bytes, fmt: str) -> list[Case]:
    kinds: dict[str, list[Case]] = {}
    line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    for li, start in enumerate(line_starts[:-1]):
        end = line_starts[li + 1] - 1
        kinds.setdefault("between-records", []).append(
            Case("", fmt, data[:start], "prefix", k=li, warn=False))
        kinds.setdefault("record-without-newline", []).append(
            Case("", fmt, data[:end], "prefix", k=li + 1, warn=False))
        for p in range(start + 1, end):
            part = "mid-utf8" if 0x80 <= data[p] < 0xC0 else "mid-record"
            kinds.setdefault(part, []).append(
                Case("", fmt, data[:p], "prefix", k=li, warn=True, extra={"line": li + 1}))
    kinds["between-records"] = kinds["between-records"][1:]  # not the empty file
    return _sample(rng, kinds, f"truncated-{fmt}", per_kind=8 if fmt == "jsonl" else 4)


def _sample(rng: random.Random, kinds: dict[str, list[Case]], prefix: str, per_kind: int) -> list[Case]:
    out = []
    for kind, cases in sorted(kinds.items()):
        for i, c in enumerate(rng.sample(cases, min(per_kind, len(cases)))):
            c.name = f"{prefix}-{kind}-{i}"
            out.append(c)
    return out


def _parquet_cuts(rng: random.Random, data: bytes) -> list[Case]:
    n = len(data)
    points = sorted({1, 4, 8, n // 2, n - 8, n - 4, n - 1, *rng.sample(range(1, n), 18)})
    return [Case(f"truncated-parquet-at-{p}", "parquet", data[:p], "error", match="Parquet")
            for p in points]


# -- re-encodings, control characters, line ends ----------------------------------------------------
def _reencoded() -> list[Case]:
    out = []
    for (fmt, variant), data in sorted(VALID.items()):
        if fmt == "parquet" or (fmt == "doccano" and variant != "full"):
            continue
        text = data.decode("utf-8")
        for name, encode, match in ENCODINGS:
            try:
                raw = encode(text)
            except UnicodeEncodeError:
                continue  # this text has characters the encoding lacks
            expect = "same" if raw == data or match == "same" else "error"
            out.append(Case(f"reencoded-{fmt}-{variant}-{name}", fmt, raw, expect, variant=variant,
                            match=match))
    full = VALID["conll", "full"]
    i = full.index("Zürich".encode()) + 1
    out.append(Case("reencoded-conll-bom-in-token", "conll", full[:i] + b"\xef\xbb\xbf" + full[i:],
                    "error", match="byte order mark"))
    for fmt in ("conll", "jsonl"):
        data = VALID[fmt, "full"]
        out += [
            Case(f"line-ends-{fmt}-cr", fmt, data.replace(b"\n", b"\r"), "same"),
            Case(f"line-ends-{fmt}-crlf", fmt, data.replace(b"\n", b"\r\n"), "same"),
            Case(f"line-ends-{fmt}-mixed", fmt, _mixed_line_ends(data), "same"),
            Case(f"line-ends-{fmt}-no-final-newline", fmt, data.rstrip(b"\n"), "same"),
        ]
    return out


def _mixed_line_ends(data: bytes) -> bytes:
    """LF, CRLF and CR in turn (a CR never right before an empty line's LF: that is a CRLF)."""
    lines = data.split(b"\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        end = (b"\n", b"\r\n", b"\r")[i % 3]
        out.append(line + (b"\r\n" if end == b"\r" and not lines[i + 1] else end))
    return b"".join(out) + lines[-1]


def _control(rng: random.Random) -> list[Case]:
    out = []
    for fmt in ("conll", "jsonl"):
        text = VALID[fmt, "full"].decode("utf-8")
        for i in range(20):
            ch = rng.choice(CONTROL)
            p = rng.randrange(len(text))
            expect = "line-error-or-same" if fmt == "conll" else "line-error-or-valid"
            out.append(Case(f"control-{fmt}-U+{ord(ch):04X}-at-{p}-{i}", fmt,
                            (text[:p] + ch + text[p:]).encode("utf-8"), expect))
    return out


# -- huge ---------------------------------------------------------------------------------------------
def _huge() -> list[Case]:
    n = 50_000
    big_sentence = "".join(f"w{i}\t{'B-PER' if i % 3 == 0 else 'O'}\n" for i in range(n)).encode()
    text = " ".join(f"w{i}" for i in range(200_000))
    spans, pos = [], 0
    for i, w in enumerate(text.split(" ")):
        if i % 10 == 0:
            spans.append([pos, pos + len(w), "PER"])
        pos += len(w) + 1
    return [
        Case("huge-conll-token", "conll", b"x" * 1_000_000 + b"\tB-PER\nend\tO\n", "check",
             extra={"tokens": 2, "longest": 1_000_000, "spans": 1}),
        Case("huge-conll-sentence", "conll", big_sentence, "check",
             extra={"tokens": n, "longest": len(f"w{n - 1}"), "spans": -(-n // 3)}),
        Case("huge-conll-columns", "conll", ("Ada " + "x " * 100_000 + "B-PER\n").encode(), "check",
             extra={"tokens": 1, "longest": 3, "spans": 1}),
        Case("huge-conll-line-without-columns", "conll", b"a" * 1_000_000, "prefix", k=0, warn=True),
        Case("huge-jsonl-record", "jsonl", (json.dumps({"text": text, "label": spans}) + "\n").encode(),
             "check", extra={"tokens": 200_000, "longest": 7, "spans": len(spans)}),
        Case("huge-jsonl-token-list", "jsonl", (json.dumps({"tokens": text.split(" ")[:100_000]}) + "\n").encode(),
             "check", extra={"tokens": 100_000, "longest": 6, "spans": 0}),
    ]


def _random(rng: random.Random) -> list[Case]:
    out = []
    for i in range(60):
        fmt = ("conll", "jsonl", "parquet", "detect")[i % 4]
        data = rng.randbytes(rng.randrange(16, 3000))
        if fmt == "parquet" and i % 8 == 2:  # Parquet's magic at both ends, garbage between
            data = b"PAR1" + data + b"PAR1"
        out.append(Case(f"random-bytes-{fmt}-{i}", fmt, data, "ingest-error"))
    return out


def cases() -> list[Case]:
    rng = random.Random(SEED)
    out = _random(rng)
    out += _conll_cuts(rng, VALID["conll", "full"])
    out += _jsonl_cuts(rng, VALID["jsonl", "full"], "jsonl")
    out += _jsonl_cuts(rng, VALID["doccano", "full"], "doccano")
    out += _parquet_cuts(rng, VALID["parquet", "full"])
    out += _reencoded()
    out += _control(rng)
    out += _huge()
    out += json_type_cases()
    out += parquet_cases(_examples()["full"])
    return out


CASES = cases()
EXT = {"conll": ".conll", "jsonl": ".jsonl", "doccano": ".jsonl", "parquet": ".parquet", "detect": ""}


def test_the_generator_makes_enough_files_of_every_kind() -> None:
    assert len(CASES) >= 250 and len({c.name for c in CASES}) == len(CASES)
    kinds = {c.name.rsplit("-", 1)[0] for c in CASES}
    for needed in ("truncated-conll-mid-token", "truncated-conll-mid-tag", "truncated-conll-mid-utf8",
                   "truncated-conll-line-end-mid-sentence", "truncated-jsonl-mid-record",
                   "truncated-jsonl-mid-utf8", "reencoded-conll-full-utf-16", "random-bytes-detect"):
        assert needed in kinds, needed
    assert {f for f, _ in JSON_FIELDS} >= {"workbench", "doccano", "labelstudio", "tokens"}
    assert len(PARQUET_COLUMNS) >= 8


def outcome(path: Path, fmt: str) -> tuple[list[Example] | None, InputError | None, list[str]]:
    """What reading gives: examples (validated) or the InputError, and the InputWarnings.
    Any other exception fails the test, as does any other warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exs = list(read(path, format=fmt))
            for ex in exs:
                ex.validate()
            err = None
        except InputError as exc:
            exs, err = None, exc
    for w in caught:
        assert issubclass(w.category, (InputWarning, RepairWarning)), f"{w.category.__name__}: {w.message}"
    return exs, err, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


@pytest.mark.parametrize("case", [c for c in CASES if c.expect != "ingest-error"], ids=lambda c: c.name)
def test_malformed_file(case: Case) -> None:
    path = _DIR / f"{case.name}{EXT[case.fmt]}"
    path.write_bytes(case.data)
    fmt = "jsonl" if case.fmt == "doccano" else case.fmt
    exs, err, warned = outcome(path, fmt)
    ref = reference(case.fmt, case.variant) if case.fmt in ("conll", "jsonl", "doccano", "parquet") else []
    located = re.compile(rf"^{re.escape(str(path))}:\d+: ")
    if case.expect == "error":
        assert err is not None, f"read {len(exs or [])} examples"
        assert re.search(case.match, str(err)) and err.fix, str(err)
        assert err.where and str(path) in err.where
        if case.line:
            assert err.where == f"{path}:{case.line}", str(err)
    elif case.expect == "same":
        assert err is None, str(err)
        assert exs == ref and not warned, warned
    elif case.expect == "prefix":
        assert err is None, str(err)
        assert exs == ref[:case.k]
        if case.warn:
            assert len(warned) == 1 and located.match(warned[0]), warned
            if "line" in case.extra:
                assert warned[0].startswith(f"{path}:{case.extra['line']}: "), warned
        elif case.warn is False:
            assert not warned, warned
    elif case.expect == "line-prefix":  # the sentence's lines so far: its tokens and tags, cut
        assert err is None and not warned, (str(err), warned)
        assert exs[:case.k] == ref[:case.k] and len(exs) == case.k + 1
        last, whole = exs[-1], ref[case.k]
        n = len(last.tokens)
        assert 0 < n < len(whole.tokens) and last.tokens == whole.tokens[:n]
        assert last.tags() == whole.tags()[:n]
    elif case.expect == "line-error-or-same":
        assert exs == ref or (err is not None and located.match(str(err))), str(err)
    elif case.expect == "line-error-or-valid":  # JSON strings may hold DEL and C1 controls
        assert (exs is not None and len(exs) == len(ref)) or (err is not None and located.match(str(err))), str(err)
    elif case.expect == "int-ids":  # integer ids are read as strings
        assert err is None and [e.id for e in exs] == [str(i) for i in range(len(ref))]
        assert [(e.text, e.offsets, e.spans) for e in exs] == [(e.text, e.offsets, e.spans) for e in ref]
    elif case.expect == "check":
        assert err is None and not warned, (str(err), warned)
        (ex,) = exs
        assert (len(ex.tokens), max(map(len, ex.tokens)), len(ex.spans)) == (
            case.extra["tokens"], case.extra["longest"], case.extra["spans"])
    else:  # pragma: no cover
        raise AssertionError(case.expect)


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory):
    from workbench.load.ingest import ingest
    from workbench.store.store import Store

    store = Store(tmp_path_factory.mktemp("malformed") / "wb.duckdb", lock_timeout=5)
    ingest(ROOT / "data" / "sample-en.conll", name="good", store=store)
    return store


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "ingest-error"], ids=lambda c: c.name)
def test_random_bytes_are_an_input_error_and_store_nothing(seeded_store, case: Case) -> None:
    from workbench.load.ingest import ingest

    path = _DIR / f"{case.name}{EXT[case.fmt]}"
    path.write_bytes(case.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        with pytest.raises(InputError) as info:
            ingest(path, name="random", store=seeded_store)
    assert str(path) in (info.value.where or "") and info.value.fix
    assert [v.ref for v in seeded_store.versions()] == ["good@1"]


# -- through the CLI: an error, no traceback, the store as it was --------------------------------------
def _cli_cases() -> list[Any]:
    """A few malformed files for the CLI: (suffix, bytes), named."""
    pick = {c.name: c for c in CASES}
    out = [pytest.param(EXT[pick[n].fmt], pick[n].data, id=n) for n in
           ("random-bytes-conll-0", "random-bytes-detect-3", "truncated-parquet-at-4",
            "reencoded-conll-full-utf-16", "json-type-workbench-split-int", "parquet-text-int")]
    return out + [pytest.param(".conll", b"Ada\tB-PER\x00\n", id="nul-in-tag"),
                  pytest.param(".conll", b"Ada\tB-PER SON\n", id="space-in-tag")]


@pytest.mark.parametrize(("suffix", "data"), _cli_cases())
def test_the_cli_refuses_without_a_traceback(tmp_path, suffix, data) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.store.store import Store

    db = tmp_path / "tmp.duckdb"
    runner = CliRunner()
    good = runner.invoke(app, ["ingest", str(ROOT / "data" / "sample-en.conll"), "--name", "x",
                               "--lang", "en", "--db", str(db)])
    assert good.exit_code == 0, good.output
    before = list(Store(db).examples("x"))
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(data)
    r = runner.invoke(app, ["ingest", str(path), "--name", "x", "--lang", "en", "--db", str(db)],
                      env={"COLUMNS": "200"})
    assert r.exit_code != 0 and "Traceback" not in r.output and "error" in r.output, r.output
    assert path.name in r.output
    store = Store(db)
    assert [v.ref for v in store.versions()] == ["x@1"] and list(store.examples("x")) == before


def test_the_cli_stores_a_truncated_file_s_complete_records_and_warns(tmp_path) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    case = next(c for c in CASES if c.name.startswith("truncated-jsonl-mid-record") and c.k >= 2)
    path = tmp_path / "cut.jsonl"
    path.write_bytes(case.data)
    r = CliRunner().invoke(app, ["ingest", str(path), "--name", "cut", "--lang", "en", "--db",
                                 str(tmp_path / "tmp.duckdb")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert f"cut.jsonl:{case.k + 1}: the file ends inside a JSON record" in r.output.replace("\n", "")
    assert f"stored cut@1: {case.k} examples" in r.output
