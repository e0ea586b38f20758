"""The translate stage on tiny converted models: conventions, cache, resume, long inputs, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.translate import SENTENCES, ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import InputError, LanguageError
from workbench.core.records import Example, tokenize
from workbench.load.ingest import ingest
from workbench.mt.models import open_model
from workbench.translate import CACHE_TABLE, TranslateOptions, translate

ROOT = Path(__file__).resolve().parents[2]
OPTS = dict(max_decoding_length=8, beam_size=2)


class Recorder:
    """Wraps the real CTranslate2 translator and records what it receives."""

    def __init__(self, real):
        self.real = real
        self.sources: list[list[str]] = []
        self.prefixes: list = []
        self.calls = 0
        self.batches: list[tuple[int, dict]] = []  # (inputs, keyword arguments) of every call

    def translate_batch(self, source, target_prefix=None, **kw):
        self.calls += 1
        self.batches.append((len(source), kw))
        self.sources += source
        self.prefixes += target_prefix or [None] * len(source)
        self.kwargs = kw
        return self.real.translate_batch(source, target_prefix, **kw)

    def score_batch(self, *a, **kw):
        return self.real.score_batch(*a, **kw)


@pytest.fixture
def recorder(monkeypatch):
    import workbench.translate.stage as T

    made: list[Recorder] = []
    real_load = T.load_translator

    def load(*a, **kw):
        made.append(Recorder(real_load(*a, **kw)))
        return made[-1]

    monkeypatch.setattr(T, "load_translator", load)
    return made


@pytest.fixture
def src(store, sample_conll):
    return ingest(sample_conll, name="sample-en", store=store, lang="en")


def _rows(store, ref):
    return [(e.id, e.split, e.text, e.meta) for e in store.examples(ref)]


def _assert_same_rows(got, want):
    """Same ids, splits, texts and meta; float scores within 1e-4: CTranslate2's float results move
    in the last digits with the shape of the batch a sentence was translated in (a resumed run
    translates the missing sentences in other batches)."""
    assert [r[:3] for r in got] == [r[:3] for r in want]
    for (i, _, _, g), (_, _, _, w) in zip(got, want, strict=True):
        assert g.keys() == w.keys(), i
        for k, v in w.items():
            assert g[k] == (pytest.approx(v, rel=1e-4, abs=1e-5) if isinstance(v, float) else v), (i, k)


def test_translate_makes_one_version_per_target(store, src, ct2_models):  # noqa: F811
    vs = translate("sample-en", model=str(ct2_models["nllb"]), src_lang="en", tgt_langs=["de", "es"],
                   store=store, options=TranslateOptions(**OPTS))
    assert [v.ref for v in vs] == ["sample-en.de@1", "sample-en.es@1"]
    srcs = list(store.examples(src))
    for v, lang in zip(vs, ["de", "es"], strict=True):
        assert v.stage == "translate" and v.parents == [src.id] and v.lang == lang
        assert "model:tiny-nllb@" in v.signature and "beam:2" in v.signature and f"tgt:{lang}" in v.signature
        assert "compute:int8" in v.signature and "family:nllb.v1" in v.signature
        out = list(store.examples(v))
        assert [(e.id, e.split) for e in out] == [(e.id, e.split) for e in srcs]
        for s, e in zip(srcs, out, strict=True):
            assert e.meta["src_text"] == s.text and e.meta["src_lang"] == "en"
            assert e.offsets == tokenize(e.text) and e.spans == [] and e.lang == lang
            assert e.meta["mt_score"] < 0 and e.meta["mt_avg_logprob"] < 0
            assert "deu_Latn" not in e.text and "spa_Latn" not in e.text
    de = [e.text for e in store.examples(vs[0])]
    es = [e.text for e in store.examples(vs[1])]
    assert de != es and len(set(de)) > 5  # the target token matters and outputs vary


@pytest.mark.parametrize("kind,first,prefix", [
    ("nllb", "eng_Latn", ["deu_Latn"]),
    ("m2m100", "__en__", ["__de__"]),
    ("madlad", "<2de>", None),
    ("marian", ">>deu<<", None),
])
def test_each_family_language_tokens_reach_ct2_and_are_stripped(store, src, ct2_models, recorder,  # noqa: F811
                                                                kind, first, prefix):
    import ctranslate2

    # on CPU like the reference translator below (a GPU computes in other precisions)
    v, = translate(src, model=str(ct2_models[kind]), src_lang="en", tgt_langs="de", store=store,
                   options=TranslateOptions(device="cpu", **OPTS))
    rec = recorder[0]
    assert len(rec.sources) == src.n_examples
    assert all(s[0] == first and s[-1] == "</s>" for s in rec.sources)
    assert all(p == prefix for p in rec.prefixes)
    assert rec.kwargs["max_input_length"] == 0  # CTranslate2 never truncates
    # the stored text is exactly the model's output with the prefix removed
    m = open_model(ct2_models[kind])
    tr = ctranslate2.Translator(str(m.path), compute_type="int8")
    by_text = {e.meta["src_text"]: e.text for e in store.examples(v)}
    given = {e.meta["src_text"]: e.meta.get("mt_input", e.meta["src_text"]) for e in store.examples(v)}
    ex = next(iter(store.examples(src)))
    source = m.family.source(m.encode(given[ex.text]), m.family.token("en", "source"), m.family.token("de"))
    hyp = tr.translate_batch([source], [prefix] if prefix else None, **OPTS)[0].hypotheses[0]
    if prefix:
        assert hyp[0] == prefix[0]
        hyp = hyp[1:]
    assert by_text[ex.text] == m.decode(hyp)
    assert prefix is None or prefix[0] not in by_text[ex.text]


def test_unknown_target_code_fails_before_any_work(store, src, ct2_models):  # noqa: F811
    with pytest.raises(LanguageError, match="deu_latn") as ei:
        translate(src, model=str(ct2_models["nllb"]), src_lang="en", tgt_langs=["de", "deu_latn"],
                  store=store, options=TranslateOptions(**OPTS))
    assert "deu_Latn" in ei.value.fix
    assert [v.corpus for v in store.versions()] == ["sample-en"]


def test_cache_hit_translates_nothing(store, src, ct2_models, recorder):  # noqa: F811
    model = str(ct2_models["marian"])
    first, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS))
    assert len(recorder[0].sources) == src.n_examples
    # same command: the finished version is returned, no model is even loaded
    again, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS))
    assert again == first and len(recorder) == 1
    # a new output name: every sentence is served from the cache
    seen = []
    other, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS, name="copy-{tgt}"), progress=seen.append)
    assert other.corpus == "copy-de"
    assert recorder[1].calls == 0 and recorder[1].sources == []
    assert seen[-1].finished and seen[-1].cached == src.n_examples and seen[-1].translated == 0
    assert [r[1:] for r in _rows(store, other)] == [r[1:] for r in _rows(store, first)]
    # other decoding parameters are another cache key
    translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
              options=TranslateOptions(**{**OPTS, "beam_size": 1}))
    assert len(recorder[2].sources) == src.n_examples


def test_duplicate_texts_are_translated_once(store, ct2_models, recorder):  # noqa: F811
    texts = ["The weather was cold.", "We met in Paris.", "The weather was cold."] * 5
    exs = [Example.from_text(f"d{i}", t) for i, t in enumerate(texts)]
    store.write_version(exs, corpus="dups", stage="ingest", signature="test")
    v, = translate("dups", model=str(ct2_models["m2m100"]), src_lang="en", tgt_langs="de", store=store,
                   options=TranslateOptions(**OPTS, read_chunk=4))
    assert len(recorder[0].sources) == 2
    out = [e.text for e in store.examples(v)]
    assert out[0] == out[2] == out[-1] and len(out) == 15


def test_duplicates_flushed_before_they_recur_come_back_from_the_cache(store, ct2_models, recorder):  # noqa: F811
    # a duplicate whose first translation was already written (and left the in-flight table)
    # is read back from the cache, not translated again
    texts = ["The weather was cold.", "We met in Paris.", "A third one.", "Four.", "The weather was cold."]
    store.write_version([Example.from_text(f"d{i}", t) for i, t in enumerate(texts)], corpus="dups",
                        stage="ingest", signature="test")
    v, = translate("dups", model=str(ct2_models["m2m100"]), src_lang="en", tgt_langs="de", store=store,
                   options=TranslateOptions(**OPTS, read_chunk=2, flush_every=1))
    assert sum(len(r.sources) for r in recorder) == 4
    out = [e.text for e in store.examples(v)]
    assert out[0] == out[4] and len(out) == 5


def test_mt_score_matches_token_logprobs(store, src, ct2_models):  # noqa: F811
    model = str(ct2_models["nllb"])
    plain, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS))
    scored, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                        options=TranslateOptions(**OPTS, token_logprobs=True, name="scored"))
    for a, b in zip(store.examples(plain), store.examples(scored), strict=True):
        assert a.text == b.text
        lps = b.meta["mt_token_logprobs"]
        assert b.meta["mt_score"] == pytest.approx(sum(lps), abs=1e-3)
        assert a.meta["mt_score"] == pytest.approx(b.meta["mt_score"], abs=2e-2)
        assert a.meta["mt_avg_logprob"] == pytest.approx(sum(lps) / len(lps), abs=2e-3)


def _long_text() -> str:
    return " ".join(SENTENCES.read_text(encoding="utf-8").splitlines())


def test_input_longer_than_the_model_limit_comes_back_whole(store, ct2_models, recorder):  # noqa: F811
    m = open_model(ct2_models["marian"])
    text = _long_text()
    assert len(m.encode(text)) > 3 * m.max_input_length
    store.write_version([Example.from_text("long", text), Example.from_text("short", "Hello there.")],
                        corpus="long", stage="ingest", signature="test")
    v, = translate("long", model=str(m.path), src_lang="en", tgt_langs="de", store=store,
                   options=TranslateOptions(**OPTS))
    assert all(len(s) <= m.max_input_length for s in recorder[0].sources)
    ex = next(e for e in store.examples(v) if e.id == "long")
    split = ex.meta["mt_split"]
    src_parts = [text[a:b] for a, b in split["source"]]
    assert len(src_parts) >= 4
    # every source character is in a part, except whitespace at sentence cuts
    assert "".join(src_parts).replace(" ", "") == text.replace(" ", "")
    assert all(p.rstrip().endswith((".", "!", "?")) for p in src_parts)  # cut at sentence ends
    # the translation is all parts rejoined; each part is traceable
    tgt_parts = [ex.text[a:b] for a, b in split["target"]]
    assert " ".join(tgt_parts) == ex.text and len(tgt_parts) == len(src_parts)
    assert len(recorder[0].sources) == len(src_parts) + 1
    assert "mt_split" not in next(e for e in store.examples(v) if e.id == "short").meta


def test_no_split_makes_long_inputs_an_error(store, ct2_models):  # noqa: F811
    store.write_version([Example.from_text("long-1", _long_text())], corpus="long", stage="ingest",
                        signature="test")
    with pytest.raises(InputError, match="more than the model limit") as ei:
        translate("long", model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                  options=TranslateOptions(**OPTS, split_long=False))
    assert ei.value.where == "example long-1" and "--no-split" in ei.value.fix
    assert [v.corpus for v in store.versions()] == ["long"]


def test_no_split_is_not_served_a_split_translation_from_the_cache(store, ct2_models):  # noqa: F811
    store.write_version([Example.from_text("long-1", _long_text())], corpus="long", stage="ingest",
                        signature="test")
    translate("long", model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
              options=TranslateOptions(**OPTS))  # split, and cached
    with pytest.raises(InputError, match="more than the model limit"):
        translate("long", model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                  options=TranslateOptions(**OPTS, split_long=False, name="nosplit.{tgt}"))


KILLER = textwrap.dedent("""
    import os, signal, sys
    import workbench.translate as T
    import workbench.translate.engine as E
    from workbench.store.store import Store
    E.PROGRESS_INTERVAL = 0
    def cb(p):
        if p.translated >= int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)
    T.translate("sample-en", model=sys.argv[2], src_lang="en", tgt_langs=["de"], store=Store(sys.argv[1]),
                options=T.TranslateOptions(max_decoding_length=8, beam_size=2, read_chunk=16,
                                           flush_every=4, max_batch_tokens=64), progress=cb)
    print("not killed")
""")


def test_sigkilled_run_resumes_with_only_the_missing_sentences(store, src, ct2_models, recorder,  # noqa: F811
                                                               tmp_path, sample_conll):
    model = str(ct2_models["nllb"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", KILLER, str(store.path), model, "10"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr  # SIGKILL
    assert [v.corpus for v in store.versions()] == ["sample-en"]  # no partial version
    n_cached = store.sql(f"SELECT count(*) AS n FROM {CACHE_TABLE}").to_pylist()[0]["n"]
    assert 0 < n_cached < src.n_examples
    v, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                   options=TranslateOptions(**OPTS))
    assert len(recorder[0].sources) == src.n_examples - n_cached
    # identical to an uninterrupted run in a fresh store
    from workbench.store.store import Store

    clean = Store(tmp_path / "clean.duckdb")
    ingest(sample_conll, name="sample-en", store=clean, lang="en")
    w, = translate("sample-en", model=model, src_lang="en", tgt_langs="de", store=clean,
                   options=TranslateOptions(**OPTS))
    _assert_same_rows(_rows(store, v), _rows(clean, w))
    assert v.signature == w.signature


def test_cli_translate(store, src, ct2_models):  # noqa: F811
    from typer.testing import CliRunner

    from workbench.cli import app

    args = ["translate", "sample-en", "--model", str(ct2_models["m2m100"]), "--src-lang", "en",
            "--tgt-lang", "de,fr", "--beam-size", "2", "--max-decoding-length", "6",
            "--db", str(store.path), "--quiet"]
    r = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "sample-en.de@1" in r.output and "sample-en.fr@1" in r.output
    v = store.resolve("sample-en.fr")
    assert v.params["beam_size"] == 2 and v.params["compute_type"] == "int8"
    assert json.loads(json.dumps(v.params))["inter_threads"] >= 1
    r = CliRunner().invoke(app, args[:-3] + ["--tgt-lang", "xx", "--db", str(store.path)])
    assert r.exit_code == 1 and "unknown target language code 'xx'" in r.output


def test_progress_reports_are_monotonic_and_complete(store, src, ct2_models, monkeypatch):  # noqa: F811
    import workbench.translate.engine as E

    monkeypatch.setattr(E, "PROGRESS_INTERVAL", 0)
    seen = []
    translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
              options=TranslateOptions(**OPTS, read_chunk=10), progress=seen.append)
    done = [p.done for p in seen]
    assert done == sorted(done) and len(seen) > 4
    last = seen[-1]
    assert last.finished and last.done == last.total == src.n_examples
    assert last.translated == src.n_examples and last.cached == 0 and last.version == "sample-en.de@1"
    assert last.tgt_tokens > 0 and last.tokens_per_s > 0 and last.sentences_per_s > 0
    assert seen[1].eta_s is not None and seen[1].eta_s >= 0


def test_short_and_family_codes_share_the_cache(store, src, ct2_models, recorder):  # noqa: F811
    model = str(ct2_models["nllb"])
    first, = translate(src, model=model, src_lang="en", tgt_langs="de", store=store, options=TranslateOptions(**OPTS))
    # named, signed and stored by the normalised code: the same version, nothing translated again
    v, = translate(src, model=model, src_lang="eng_Latn", tgt_langs="deu_Latn", store=store,
                   options=TranslateOptions(**OPTS))
    assert v == first and v.corpus == "sample-en.de" and v.lang == "de" and len(recorder) == 1
    # another name: a new version, served from the cache
    w, = translate(src, model=model, src_lang="eng_Latn", tgt_langs="deu_Latn", store=store,
                   options=TranslateOptions(**OPTS, name="again.{tgt}"))
    assert w.corpus == "again.de" and recorder[1].sources == []
    assert [e.text for e in store.examples(w)] == [e.text for e in store.examples("sample-en.de")]


def test_engine_errors_that_users_can_fix_say_how():
    from workbench.core.errors import ModelError
    from workbench.mt.device import engine_error

    err = engine_error(RuntimeError("Library libcublas.so.12 is not found or cannot be loaded"), "cuda")
    assert isinstance(err, ModelError) and "nvidia-cublas-cu12" in err.fix
    other = RuntimeError("something else")
    assert engine_error(other, "cuda") is other
    oom = engine_error(RuntimeError("CUDA failed with error out of memory"), "cuda")
    assert isinstance(oom, ModelError) and "--max-batch-tokens" in oom.fix
