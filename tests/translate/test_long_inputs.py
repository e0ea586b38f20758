"""Long inputs come back whole: with the word-by-word known-answer model (300 positions), inputs of
400 and 1,000 words, with and without any punctuation, translate to exactly the dictionary's
answer under the default options (split at the model's input limit; each part's decoding limit
derived from its length, so no part is cut at a fixed 256); a model that never ends its output is
cut in two and translated again, and what still cannot end is flagged, never kept silently."""

from __future__ import annotations

import json
import random

import pytest

from tests.fixtures.mt import DICT_EN_DE, build_known_answer_model, translate_words
from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from workbench.load import ingest
from workbench.translate import TranslateOptions, translate

WORDS = [w for w in DICT_EN_DE if w.isalpha()]


@pytest.fixture(scope="module")
def ka(tmp_path_factory):
    return build_known_answer_model(tmp_path_factory.mktemp("ka-long") / "known-answer-en-de")


def _jsonl(path, texts):
    path.write_text("".join(json.dumps({"id": f"t{i}", "text": t, "spans": []}) + "\n"
                            for i, t in enumerate(texts)), encoding="utf-8")
    return path


def _text(n: int, rng: random.Random, punctuation: bool) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if punctuation:  # sentences of 8-20 words
        out, i = [], 0
        while i < n:
            k = rng.randint(8, 20)
            out.append(" ".join(words[i:i + k]) + " .")
            i += k
        return " ".join(out)
    return " ".join(words)


def test_400_and_1000_words_come_back_whole(store, tmp_path, ka):
    rng = random.Random(4)
    texts = [_text(400, rng, True), _text(400, rng, False), _text(1000, rng, True), _text(1000, rng, False)]
    src = ingest(_jsonl(tmp_path / "long.jsonl", texts), name="long", lang="en", store=store)
    seen = []
    (v,) = translate(src, model=str(ka), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(beam_size=1), progress=seen.append)
    out = {e.id: e for e in store.examples(v)}
    for i, t in enumerate(texts):
        ex = out[f"t{i}"]
        assert ex.text == translate_words(t), f"t{i}: {len(ex.text.split())} of {len(t.split())} words"
        assert not ex.meta.get("mt_truncated")
        assert len(ex.meta["mt_split"]["source"]) >= 2  # over the 300-position input limit: split
    assert seen[-1].truncated == 0


def test_a_model_that_never_ends_is_resplit_then_flagged(store, tmp_path, ct2_models):  # noqa: F811
    text = " ".join(WORDS[i % len(WORDS)] for i in range(40))
    src = ingest(_jsonl(tmp_path / "x.jsonl", [text]), name="x", lang="en", store=store)
    seen = []
    (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(beam_size=1), progress=seen.append)
    (ex,) = store.examples(v)
    assert ex.meta["mt_truncated"] is True and ex.text  # flagged, not silently cut
    assert seen[-1].resplit >= 3 and seen[-1].truncated >= 2  # cut in two and tried again
    assert len(ex.meta["mt_split"]["source"]) >= 4
    # an explicit limit is a cap: flagged at once, not retranslated
    seen.clear()
    (w,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(beam_size=1, max_decoding_length=8, name="x.capped"),
                     progress=seen.append)
    (ex,) = store.examples(w)
    assert ex.meta["mt_truncated"] is True and seen[-1].resplit == 0
