"""The versioned store: numbering, refs, immutability, signatures, params, views, Python API."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from workbench.core.errors import InputError, RefError, StoreError
from workbench.core.records import Example, Span, SpanOutcome
from workbench.core.signature import Signature
from workbench.export.stage import export
from workbench.load import read_conll
from workbench.load.ingest import ingest
from workbench.report.diff import diff
from workbench.store.store import EXAMPLE_SCHEMA, Store, examples_from_arrow, examples_to_arrow


def test_versions_refs_and_immutability(store, sample_conll) -> None:
    v1 = ingest(sample_conll, name="s", store=store, lang="en")
    first = list(store.examples(v1))
    v2 = ingest(sample_conll, name="s", store=store, lang="en", scheme="iob1")
    other = ingest(sample_conll, name="t", store=store)
    assert (v1.ref, v2.ref, other.ref) == ("s@1", "s@2", "t@1")
    assert store.resolve("s") == v2 and store.resolve("s@1") == v1 and store.resolve("t") == other
    assert [v.ref for v in store.versions()] == ["s@1", "s@2", "t@1"]
    assert [v.ref for v in store.versions("s")] == ["s@1", "s@2"]
    assert list(store.examples("s@1")) == first  # @1 untouched by the second ingest
    assert v1.n_examples == 36 == len(first) and v1.n_spans == sum(len(e.spans) for e in first)
    assert v1.stage == "ingest" and v1.parents == [] and v1.lang == "en"


def test_ref_errors_list_known_corpora(store, sample_conll) -> None:
    with pytest.raises(StoreError, match="no corpus store"):
        store.resolve("s")
    ingest(sample_conll, name="alpha", store=store)
    ingest(sample_conll, name="alpha", store=store, force=True)  # the same file again: a new version
    ingest(sample_conll, name="beta", store=store)
    with pytest.raises(RefError, match="no version 'gamma'") as info:
        store.resolve("gamma")
    assert "alpha@2" in info.value.fix and "beta@1" in info.value.fix
    with pytest.raises(RefError, match="no version 'alpha@3'"):
        store.resolve("alpha@3")
    for bad in ("alpha@x", "alpha@"):
        with pytest.raises(RefError, match="bad ref"):
            store.resolve(bad)
    with pytest.raises(InputError, match="bad corpus name"):
        ingest(sample_conll, name="bad name@1", store=store)


def test_signature_params_parents_and_find(store, sample_conll) -> None:
    v1 = ingest(sample_conll, name="s", store=store, lang="en")
    assert v1.signature.startswith("wb:") and "stage:ingest" in v1.signature
    assert "src:sample-en.conll#" in v1.signature and "lang:en" in v1.signature
    assert v1.params["format"] == "conll" and v1.params["lang"] == "en"
    assert v1.params["source"].endswith("sample-en.conll")
    sig = Signature("translate").add("parent", v1.ref).add("model", "m@abc").add("beam", 4)
    exs = list(store.examples(v1))
    v2 = store.write_version(exs[:5], corpus="s.de", stage="translate", signature=sig,
                             parents=[v1], params={"beam": 4, "nested": {"a": [1, 2]}}, lang="de")
    assert v2.parents == [v1.id] and v2.stage == "translate" and v2.lang == "de"
    assert v2.signature == sig.format() and v2.signature_key == sig.key()
    assert v2.params == {"beam": 4, "nested": {"a": [1, 2]}}
    assert store.find(sig.key()) == v2 and store.find("nope") is None
    row = store.sql("SELECT params->>'$.nested.a[1]' AS x, signature FROM versions WHERE id=?",
                    [v2.id]).to_pylist()
    assert row == [{"x": "2", "signature": sig.format()}]


def test_views_answer_sql(store, sample_conll) -> None:
    v = ingest(sample_conll, name="s", store=store)
    exs = list(store.examples(v))
    expected: dict[str, int] = {}
    for ex in exs:
        for sp in ex.spans:
            expected[sp.label] = expected.get(sp.label, 0) + 1
    got = {r["label"]: r["spans"] for r in store.sql(
        "SELECT label, spans FROM label_counts WHERE ref='s@1'").to_pylist()}
    assert got == expected
    rows = store.sql("SELECT example_id, span_index, label, span_text, start, \"end\" FROM span_rows "
                     "WHERE ref='s@1' ORDER BY example_id, span_index").to_pylist()
    want = sorted((ex.id, i, sp.label, ex.text[sp.start:sp.end], sp.start, sp.end)
                  for ex in exs for i, sp in enumerate(ex.spans))
    assert [tuple(r.values()) for r in rows] == want
    refs = store.sql("SELECT ref, n_examples FROM version_refs").to_pylist()
    assert refs == [{"ref": "s@1", "n_examples": 36}]
    # plain SQL over native types
    n = store.sql("SELECT sum(len(spans)) AS n FROM examples WHERE version_id=?", [v.id])
    assert n.to_pylist()[0]["n"] == v.n_spans


def test_outcome_rows_and_on_commit(store) -> None:
    ex = Example("p1", "Ada fuhr", [(0, 3), (4, 8)], [Span(0, 3, "PER", 0, 1, 0.9, 0)],
                 outcomes=[SpanOutcome(0, "PER", "projected", "", "x.v1", 0.9),
                           SpanOutcome(1, "LOC", "dropped", "unaligned", "x.v1")])
    seen = []

    def side(con: duckdb.DuckDBPyConnection, vid: int) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS side(version_id INTEGER, note VARCHAR)")
        con.execute("INSERT INTO side VALUES (?, 'hi')", [vid])
        seen.append(vid)

    v = store.write_version([ex], corpus="p", stage="project", signature="sig", on_commit=side)
    assert seen == [v.id]
    rows = store.sql("SELECT source, outcome, reason, score FROM outcome_rows ORDER BY source").to_pylist()
    assert rows == [{"source": 0, "outcome": "projected", "reason": "", "score": 0.9},
                    {"source": 1, "outcome": "dropped", "reason": "unaligned", "score": None}]
    assert store.sql("SELECT note FROM side").to_pylist() == [{"note": "hi"}]
    assert list(store.examples(v)) == [ex]


def test_on_commit_failure_rolls_back_and_nested_reads_work(store, sample_conll) -> None:
    v1 = ingest(sample_conll, name="s", store=store)

    def boom(con: duckdb.DuckDBPyConnection, vid: int) -> None:
        # reading through the store from inside the transaction shares the open connection
        assert store.resolve("s").ref == "s@1"
        raise InputError("filter failed")

    with pytest.raises(InputError, match="filter failed"):
        store.write_version(store.examples(v1), corpus="s", stage="filter", signature="x",
                            on_commit=boom)
    assert [v.ref for v in store.versions()] == ["s@1"]
    assert store.sql("SELECT count(*) AS n FROM examples").to_pylist() == [{"n": 36}]


def test_batches_of_examples_and_validation(store) -> None:
    batches = [[Example.from_text(f"{b}-{i}", f"Ada {i}", [(0, 3, "PER")]) for i in range(3)]
               for b in range(4)]
    v = store.write_version(batches, corpus="b", stage="x", signature="s", batch_size=5)
    assert v.n_examples == 12 and v.n_spans == 12
    assert [e.id for e in store.examples(v, batch_size=5)] == [e.id for b in batches for e in b]
    bad = Example("z", "Ada", [(0, 3)], [Span(0, 2, "PER", 0, 1)])
    with pytest.raises(InputError, match="example z: span 0-2"):
        store.write_version([bad], corpus="b", stage="x", signature="s")
    assert [x.ref for x in store.versions()] == ["b@1"]


def test_python_api_arrow_polars_dataset(store, sample_conll) -> None:
    v = ingest(sample_conll, name="s", store=store)
    exs = list(store.examples(v))
    tbl = store.to_arrow("s")
    assert tbl.schema == EXAMPLE_SCHEMA and tbl.num_rows == 36
    assert examples_from_arrow(tbl) == exs
    df = store.to_polars("s@1")
    assert df.height == 36 and df["id"].to_list() == [e.id for e in exs]
    assert df["spans"].list.len().sum() == v.n_spans
    ds = store.to_dataset("s")
    assert len(ds) == 36 and ds[0]["text"] == exs[0].text
    assert [s["label"] for s in ds[0]["spans"]] == [s.label for s in exs[0].spans]


def test_examples_to_arrow_round_trip_all_fields() -> None:
    exs = [
        Example("a", "Ada 😀 ok", [(0, 3), (4, 5), (6, 8)], [Span(0, 3, "PER", 0, 1, 0.5, 2)],
                lang="de", split="test", meta={"k": [1, "ü"]},
                outcomes=[SpanOutcome(2, "PER", "fallback", "why", "p.v1", None)]),
        Example("b", "", []),
    ]
    tbl = examples_to_arrow(exs, start_idx=7)
    assert tbl.column("idx").to_pylist() == [7, 8]
    assert examples_from_arrow(tbl) == exs
    assert examples_from_arrow(tbl.slice(1)) == exs[1:]
    assert examples_from_arrow(pa.concat_tables([tbl.slice(1), tbl.slice(0, 1)])) == exs[::-1]
    assert examples_from_arrow(tbl.to_batches()[0]) == exs
    # a foreign Parquet file may have only the required columns
    bare = examples_from_arrow(tbl.select(["id", "text", "offsets", "spans"]))
    assert [(e.id, e.offsets, e.spans, e.lang, e.split, e.meta, e.outcomes) for e in bare] == [
        (e.id, e.offsets, e.spans, "", "train", {}, []) for e in exs]


def test_read_parquet_with_required_columns_only(tmp_path) -> None:
    import pyarrow.parquet as pq

    from workbench.load import read

    exs = [Example.from_text("a", "Ada Lovelace", [(0, 12, "PER")], lang="en")]
    pq.write_table(examples_to_arrow(exs).select(["id", "text", "offsets", "spans"]),
                   tmp_path / "bare.parquet")
    (ex,) = read(tmp_path / "bare.parquet", lang="de")
    assert (ex.text, ex.spans, ex.lang) == (exs[0].text, exs[0].spans, "de")


def test_diff_and_export(store, sample_conll, tmp_path) -> None:
    v1 = ingest(sample_conll, name="s", store=store)
    exs = list(store.examples(v1))
    changed = exs[1].with_spans(exs[1].spans[:-1])  # one span removed
    dropped = exs[2]
    extra = Example.from_text("new-1", "Grace Hopper", [(0, 12, "PER")])
    v2 = store.write_version([exs[0], changed, *exs[3:], extra], corpus="s", stage="filter",
                             signature="f", parents=[v1])
    d = diff("s@1", "s@2", store=store)
    assert d.examples_added == ["new-1"] and d.examples_removed == [dropped.id]
    assert d.examples_changed == [changed.id]
    lab = exs[1].spans[-1].label
    assert d.spans_by_label == {lab: {"added": 0, "removed": 1}}
    assert export(v2, tmp_path / "o.jsonl", format="jsonl", store=store) == v2.n_examples
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == v2.n_examples
    assert export("s@1", tmp_path / "o.conll", store=store, comments=True) == 36
    back = list(read_conll(tmp_path / "o.conll"))
    assert [(e.id, e.text, e.spans) for e in back] == [(e.id, e.text, e.spans) for e in exs]
    with pytest.raises(Exception, match="unknown export format 'xml'"):
        export("s@1", tmp_path / "o.xml", format="xml", store=store)


def test_not_a_duckdb_file(tmp_path) -> None:
    bad = tmp_path / "junk.duckdb"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(bad).versions()


def test_sql_is_read_only(store, sample_conll) -> None:
    ingest(sample_conll, name="s", store=store)
    with pytest.raises(StoreError, match="read-only inspection: DELETE statements are not run"):
        store.sql("DELETE FROM examples")
    assert store.sql("SELECT count(*) AS n FROM examples").to_pylist() == [{"n": 36}]
    with pytest.raises(StoreError, match="read-only inspection: SET"):  # a setting would outlive the call
        store.sql("SET threads=1")


def test_batch_reads_a_range_and_only_the_fields_asked_for(tmp_path) -> None:
    from workbench.store.store import Store

    store = Store(tmp_path / "s.duckdb")
    exs = [Example(id=f"e{i}", text=f"w{i} x", offsets=[(0, 2), (3, 4)], spans=[Span(0, 2, "PER", 0, 1)],
                   lang="en", split="test", meta={"i": i}) for i in range(5)]
    v = store.write_version(exs, corpus="c", stage="ingest", signature="s")
    assert store.batch(v, 1, 3) == exs[1:3]
    lean = store.batch(v, 1, 3, fields=("split", "text", "meta"))
    assert lean == [Example(id=e.id, text=e.text, split="test", meta=e.meta) for e in exs[1:3]]
    assert [b for b in store.iter_batches(v, 2, fields=("text",))][2] == [Example(id="e4", text="w4 x")]
