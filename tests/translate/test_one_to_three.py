"""The one-to-three known-answer model (``tests/fixtures/mt_expanding.py``): every word translates to
three, so the output outgrows the input. Checked with CTranslate2 directly, then through the
translate stage under the default decoding options: a 95-word input decodes to 285 pieces in one
part (past CTranslate2's default limit of 256: the derived limit must be used), and inputs of 400
and 1,000 words, with and without punctuation, come back whole although no part of the model's
300-position input can be decoded in its 300 positions (each is cut again until it ends)."""

from __future__ import annotations

import random

import pytest

from tests.fixtures.mt import DICT_EN_DE
from tests.fixtures.mt_expanding import EXPAND_EN_DE, build_expanding_model, expand_words
from tests.translate.test_long_inputs import _jsonl, _text
from workbench.load import ingest
from workbench.translate import TranslateOptions, translate

WORDS = [w for w in DICT_EN_DE if w.isalpha()]
#: the model counts in float: int8 (compute_type=auto on CPU) rounds the count away (fixture docstring)
F32 = TranslateOptions(compute_type="float32")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build_expanding_model(tmp_path_factory.mktemp("one-to-three") / "one-to-three-en-de")


@pytest.fixture(scope="module")
def ct2(model):
    import ctranslate2
    import sentencepiece as spm

    tr = ctranslate2.Translator(str(model), compute_type="float32", intra_threads=1)
    src = spm.SentencePieceProcessor(model_file=str(model / "source.spm"))
    tgt = spm.SentencePieceProcessor(model_file=str(model / "target.spm"))
    return tr, src, tgt


def test_the_reference_maps_each_word_to_three():
    assert expand_words("the red house .") == "die die2 die3 rote rote2 rote3 Haus Haus2 Haus3 ."
    assert expand_words("[ John ] lives") == "[ Johann Johann2 Johann3 ] wohnt wohnt2 wohnt3"
    assert all(len(v) == (3 if w.isalpha() else 1) for w, v in EXPAND_EN_DE.items())


@pytest.mark.parametrize("text", [
    "John Smith lives in New York .",
    "Mary works for Acme in Paris , and John visited Berlin today .",
    "[ John Smith ] lives in [ New York ] .",  # markers translate to themselves, one piece each
    "<PER> Mary </PER> met the old city",
    "the the the the the",
])
def test_ctranslate2_writes_the_known_answer(ct2, text):
    tr, src, tgt = ct2
    pieces = src.encode(text, out_type=str)
    (res,) = tr.translate_batch([pieces], beam_size=2, max_decoding_length=300, return_scores=True)
    hyp = res.hypotheses[0]
    assert tgt.decode_pieces(hyp) == expand_words(text)
    assert len(hyp) > len(pieces)
    # the translation's text re-encodes to the pieces the model wrote (constrained.v1 relies on it)
    assert tgt.encode(expand_words(text), out_type=str) == hyp
    (sc,) = tr.score_batch([pieces], [hyp])
    assert min(sc.log_probs) > -0.01  # every piece, </s> included, is the model's clear choice


def test_ctranslate2_default_limit_cuts_what_the_model_would_finish(ct2):
    tr, src, tgt = ct2
    text = " ".join(WORDS[i % len(WORDS)] for i in range(95))
    pieces = src.encode(text, out_type=str)
    (whole,) = tr.translate_batch([pieces], beam_size=1, max_decoding_length=300)
    assert tgt.decode_pieces(whole.hypotheses[0]) == expand_words(text)
    assert len(whole.hypotheses[0]) == 285
    (cut,) = tr.translate_batch([pieces], beam_size=1)  # CTranslate2's default: 256
    assert len(cut.hypotheses[0]) == 256


def test_a_95_word_input_decodes_past_256_pieces_in_one_part(store, tmp_path, model):
    text = " ".join(WORDS[i % len(WORDS)] for i in range(95))
    src = ingest(_jsonl(tmp_path / "x.jsonl", [text]), name="x", lang="en", store=store)
    seen = []
    (v,) = translate(src, model=str(model), src_lang="en", tgt_langs="de", store=store, options=F32,
                     progress=seen.append)
    (ex,) = store.examples(v)
    assert ex.text == expand_words(text)
    assert not ex.meta.get("mt_truncated") and "mt_split" not in ex.meta  # one part, decoded whole
    assert seen[-1].tgt_tokens == 285 > 256 and seen[-1].resplit == 0


@pytest.mark.parametrize("n", [400, pytest.param(1000, marks=pytest.mark.slow)])
def test_400_and_1000_words_come_back_whole(store, tmp_path, model, n):
    rng = random.Random(n)
    texts = [_text(n, rng, True), _text(n, rng, False)]
    src = ingest(_jsonl(tmp_path / "long.jsonl", texts), name="long", lang="en", store=store)
    seen = []
    (v,) = translate(src, model=str(model), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(compute_type="float32", beam_size=1), progress=seen.append)
    out = {e.id: e for e in store.examples(v)}
    for i, t in enumerate(texts):
        ex = out[f"t{i}"]
        want = expand_words(t)
        assert ex.text == want, f"t{i}: {len(ex.text.split())} of {len(want.split())} words"
        assert not ex.meta.get("mt_truncated")
        assert len(want.split()) > 3 * 256  # the output runs far past the default decoding limit
        # more parts than the input limit alone makes: the parts were cut again until they ended
        parts = ex.meta["mt_split"]["source"]
        assert len(parts) >= 3 * len(t.split()) // 300
        for (a, b), (x, y) in zip(parts, ex.meta["mt_split"]["target"], strict=True):
            assert ex.text[x:y] == expand_words(t[a:b])  # each part's recorded ranges match
    assert seen[-1].resplit > 0 and seen[-1].truncated == 0
