"""The column-built paths of :mod:`workbench.core.arrow` against the per-example ones they replace
(the translate stage writes through them: its versions must not change)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.arrow import (
    examples_from_arrow,
    examples_to_arrow,
    numeric,
    offsets_column,
    strings,
    texts_table,
)
from workbench.core.records import Example, Span, tokenize

# characters every branch of the tokeniser cares about: word joiners, spaces (\x1c-\x1f are
# spaces to Python's regex), combining marks, emoji sequences, unspaced scripts, non-ASCII words
_CHARS = list("ab Z9_-'.’,!?\n\t\x1c\x1f") + ["\u0301", "\u200d", "😀", "\U0001f1e9", "\U0001f1ea",
                                              "\U0001f3fb", "東", "ก", "é", "ß", "\x7f"]
_TEXTS = st.lists(st.text(alphabet=st.sampled_from(_CHARS), max_size=14), max_size=7)
_ASCII = st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=14), max_size=7)


def _expected(texts: list[str]) -> list[list[dict[str, int]]]:
    return [[{"start": a, "end": b} for a, b in tokenize(t)] for t in texts]


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_offsets_column_is_tokenize_of_every_text(texts: list[str]) -> None:
    assert offsets_column(texts).to_pylist() == _expected(texts)


@settings(max_examples=400, deadline=None)
@given(_ASCII)
def test_offsets_column_ascii_path_is_the_regex(texts: list[str]) -> None:
    assert offsets_column(texts).to_pylist() == _expected(texts)


def test_offsets_column_mixes_ascii_unicode_and_unspaced_texts_in_order() -> None:
    texts = ["it's a test.", "Grüße, Welt!", "", "東京 is big", "e.g. U.S.-made", "😀\u200d😀 ok"]
    assert offsets_column(texts).to_pylist() == _expected(texts)


def test_texts_table_is_examples_to_arrow_of_the_examples() -> None:
    metas = [{"src_text": "a b", "mt_score": -1.25}, {"src_text": "Grüße", "x": [1.5, 2.0]}]
    texts = ["Hallo Welt.", "Grüße, ihr!"]
    exs = [Example(id=f"s{i}", text=t, offsets=tokenize(t), lang="de", split=sp, meta=m)
           for i, (t, sp, m) in enumerate(zip(texts, ["train", "test"], metas, strict=True))]
    table = texts_table([e.id for e in exs], texts, splits=["train", "test"], lang="de",
                        metas=[json.dumps(m, ensure_ascii=False) for m in metas])
    assert table.equals(examples_to_arrow(exs))


def test_examples_from_arrow_leaves_absent_columns_empty() -> None:
    ex = Example(id="a", text="x y", offsets=[(0, 1), (2, 3)], spans=[Span(0, 1, "PER", 0, 1)],
                 lang="en", split="test", meta={"k": 1})
    full = examples_to_arrow([ex])
    assert examples_from_arrow(full) == [ex]
    lean = examples_from_arrow(full.select(["id", "split", "text", "meta"]))
    assert lean == [Example(id="a", text="x y", split="test", meta={"k": 1})]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(_CHARS), max_size=9)), max_size=40))
def test_strings_is_pa_array(values: list[str | None]) -> None:
    got = strings(values)
    got.validate(full=True)
    assert got.equals(pa.array(values, pa.string())) and got.null_count == values.count(None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=40),
       st.lists(st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)), max_size=40))
def test_numeric_is_pa_array(floats: list[float | None], ints: list[int | None]) -> None:
    for values, typ in ((floats, pa.float64()), (ints, pa.int32()), (ints, pa.int64())):
        got = numeric(values, typ)
        got.validate(full=True)
        assert got.equals(pa.array(values, typ))
    assert numeric(np.arange(5, 9), pa.int64()).equals(pa.array(range(5, 9), pa.int64()))
    stamps = [datetime(2026, 12, 2, 5, 30, 1, 123456), None]
    assert numeric(stamps, pa.timestamp("us")).equals(pa.array(stamps, pa.timestamp("us")))


def test_the_column_builders_do_not_import_pandas() -> None:
    """pa.array imports pandas on its first call in a process; the builders the translate
    stage stages its chunks with must not (checked in a fresh interpreter)."""
    code = ("import sys, json\n"
            "from workbench.core.arrow import texts_table, strings, numeric\n"
            "import pyarrow as pa\n"
            "t = texts_table(['a', 'b'], ['Hallo Welt .', 'Grüße !'], splits=['train', 'dev'], lang='de',\n"
            "                metas=[json.dumps({'x': 1}), None])\n"
            "numeric([1.5, None], pa.float64()); strings(['x', None])\n"
            "print('pandas' in sys.modules, t.num_rows)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "2"]
