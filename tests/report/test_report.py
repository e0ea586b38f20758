"""The report: its numbers against independent SQL on the same versions; the HTML is offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from tests.fixtures.filter import ROWS, build_chain
from workbench.cli import app
from workbench.filter import filter_version as run_filter
from workbench.report import build_report, render_terminal, write_html


@pytest.fixture
def filtered(store):
    src, tr, pr = build_chain(store, ROWS)
    r = run_filter(pr.ref, filters=["langid.v1", "mt-score.v1", "projection-complete.v1",
                                    "span-confidence.v1", "duplicate.v1"], store=store)
    return src, tr, pr, r.version


class _Tables(HTMLParser):
    """Rows of every <table class=...> and the data-key cards of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.cards: dict[str, str] = {}
        self._cur: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._card: str | None = None
        self._in_b = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._cur = self.tables.setdefault(a.get("class") or "", [])
        elif tag == "tr" and self._cur is not None:
            self._cur.append([])
        elif tag in ("td", "th") and self._cur is not None:
            self._cell = []
        elif tag == "div" and "data-key" in a:
            self._card = a["data-key"]
        elif tag == "b" and self._card:
            self._in_b = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._cur is not None:
            self._cur[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._cur = None
        elif tag == "b":
            self._in_b = False
            self._card = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_b and self._card:
            self.cards[self._card] = data


def _parse(html: str) -> _Tables:
    p = _Tables()
    p.feed(html)
    return p


def test_report_numbers_equal_independent_sql(store, filtered):
    src, tr, pr, fv = filtered
    rep = build_report(fv.ref, store=store).a
    # spans and examples per label: the store's own label_counts view
    want = {r["label"]: (r["spans"], r["examples"]) for r in store.sql(
        "SELECT label, spans, examples FROM label_counts WHERE ref = ?", [fv.ref]).to_pylist()}
    assert {k: (v["spans"], v["examples"]) for k, v in rep.labels.items() if v["spans"]} == want
    # source side: the source version's spans restricted to the kept ids, counted in Python
    kept = {ex.id for ex in store.examples(fv)}
    src_counts: dict[str, int] = {}
    for ex in store.examples(src):
        if ex.id in kept:
            for sp in ex.spans:
                src_counts[sp.label] = src_counts.get(sp.label, 0) + 1
    assert {k: v["src_spans"] for k, v in rep.labels.items() if v["src_spans"]} == src_counts
    # outcomes: the outcome_rows view
    rows = store.sql("SELECT label, projector, outcome, count(*) AS n FROM outcome_rows WHERE ref = ? "
                     "GROUP BY ALL ORDER BY ALL", [fv.ref]).to_pylist()
    assert rep.outcomes == [(r["label"], r["projector"], r["outcome"], r["n"]) for r in rows]
    # filter counts and rejections: filter_rows
    n_rej = store.sql("SELECT count(DISTINCT example_id) AS n FROM filter_rows WHERE ref = ? AND NOT kept",
                      [fv.ref]).to_pylist()[0]["n"]
    assert rep.filtered == (pr.n_examples, fv.n_examples, n_rej)
    assert rep.filtered[1] + rep.filtered[2] == rep.filtered[0]
    rej = store.sql("SELECT filter, reason, count(*) AS n FROM filter_rows WHERE ref = ? AND NOT kept "
                    "GROUP BY ALL", [fv.ref]).to_pylist()
    assert sorted(rep.rejections) == sorted((r["filter"], r["reason"], r["n"]) for r in rej)
    # histograms: n, mean and bin totals against SQL and Python
    sc = store.sql("SELECT count(score) AS n, avg(score) AS m FROM span_rows WHERE ref = ?",
                   [fv.ref]).to_pylist()[0]
    h = rep.histograms["span_score"]
    assert (h["n"], sum(h["counts"])) == (sc["n"], sc["n"]) and h["mean"] == pytest.approx(sc["m"])
    ratios = [len(ex.text) / len(ex.meta["src_text"]) for ex in store.examples(fv)]
    h = rep.histograms["length_ratio"]
    assert h["n"] == len(ratios) and h["min"] == pytest.approx(min(ratios))
    assert h["max"] == pytest.approx(max(ratios)) and h["mean"] == pytest.approx(sum(ratios) / len(ratios))
    lp = [ex.meta["mt_avg_logprob"] for ex in store.examples(fv)]
    assert rep.histograms["mt_avg_logprob"]["mean"] == pytest.approx(sum(lp) / len(lp))


def test_histogram_bins_hold_every_value(store, filtered):
    pr = filtered[2]
    h = build_report(pr.ref, store=store, bins=7).a.histograms["length_ratio"]
    ratios = sorted(len(ex.text) / len(ex.meta["src_text"]) for ex in store.examples(pr))
    assert len(h["counts"]) == 7 and sum(h["counts"]) == len(ratios)
    w = (h["hi"] - h["lo"]) / 7
    expect = [0] * 7
    for x in ratios:
        expect[min(int((x - h["lo"]) // w), 6)] += 1
    assert h["counts"] == expect
    assert h["counts"][-1] >= 1  # the largest value (long-1, ratio 10) is in the last bin


def test_html_is_offline_and_shows_the_same_numbers(store, filtered, tmp_path):
    src, tr, pr, fv = filtered
    path = write_html(build_report(fv.ref, store=store), tmp_path / "report.html")
    html = path.read_text()
    assert not re.search(r"https?://", html)
    assert "<script" not in html and "<link" not in html and not re.search(r"\bsrc=", html)
    assert html.count("<svg") >= 6  # labels, outcomes x2, rejections, 3 histograms
    page = _parse(html)
    assert page.cards["kept"] == str(fv.n_examples) and page.cards["filter input"] == str(pr.n_examples)
    rej = store.sql("SELECT filter, reason, count(*) AS n FROM filter_rows WHERE ref = ? AND NOT kept "
                    "GROUP BY ALL", [fv.ref]).to_pylist()
    body = page.tables["rejections"][1:]
    assert sorted((f, r, int(n)) for f, r, n in body) == sorted((x["filter"], x["reason"], x["n"])
                                                                  for x in rej)
    labels = {r[0]: int(r[2]) for r in page.tables["labels"][1:]}
    want = {r["label"]: r["spans"] for r in store.sql(
        "SELECT label, spans FROM label_counts WHERE ref = ?", [fv.ref]).to_pylist()}
    assert labels == want


def test_two_versions_show_their_differences(store, filtered, tmp_path):
    src, tr, pr, fv = filtered
    rep = build_report(pr.ref, fv.ref, store=store)
    assert rep.diff is not None and len(rep.diff.examples_removed) == pr.n_examples - fv.n_examples
    html = write_html(rep, tmp_path / "diff.html").read_text()
    page = _parse(html)
    got = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in page.tables["diff-labels"][1:]}
    sql = store.sql(
        "SELECT label, sum(CASE WHEN ref = ? THEN spans ELSE 0 END) AS a, "
        "sum(CASE WHEN ref = ? THEN spans ELSE 0 END) AS b FROM label_counts WHERE ref IN (?, ?) "
        "GROUP BY label", [pr.ref, fv.ref, pr.ref, fv.ref]).to_pylist()
    assert got == {r["label"]: (r["a"], r["b"], r["b"] - r["a"]) for r in sql}
    assert not re.search(r"https?://", html)
    text = "\n".join(str(x) for x in render_terminal(rep))
    assert "differences" in text


def test_report_of_a_plain_source_version(store, filtered, tmp_path):
    src = filtered[0]
    rep = build_report(src.ref, store=store).a
    assert rep.source_ref is None and rep.outcomes == [] and rep.filtered is None
    assert set(rep.histograms) == set()  # no scores, no MT, no source text
    assert sum(v["spans"] for v in rep.labels.values()) == src.n_spans
    assert "<svg" in write_html(build_report(src.ref, store=store), tmp_path / "s.html").read_text()


def test_cli_filter_and_report(store, tmp_path):
    build_chain(store, ROWS)
    runner = CliRunner()
    db = ["--db", str(store.path)]
    res = runner.invoke(app, ["filter", "toy.de@2", "-F", "length-ratio.v1,copy.v1", "-O",
                              "length-ratio.v1.max=1.1", *db])
    assert res.exit_code == 0, res.output
    assert "toy.de@3" in res.output and "kept" in res.output
    v = store.resolve("toy.de@3")
    assert "max=1.1" in v.signature
    res = runner.invoke(app, ["filter", "toy.de@2", "-F", "copy.v1", "-O", "copy.v1.nope=1", *db])
    assert res.exit_code == 1 and "no option" in res.output
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "toy.de@2", "toy.de@3", "--html", str(out), *db])
    assert res.exit_code == 0, res.output
    assert out.exists() and "filter rejections" in res.output and "length-ratio.v1" in res.output


def test_the_html_report_shows_examples_with_coloured_spans(store, filtered, tmp_path):
    """Projected and filtered versions show examples side by side: source and target spans coloured
    by label, the lowest-confidence spans, dropped spans with the reason, rejected examples with the
    filter and reason, a sample; text is escaped."""
    src, tr, pr, fv = filtered
    rep = build_report(fv.ref, store=store)
    kinds = {e.kind for e in rep.a.examples}
    assert {"sample", "rejected"} <= kinds and len(rep.a.examples) <= 20
    rejected = [e for e in rep.a.examples if e.kind == "rejected"]
    assert all(":" in e.note for e in rejected)  # filter: reason
    assert all(e.source is not None for e in rep.a.examples)  # the source beside every example
    projected = build_report(pr.ref, store=store)
    assert any(e.kind == "low confidence" for e in projected.a.examples)
    html = write_html(rep, tmp_path / "r.html").read_text()
    assert html.count('class="example"') == len(rep.a.examples)
    assert "<mark " in html and "<sup>" in html
    for e in rep.a.examples:
        if e.source is not None:
            assert e.source.text.split()[0].replace("&", "&amp;").replace("<", "&lt;") in html
