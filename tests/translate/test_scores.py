"""``scores=False`` (``--no-scores``): CTranslate2 is not asked for the translations'
log-probabilities, the version has the same texts without ``meta.mt_score``/``mt_avg_logprob``,
it is signed and cached apart (a scored run is never served a row without scores), and what
needs the scores says so."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from tests.fixtures.mt import DICT_EN_DE, build_known_answer_model, translate_words
from tests.translate.test_translate import recorder  # noqa: F401
from workbench.core.errors import ConfigError
from workbench.filter import filter_version
from workbench.load import ingest
from workbench.translate import CACHE_TABLE, TranslateOptions, translate

WORDS = [w for w in DICT_EN_DE if w.isalpha()]
OPTS = dict(beam_size=1, check_language=False)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build_known_answer_model(tmp_path_factory.mktemp("scores") / "known-answer-de")


@pytest.fixture
def corpus(store, tmp_path):
    rng = random.Random(3)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) + " ." for _ in range(30)]
    path = tmp_path / "en.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{i}", "text": t, "spans": []}) + "\n"
                            for i, t in enumerate(texts)), encoding="utf-8")
    return ingest(path, name="news", lang="en", store=store)


def _asked(recorder) -> list[bool]:  # noqa: F811
    """The ``return_scores`` of every ``translate_batch`` call the stage made."""
    return [kw["return_scores"] for r in recorder for _, kw in r.batches]


def _cache(store):
    with store.connect() as con:
        return con.execute(f"SELECT params, count(*), count(score), count(avg_logprob) FROM {CACHE_TABLE} "
                           "GROUP BY params ORDER BY params").fetchall()


def test_no_scores_stores_the_same_texts_without_scores(store, corpus, model, recorder):  # noqa: F811
    plain, = translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS, scores=False))
    asked = _asked(recorder)
    assert asked and not any(asked)
    examples = list(store.examples(plain))
    assert [e.text for e in examples] == [translate_words(e.meta["src_text"]) for e in examples]
    assert all("mt_score" not in e.meta and "mt_avg_logprob" not in e.meta for e in examples)
    assert all(e.meta["src_lang"] == "en" for e in examples)
    assert _cache(store) == [('{"beam": 1, "lp": 1.0, "maxlen": 0, "minlen": 1, "nrng": 0, "rp": 1.0, '
                              '"scores": false}', 30, 0, 0)]

    # a run with scores (the default) is another version and translates again: the rows without
    # scores are not served to it
    before = len(_asked(recorder))
    scored, = translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                        options=TranslateOptions(**OPTS, name="news.de-scored"))
    asked = _asked(recorder)[before:]
    assert asked and all(asked)
    assert scored.id != plain.id and "|scores:no|" in plain.signature and "scores" not in scored.signature
    both = list(zip(store.examples(plain), store.examples(scored), strict=True))
    assert all(a.text == b.text for a, b in both)
    assert all(b.meta["mt_score"] < 0 and b.meta["mt_avg_logprob"] < 0 for _, b in both)
    assert [r[1:] for r in _cache(store)] == [(30, 0, 0), (30, 30, 30)]  # "scores": false sorts first

    # the same unscored run again: its version, as stored
    again, = translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS, scores=False))
    assert again.id == plain.id


def test_the_default_signature_does_not_name_scores():
    assert "scores" not in TranslateOptions().decoding()
    assert TranslateOptions(scores=False).decoding()["scores"] is False
    assert '"scores": false' in TranslateOptions(scores=False).decoding_key()


def test_token_logprobs_without_scores_is_refused(store, corpus, model):
    with pytest.raises(ConfigError, match="--token-logprobs") as err:
        translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                  options=TranslateOptions(**OPTS, scores=False, token_logprobs=True))
    assert "drop one of" in err.value.fix
    assert [v.ref for v in store.versions()] == ["news@1"]


def test_the_mt_score_filter_names_no_scores(store, corpus, model):
    v, = translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                   options=TranslateOptions(**OPTS, scores=False))
    with pytest.raises(ConfigError, match="no example of .* has meta.mt_avg_logprob") as err:
        filter_version(v, filters=["mt-score.v1"], store=store)
    assert "--no-scores" in err.value.fix


def test_the_cli_flag(store, corpus, model):
    from workbench.cli.common import app

    r = CliRunner().invoke(app, ["translate", corpus.ref, "-m", str(model), "--src-lang", "en", "--tgt-lang",
                                 "de", "--beam-size", "1", "--no-scores", "--no-check-language", "-q",
                                 "--db", str(store.path)])
    assert r.exit_code == 0, r.output
    v = store.resolve("news.de")
    assert v.params["scores"] is False
    assert all("mt_score" not in e.meta for e in store.examples(v))


@pytest.mark.ray
def test_a_sharded_run_without_scores_matches_the_local_one(ray_cluster, store, corpus, model):
    from workbench.executors import ExecutorOptions

    local, = translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**OPTS, scores=False))
    with store.connect(read_only=False) as con:
        con.execute(f"DELETE FROM {CACHE_TABLE}")  # so the sharded run translates, not reads the cache
    dist, = translate(corpus, model=str(model), src_lang="en", tgt_langs="de", store=store,
                      options=TranslateOptions(**OPTS, scores=False, name="news.de-ray"),
                      executor=ExecutorOptions("ray", workers=1, shard_size=10))
    assert [(e.id, e.text, e.meta) for e in store.examples(dist)] == \
        [(e.id, e.text, e.meta) for e in store.examples(local)]
    assert [r[1:] for r in _cache(store)] == [(30, 0, 0)]
