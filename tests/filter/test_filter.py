"""The filter stage and each registered filter on hand-made cases with known decisions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fixtures.filter import EXPECTED_REJECTS, ROWS, Row, build_chain
from workbench.core.errors import ConfigError
from workbench.core.records import Example, Span, SpanOutcome, tokenize
from workbench.filter import FILTERS, Decision, Filter, Item, get, lang_base, parse_options
from workbench.filter import filter_version as run_filter
from workbench.store.lineage import source_version

ALL = [n for n in FILTERS if n != "cometkiwi.v1"]


@pytest.fixture
def chain(store):
    return build_chain(store, ROWS)


def _decisions(store, vid):
    return store.sql("SELECT example_id, filter, kept, reason, detail, value FROM filter_decisions "
                     "WHERE version_id = ? ORDER BY idx, filter", [vid]).to_pylist()


def test_all_filters_make_the_known_decisions(store, chain):
    src, tr, pr = chain
    r = run_filter(pr.ref, filters=ALL, store=store)
    rows = _decisions(store, r.version.id)
    rejected = {}
    for row in rows:
        if not row["kept"]:
            rejected.setdefault(row["filter"], set()).add(row["example_id"])
    assert rejected == EXPECTED_REJECTS
    bad = set().union(*EXPECTED_REJECTS.values())
    kept_ids = [ex.id for ex in store.examples(r.version)]
    assert kept_ids == [x.id for x in ROWS if x.id not in bad]
    assert "lowmt-dup" in kept_ids  # the earlier identical text was rejected, so this one stays
    # counts add up, one decision per (example, filter), every dropped example has a reason
    assert r.n_input == pr.n_examples == len(ROWS)
    assert r.n_kept + r.n_rejected == r.n_input
    assert r.n_kept == r.version.n_examples == len(kept_ids)
    assert len(rows) == len(ROWS) * len(ALL)
    no_reason = store.sql(
        "SELECT e.id FROM examples e WHERE e.version_id = ? AND e.id NOT IN "
        "(SELECT id FROM examples WHERE version_id = ?) AND e.id NOT IN "
        "(SELECT example_id FROM filter_decisions WHERE version_id = ? AND NOT kept)",
        [pr.id, r.version.id, r.version.id]).to_pylist()
    assert no_reason == []
    assert r.rejected_by == {k: len(v) for k, v in EXPECTED_REJECTS.items()}
    # the new version: same corpus, stage filter, parent = input, kept examples unchanged
    v = r.version
    assert (v.corpus, v.stage, v.parents, v.lang) == (pr.corpus, "filter", [pr.id], "de")
    before = {ex.id: ex for ex in store.examples(pr)}
    assert all(ex == before[ex.id] for ex in store.examples(v))
    for name in ALL:
        assert name in v.signature
    assert "min_score=0.5" in v.signature and "threshold=0.8" in v.signature


def test_rejected_examples_are_queryable_through_the_view(store, chain):
    r = run_filter(chain[2].ref, filters=["langid.v1", "mt-score.v1"], store=store)
    rows = store.sql("SELECT example_id, filter, reason, detail, value FROM filter_rows "
                     "WHERE ref = ? AND NOT kept ORDER BY example_id, filter", [r.version.ref]).to_pylist()
    assert [(x["example_id"], x["filter"], x["reason"]) for x in rows] == [
        ("copy-1", "langid.v1", "wrong-language"),
        ("french-1", "langid.v1", "wrong-language"),
        ("lowmt-1", "mt-score.v1", "low-score"),
    ]
    assert "expected de" in rows[1]["detail"] and rows[2]["value"] == pytest.approx(-3.5)


def test_rerun_returns_the_stored_version_and_force_makes_a_new_one(store, chain):
    a = run_filter(chain[2].ref, filters=["copy.v1"], store=store)
    b = run_filter(chain[2].ref, filters=["copy.v1"], store=store)
    assert b.version.id == a.version.id and b.rejected_by == a.rejected_by == {"copy.v1": 1}
    c = run_filter(chain[2].ref, filters=["copy.v1"], store=store, force=True)
    assert c.version.id != a.version.id and c.n_kept == a.n_kept


def test_results_do_not_depend_on_batch_size(store, chain):
    names = ["duplicate.v1", "near-duplicate.v1", "mt-score.v1"]
    a = run_filter(chain[2].ref, filters=names, store=store)
    b = run_filter(chain[2].ref, filters=names, store=store, batch_size=2, force=True)
    strip = [{k: v for k, v in d.items()} for d in _decisions(store, a.version.id)]
    assert strip == _decisions(store, b.version.id)
    assert a.n_kept == b.n_kept == len(ROWS) - 3  # dup-1, near-1, lowmt-1


def test_options_change_thresholds_and_the_signature(store, chain):
    # good-2 has a length ratio of 1.17: kept by default, rejected with max=1.1
    r = run_filter(chain[2].ref, filters=["length-ratio.v1"], options={"length-ratio.v1.max": "1.1"},
                   store=store)
    rej = {d["example_id"] for d in _decisions(store, r.version.id) if not d["kept"]}
    assert {"good-2", "long-1"} <= rej and "good-1" not in rej
    assert "max=1.1" in r.version.signature
    r2 = run_filter(chain[2].ref, filters=["length-ratio.v1"], options={"length-ratio.v1": {"max": 1.1}},
                    store=store)
    assert r2.version.id == r.version.id  # same filters and thresholds: same signature


def test_parse_options_types_and_errors():
    o = parse_options(["mt-score.v1", "duplicate.v1"], {"mt-score.v1.percentile": "10",
                      "duplicate.v1.normalize": "yes", "mt-score.v1.score": "mt_score"})
    assert o == {"mt-score.v1": {"percentile": 10.0, "score": "mt_score"},
                 "duplicate.v1": {"normalize": True}}
    with pytest.raises(ConfigError, match="no option 'maxx'"):
        parse_options(["length-ratio.v1"], {"length-ratio.v1.maxx": "2"})
    with pytest.raises(ConfigError, match="not among the filters"):
        parse_options(["copy.v1"], {"length-ratio.v1.max": "2"})
    with pytest.raises(ConfigError, match="names no registered filter"):
        parse_options(["copy.v1"], {"bogus.v9.max": "2"})
    with pytest.raises(ConfigError, match="is not a"):
        parse_options(["copy.v1"], {"copy.v1.min_tokens": "many"})
    with pytest.raises(ConfigError, match="unknown filter"):
        get("nope.v1")


def test_projection_filters_need_a_projected_version(store, chain):
    src, tr, pr = chain
    for name in ("projection-complete.v1", "span-confidence.v1", "span-length.v1"):
        with pytest.raises(ConfigError, match="needs a projected version"):
            run_filter(tr.ref, filters=[name], store=store)
    with pytest.raises(ConfigError, match="no example of toy@1 has meta.mt_avg_logprob"):
        run_filter(src.ref, filters=["mt-score.v1"], store=store)
    assert [v.ref for v in store.versions()] == ["toy@1", "toy.de@1", "toy.de@2"]  # nothing written


def test_refiltering_a_filtered_version_finds_the_source(store, chain):
    src, tr, pr = chain
    a = run_filter(pr.ref, filters=["langid.v1"], store=store)
    assert source_version(store, a.version).id == src.id
    assert source_version(store, tr).id == src.id and source_version(store, src) is None
    b = run_filter(a.version.ref, filters=["span-length.v1", "copy.v1"], store=store)
    rej = {d["example_id"] for d in _decisions(store, b.version.id) if not d["kept"]}
    assert rej == {"spanlen-1"}  # copy-1 was already gone
    assert b.n_input == a.n_kept and b.version.parents == [a.version.id]


def test_mt_score_percentile_rejects_the_lowest_share(store):
    rows = [Row(f"s{i}", f"Sentence number {i} is here.", f"Satz Nummer {i} ist hier.", logprob=-0.1 * i)
            for i in range(10)]
    _, tr, _ = build_chain(store, rows)
    r = run_filter(tr.ref, filters=["mt-score.v1"], options={"mt-score.v1.percentile": 30}, store=store)
    rej = {d["example_id"] for d in _decisions(store, r.version.id) if not d["kept"]}
    # values 0, -0.1, ... -0.9; the 30th percentile is -0.63: -0.7, -0.8, -0.9 are below it
    assert rej == {"s7", "s8", "s9"}


def test_cometkiwi_without_comet_is_a_clear_error(store, chain):
    pytest.importorskip("workbench")
    try:
        import comet  # noqa: F401
        pytest.skip("unbabel-comet is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match="unbabel-comet"):
        run_filter(chain[1].ref, filters=["cometkiwi.v1"], store=store)


# -- single filters on items, no store --------------------------------------------------------


def _tr(text: str, src: str, lang: str = "de", src_lang: str = "en", **meta) -> Item:
    return Item(Example("x", text, tokenize(text), lang=lang,
                        meta={"src_text": src, "src_lang": src_lang, **meta}))


@pytest.mark.parametrize("text,src,lang,kept,reason", [
    ("Guten Morgen, wie geht es Ihnen heute?", "Good morning, how are you today?", "de", True, "ok"),
    ("Ja.", "Yes, I completely agree with the honourable member on this point.", "de", False, "too-short"),
    ("你今天好吗？", "How are you doing today, my friend?", "zh", True, "ok"),  # CJK: shorter is normal
    ("你今天好吗？我的朋友，你今天怎么样？很好很好很好很好很好", "Are you well?", "zh", False, "too-long"),
    ("Oui.", "Yes", "fr", True, "short-source"),
])
def test_length_ratio_per_language_pair(text, src, lang, kept, reason):
    d = get("length-ratio.v1").decide_one(_tr(text, src, lang=lang))
    assert (d.kept, d.reason) == (kept, reason)
    lo, hi = get("length-ratio.v1").bounds("en", "zh")
    assert hi < 1.0  # en->zh expects much shorter text
    assert get("length-ratio.v1").bounds("xx", "yy") == (0.5, 2.0)  # unknown pair: the fallback
    assert get("length-ratio.v1", min=0.9, max=1.1).bounds("en", "zh") == (0.9, 1.1)


def test_langid_detects_wrong_language_and_skips_short_text():
    f = get("langid.v1")
    assert f.decide_one(_tr("Das ist ein ganz normaler deutscher Satz über das Wetter.", "x")).kept
    d = f.decide_one(_tr("This is a perfectly normal English sentence about the weather.", "x"))
    assert (d.kept, d.reason) == (False, "wrong-language") and "detected en" in d.detail
    assert f.decide_one(_tr("OK.", "x")).reason == "short-text"
    # FLORES-style codes are understood
    assert lang_base("deu_Latn") == "de" and lang_base("pt-BR") == "pt"
    assert f.decide_one(_tr("Das ist ein ganz normaler deutscher Satz.", "x", lang="deu_Latn")).kept


def test_copy_and_repeat_ngram():
    c = get("copy.v1")
    assert c.decide_one(_tr("The cat sat on the mat today.", "The cat sat on the mat today!")).reason == "copy"
    assert c.decide_one(_tr("Peter Blackburn", "Peter Blackburn")).reason == "short-source"
    assert c.decide_one(_tr("Die Katze saß heute auf der Matte.", "The cat sat on the mat today.")).kept
    r = get("repeat-ngram.v1")
    d = r.decide_one(_tr("Er sagte , dass die EU die EU die EU die EU stärken will .", "He said ..."))
    assert (d.kept, d.reason, d.value) == (False, "repetition", 4)
    assert r.decide_one(_tr("Ha ha ha ha , sagte er .", "Ha ha ha ha, he said.")).reason == "source-repeats"
    assert r.decide_one(_tr("Sehr , sehr gut .", "Very, very good.")).kept
    assert not get("repeat-ngram.v1", allow_source=False).decide_one(
        _tr("Ha ha ha ha , sagte er .", "Ha ha ha ha, he said.")).kept


def _projected(src_spans, tgt_spans, outcomes):
    src = Example.from_text("x", "Anna Berg met Tom in Rome .", src_spans)
    tgt = Example.from_text("x", "Anna Berg traf Tom in Rom .", [(s, e, lab) for s, e, lab, *_ in tgt_spans])
    spans = [Span(sp.start, sp.end, sp.label, sp.token_start, sp.token_end, extra[3], extra[4])
             for sp, extra in zip(tgt.spans, tgt_spans, strict=True)]
    outs = [SpanOutcome(i, src.spans[i].label, o, why, "p.v1") for i, o, why in outcomes]
    return Item(Example("x", tgt.text, tgt.offsets, spans, lang="de", outcomes=outs), src)


def test_projection_complete_confidence_and_span_length():
    src = [(0, 9, "PER"), (14, 17, "PER"), (21, 25, "LOC")]
    full = [(0, 9, "PER", 0.9, 0), (15, 18, "PER", 0.8, 1), (22, 25, "LOC", 0.7, 2)]
    ok = _projected(src, full, [(0, "projected", ""), (1, "projected", ""), (2, "fallback", "string match")])
    pc = get("projection-complete.v1")
    assert pc.decide_one(ok).kept and pc.decide_one(ok).value == 1.0
    d = get("projection-complete.v1", allow_fallback=False).decide_one(ok)
    assert (d.kept, d.reason) == (False, "spans-lost") and d.value == pytest.approx(2 / 3)
    lost = _projected(src, full[:2], [(0, "projected", ""), (1, "projected", ""), (2, "dropped", "no link")])
    assert "no link" in pc.decide_one(lost).detail
    assert get("projection-complete.v1", max_dropped=1, same_labels=False).decide_one(lost).kept
    relabel = _projected(src, [(0, 9, "PER", 0.9, 0), (15, 18, "ORG", 0.8, 1), (22, 25, "LOC", 0.7, 2)],
                         [(0, "projected", ""), (1, "projected", ""), (2, "projected", "")])
    assert pc.decide_one(relabel).reason == "label-mismatch"
    sc = get("span-confidence.v1", min_score=0.75)
    d = sc.decide_one(ok)
    assert (d.kept, d.value) == (False, 0.7)
    assert get("span-confidence.v1", min_score=0.7).decide_one(ok).kept
    sl = get("span-length.v1")
    assert sl.decide_one(ok).kept
    # one source token "Tom" projected onto 5 target tokens: beyond 1 * 2.5 + 2
    long = _projected(src, [(0, 9, "PER", 0.9, 0), (9, 27, "PER", 0.8, 1)],
                      [(0, "projected", ""), (1, "projected", ""), (2, "dropped", "x")])
    d = sl.decide_one(long)
    assert (d.kept, d.reason, d.value) == (False, "implausible-length", 5.0)
    assert get("span-length.v1", slack=3).decide_one(long).kept


def test_duplicates_exact_normalised_and_near():
    items = [_tr(t, "s") for t in ["Der Hund schläft.", "der Hund schläft!", "Der Hund schläft.",
                                   "Die Katze spielt im großen Garten hinter dem alten Haus.",
                                   "Die Katze spielt im großen Garten hinter dem alten Haus, sagt sie."]]
    for i, it in enumerate(items):
        it.example.id = f"e{i}"
    exact = get("duplicate.v1").decide(items)
    assert [d.kept for d in exact] == [True, True, False, True, True]
    assert exact[2].detail == "same text as e0"
    norm = get("duplicate.v1", normalize=True).decide(items)
    assert [d.kept for d in norm] == [True, False, False, True, True]
    near = get("near-duplicate.v1").decide(items)
    assert [d.kept for d in near] == [True, False, False, True, False]
    assert "e3" in near[4].detail and near[4].value >= 0.8
    # examples that earlier filters rejected are not remembered
    d = get("duplicate.v1").decide(items[:3], alive=[False, True, True])
    assert [x.kept for x in d] == [True, True, True]


@dataclass
class _Boom(Filter):
    """A filter object passed directly: keeps examples until ``fail_at``, then raises."""

    name = "boom.v1"
    fail_at: int = 5
    seen: int = 0

    def decide_one(self, item):
        self.seen += 1
        if self.seen > self.fail_at:
            raise RuntimeError("boom")
        return Decision(self.seen % 2 == 0, "ok" if self.seen % 2 == 0 else "odd", "", self.seen)


def test_filter_objects_and_nothing_written_on_failure(store, chain):
    pr = chain[2]
    with pytest.raises(RuntimeError, match="boom"):
        run_filter(pr.ref, filters=[_Boom(fail_at=5)], store=store, batch_size=2)
    assert len(store.versions()) == 3
    assert store.sql("SELECT count(*) AS n FROM filter_decisions").to_pylist()[0]["n"] == 0
    r = run_filter(pr.ref, filters=[_Boom(fail_at=100)], store=store, batch_size=4)
    assert r.n_kept == len(ROWS) // 2 and "boom.v1:fail_at=100" in r.version.signature
    vals = [d["value"] for d in _decisions(store, r.version.id)]
    assert vals == [float(i) for i in range(1, len(ROWS) + 1)]


def test_langid_rejects_unidentifiable_languages_up_front():
    with pytest.raises(ConfigError, match="cannot identify 'tlh'"):
        get("langid.v1").decide_one(_tr("tlhIngan Hol Dajatlh'a' jIyajbe'", "x", lang="tlh"))
    with pytest.raises(ConfigError, match="not among the candidates"):
        get("langid.v1", candidates="en,fr").decide_one(_tr("Das ist ein deutscher Satz.", "x"))
    f = get("langid.v1", candidates="en,de")
    assert f.decide_one(_tr("Das ist ein ganz normaler deutscher Satz.", "x")).kept


def test_mt_score_after_markers_reads_the_kept_score_and_counts_the_unscored(store):
    """markers.v1 moves the translate stage's scores to ``*_clean``: mt-score.v1 reads them; an
    example without any score is kept and counted as not scored."""
    from workbench.core.records import Example
    from workbench.core.signature import Signature

    rows = [Example.from_tokens(f"m{i}", ["Das", "ist", "gut", "."]) for i in range(3)]
    rows[0].meta.update(mt_text_replaced_by="markers.v1", mt_avg_logprob_clean=-0.5)
    rows[1].meta.update(mt_text_replaced_by="markers.v1", mt_avg_logprob_clean=-5.0)
    src = store.write_version([Example.from_tokens(f"m{i}", ["This", "is", "good", "."]) for i in range(3)],
                              corpus="src", stage="ingest", signature=Signature("ingest").add("case", 1))
    tr = store.write_version(rows, corpus="m.de", stage="translate", signature=Signature("translate").add("case", 1),
                             parents=[src], lang="de")
    r = run_filter(tr.ref, filters=["mt-score.v1"], store=store)
    assert r.rejected_by == {"mt-score.v1": 1} and r.n_kept == 2
    assert r.not_scored == {"mt-score.v1": 1}
