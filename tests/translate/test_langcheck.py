"""A single-pair model's outputs are checked with py3langid before they are stored: the
known-answer model (word-by-word English -> German) claiming en-fr is refused, naming de and fr,
and nothing is stored as ``.fr``; with its true pair, or with the check off, it translates; a
target py3langid does not know is not checked."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from tests.fixtures.mt import DICT_EN_DE, build_known_answer_model, translate_words
from workbench.core.errors import LanguageError
from workbench.core.langid import identifier
from workbench.core.records import Example
from workbench.load import ingest
from workbench.mt.models import open_model
from workbench.translate import CACHE_TABLE, TranslateOptions, translate
from workbench.translate.langcheck import MIN_SAMPLE, output_check, usable

WORDS = [w for w in DICT_EN_DE if w.isalpha()]
OPTS = dict(beam_size=1)


def _sentences(n: int = 40, seed: int = 7) -> list[str]:
    """English sentences of 6-12 dictionary words whose word-by-word German py3langid reads as
    German (checked here, so the test does not rest on luck with the small vocabulary)."""
    rng, ident, out = random.Random(seed), identifier(), []
    while len(out) < n:
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) + " ."
        if ident.classify(translate_words(s))[0] == "de":
            out.append(s)
    return out


@pytest.fixture
def corpus(store, tmp_path):
    path = tmp_path / "en.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{i}", "text": t, "spans": []}) + "\n"
                            for i, t in enumerate(_sentences())), encoding="utf-8")
    return ingest(path, name="news", lang="en", store=store)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("langcheck")
    # the same German-writing model, its files claiming three pairs
    return {pair: build_known_answer_model(root / f"known-answer-{pair[1]}", pair=pair)
            for pair in [("en", "de"), ("en", "fr"), ("en", "rm")]}


def test_the_sample_reads_as_german():
    ident = identifier()
    outs = [translate_words(s) for s in _sentences()]
    assert all(usable(t) for t in outs)
    assert sum(ident.classify(t)[0] == "de" for t in outs) == len(outs)


def test_german_is_never_stored_as_fr(store, corpus, models):
    with pytest.raises(LanguageError) as err:
        translate(corpus, model=str(models["en", "fr"]), src_lang="en", tgt_langs="fr", store=store,
                  options=TranslateOptions(**OPTS))
    e = err.value
    assert "writes de (40 of 40 sampled outputs), not fr" in e.message
    assert e.where == str(models["en", "fr"])
    assert "--pair en-de --tgt-lang de" in (e.fix or "") and "--no-check-language" in (e.fix or "")
    assert [v.ref for v in store.versions()] == ["news@1"]  # no news.fr
    # the cache keeps what the model wrote (keyed by this model and target): a rerun is refused
    # again from it, without translating
    n_cached = store.sql(f"SELECT count(*) AS n FROM {CACHE_TABLE}").to_pylist()[0]["n"]
    assert n_cached == 40
    seen = []
    with pytest.raises(LanguageError, match="writes de"):
        translate(corpus, model=str(models["en", "fr"]), src_lang="en", tgt_langs="fr", store=store,
                  options=TranslateOptions(**OPTS), progress=seen.append)
    assert all(p.translated == 0 for p in seen)
    assert [v.ref for v in store.versions()] == ["news@1"]


def test_the_true_pair_translates(store, corpus, models):
    (v,) = translate(corpus, model=str(models["en", "de"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(**OPTS))
    assert v.ref == "news.de@1"
    src = {e.id: e.text for e in store.examples(corpus)}
    assert all(e.text == translate_words(src[e.id]) for e in store.examples(v))


def test_the_off_switch_lets_it_through_with_the_same_signature(store, corpus, models):
    (v,) = translate(corpus, model=str(models["en", "fr"]), src_lang="en", tgt_langs="fr", store=store,
                     options=TranslateOptions(check_language=False, **OPTS))
    assert v.ref == "news.fr@1" and v.n_examples == 40
    # the check only lets a run through or not: neither the signature nor the cache key holds it
    assert "check" not in v.signature
    assert TranslateOptions(check_language=False).decoding_key() == TranslateOptions().decoding_key()


def test_a_language_py3langid_does_not_know_is_not_checked(store, corpus, models):
    assert "rm" not in identifier().nb_classes  # Romansh
    m = open_model(models["en", "rm"])
    check = output_check(m, "en", "rm")
    german = [Example.from_text(f"g{i}", translate_words(t)) for i, t in enumerate(_sentences(MIN_SAMPLE, seed=5))]
    check.see(german)
    check.decide()  # waits for the identifier, which does not know rm: nothing checked, no refusal
    assert check.n == MIN_SAMPLE and check.applies is False and not check.votes
    (v,) = translate(corpus, model=m, src_lang="en", tgt_langs="rm", store=store, options=TranslateOptions(**OPTS))
    assert v.ref == "news.rm@1"


def test_too_few_usable_outputs_decide_nothing(store, tmp_path, models):
    texts = ["the red house is big ."] * 3 + ["John Smith", "Paris"] + _sentences(MIN_SAMPLE - 1, seed=3)
    path = tmp_path / "few.jsonl"
    path.write_text("".join(json.dumps({"id": f"f{i}", "text": t, "spans": []}) + "\n"
                            for i, t in enumerate(texts)), encoding="utf-8")
    src = ingest(path, name="few", lang="en", store=store)
    (v,) = translate(src, model=str(models["en", "fr"]), src_lang="en", tgt_langs="fr", store=store,
                     options=TranslateOptions(**OPTS))
    assert v.n_examples == len(texts)  # 15 usable outputs: too few to refuse a run on


def test_the_cli_refuses_and_takes_the_off_switch(store, corpus, models):
    from workbench.cli import app

    base = ["translate", "news", "-m", str(models["en", "fr"]), "--src-lang", "en", "--tgt-lang", "fr",
            "--beam-size", "1", "--quiet", "--db", str(store.path)]
    r = CliRunner().invoke(app, base, env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "writes de" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, [*base, "--no-check-language"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert [v.ref for v in store.versions()] == ["news@1", "news.fr@1"]


def test_gibberish_and_names_are_not_usable():
    assert not usable("KKKKKKKKKKKKKKKKKKKKKKKK")
    assert not usable("un un un un un un un un un un un un")
    assert not usable("New York City")
    assert usable("Johann wohnt in Berlin und arbeitet für Acme")
    assert usable("北京是中华人民共和国的首都，也是全国的政治文化中心。")


def test_a_long_run_is_refused_after_its_first_chunks(store, tmp_path, models):
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps({"id": f"l{i}", "text": t, "spans": []}) + "\n"
                            for i, t in enumerate(_sentences(200, seed=11))), encoding="utf-8")
    src = ingest(path, name="long", lang="en", store=store)
    seen = []
    with pytest.raises(LanguageError, match=r"writes de \(64 of 64 sampled outputs\), not fr"):
        translate(src, model=str(models["en", "fr"]), src_lang="en", tgt_langs="fr", store=store,
                  options=TranslateOptions(read_chunk=50, **OPTS), progress=seen.append)
    # the sample is full in the second chunk: the rest is not waited for, nothing is stored
    assert max(p.translated for p in seen) <= 100
    assert [v.ref for v in store.versions()] == ["long@1"]


@pytest.mark.ray
def test_a_sharded_run_is_refused_too(ray_cluster, store, corpus, models):
    from workbench.executors import ExecutorOptions

    with pytest.raises(LanguageError, match=r"writes de \(40 of 40 sampled outputs\), not fr"):
        translate(corpus, model=str(models["en", "fr"]), src_lang="en", tgt_langs="fr", store=store,
                  options=TranslateOptions(**OPTS), executor=ExecutorOptions("ray", workers=1, shard_size=10))
    assert [v.ref for v in store.versions()] == ["news@1"]
