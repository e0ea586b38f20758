"""``align.simalign.v1`` against the ``simalign`` package (0.4), the reference implementation.

Both load the same tiny random BERT from a local directory (the package resolves any name that is
not one of its own short names or Hub ids with ``AutoModel``/``AutoTokenizer.from_pretrained``, so
an absolute path loads offline), with the same layer, token type and method. Our ``argmax``,
``itermax`` and ``match`` are the package's matching methods ``a`` (returned as ``inter``: forward
argmax times backward argmax), ``i`` (``itermax``) and ``m`` (``mwmf``: networkx's max-weight
matching of maximum cardinality); its ``f``/``r`` (one direction only) have no counterpart here.

Where the two differ, by design:

* a sentence longer than the encoder's limit: the package lets the tokenizer truncate it, so with
  ``bpe`` the words past the limit silently get no links and with ``word`` it raises IndexError;
  ours encodes it in overlapping windows and aligns every word;
* a blank word: no piece, so no link in either with ``bpe``; with ``word`` the package averages
  an empty list (NaN) and raises ValueError, ours leaves that word out.

Speed is compared in ``bench/simalign_speed.py``, not here.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
simalign = pytest.importorskip("simalign", reason="the reference comes with workbench[align]")

import projectors  # noqa: E402
from projectors.base import Pair  # noqa: E402
from projectors.simalign import argmax_links, itermax, match_links  # noqa: E402
from tests.fixtures.simalign import STEMS, build_wordpiece_bert, sentence, sentence_pairs, translation  # noqa: E402

#: our method -> (the package's matching_methods letter, the key its result is returned under)
METHODS = {"argmax": ("a", "inter"), "itermax": ("i", "itermax"), "match": ("m", "mwmf")}
LIMIT = 64  # the tiny BERT's positions: 62 word pieces besides [CLS] and [SEP]


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The package runs a tiny forward pass per pair; on a loaded machine torch's intra-op threads
    wait on each other for most of it (this module took 45 s instead of 13 s on 2 shared cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return build_wordpiece_bert(tmp_path_factory.mktemp("wordpiece-bert"), max_positions=LIMIT)


def ours(bert: str, pairs, **options) -> list[set[tuple[int, int]]]:
    p = projectors.get("align.simalign.v1", model=bert, device="cpu", batch_size=16, **options)
    p.project([Pair(s, t, []) for s, t in pairs])
    return [set(lk) for lk in p.last_links]


@pytest.mark.parametrize("token_type, layer", [("bpe", 1), ("word", 2)])
def test_links_equal_the_package(bert, token_type, layer):
    pairs = sentence_pairs(seed=14, n=300)  # 1-10 words (<= 40 pieces), targets <= 13 (52 < 62)
    ref = simalign.SentenceAligner(model=bert, token_type=token_type, matching_methods="aim", device="cpu",
                                   layer=layer)
    expected = [ref.get_word_aligns(s, t) for s, t in pairs]
    for method, (_letter, key) in METHODS.items():
        got = ours(bert, pairs, method=method, layer=layer, token_type=token_type)
        differ = [(pairs[k], sorted(expected[k][key]), sorted(got[k]))
                  for k in range(len(pairs)) if set(expected[k][key]) != got[k]]
        assert not differ, (method, len(differ), differ[:3])
    # not a trivial agreement: the three methods give different links on many of the pairs
    for key in ("itermax", "mwmf"):
        assert sum(set(e[key]) != set(e["inter"]) for e in expected) > 50, key


def test_link_extraction_equals_the_package_on_random_similarities():
    """The three link extractors on SimAlign's similarities (cos + 1) / 2, shapes 1x1 to 14x14.
    Our itermax was once given raw cosines: it then differed from the package on a third of
    these matrices (and on 154 and 77 of the 300 model pairs above, bpe and word), since its second
    round scales cells."""
    sa = simalign.SentenceAligner
    rng = np.random.default_rng(14)
    for _ in range(500):
        m, n = (int(x) for x in rng.integers(1, 15, 2))
        sim = (rng.uniform(-1.0, 1.0, (m, n)) + 1.0) / 2.0
        fwd, rev = sa.get_alignment_matrix(sim)
        assert np.array_equal(argmax_links(sim), fwd * rev)
        assert np.array_equal(itermax(sim), sa.iter_max(sim))
        assert np.array_equal(match_links(sim), sa.get_max_weight_match(sim))


def _first_piece(bert: str, words: list[str]) -> list[int]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(bert)
    starts, n = [], 0
    for w in words:
        starts.append(n)
        n += len(tok.tokenize(w))
    return starts


def test_over_long_pairs_the_package_cuts_off_ours_aligns_every_word(bert):
    rng = random.Random(64)
    longs = [sentence(rng, 40, 60) for _ in range(12)]  # 40-60 words of 1-4 pieces, ~2 on average
    starts = [_first_piece(bert, s) for s in longs]
    assert all(s[-1] >= LIMIT - 2 for s in starts)  # the last word of each is past the limit
    pairs = [(s, s) for s in longs]  # a sentence aligned to itself: the diagonal is the answer
    diagonal = [{(i, i) for i in range(len(s))} for s in longs]

    ref = simalign.SentenceAligner(model=bert, token_type="bpe", matching_methods="aim", device="cpu", layer=1)
    for s, st in zip(longs, starts, strict=True):
        got = ref.get_word_aligns(s, s)
        kept = {i for i in range(len(s)) if st[i] < LIMIT - 2}  # words with a piece before the cut
        assert kept < set(range(len(s)))
        for key in ("inter", "itermax", "mwmf"):
            # the package: the diagonal up to the cut, and silently no links for the words past it
            assert set(got[key]) == {(i, i) for i in kept}, key
    ref_word = simalign.SentenceAligner(model=bert, token_type="word", matching_methods="a", device="cpu",
                                        layer=1)
    with pytest.raises(IndexError):
        ref_word.get_word_aligns(longs[0], longs[0])

    for token_type in ("bpe", "word"):
        for method in METHODS:
            assert ours(bert, pairs, method=method, layer=1, token_type=token_type) == diagonal, \
                (token_type, method)
    # a long source against its (shorter, reordered) translation: words past the limit get links
    tgts = [translation(rng, s) for s in longs]
    links = ours(bert, list(zip(longs, tgts, strict=True)), layer=1)
    for lk, s, t in zip(links, longs, tgts, strict=True):
        assert all(0 <= i < len(s) and 0 <= j < len(t) for i, j in lk)
    assert sum(st[i] >= LIMIT - 2 for lk, st in zip(links, starts, strict=True) for i, _ in lk) >= 12


def test_at_the_limit_both_agree_one_piece_past_it_the_package_drops_a_word(bert):
    rng = random.Random(62)
    src = [rng.choice(STEMS) for _ in range(LIMIT - 2)]  # one piece a word: exactly the limit
    tgt = rng.sample(src, len(src))
    for token_type in ("bpe", "word"):
        got = simalign.SentenceAligner(model=bert, token_type=token_type, matching_methods="aim", device="cpu",
                                       layer=1).get_word_aligns(src, tgt)
        for method, (_letter, key) in METHODS.items():
            assert ours(bert, [(src, tgt)], method=method, layer=1, token_type=token_type)[0] == set(got[key])
    over = src + ["zu"]
    got = simalign.SentenceAligner(model=bert, token_type="bpe", matching_methods="a", device="cpu",
                                   layer=1).get_word_aligns(over, over)
    assert set(got["inter"]) == {(i, i) for i in range(LIMIT - 2)}  # the 63rd word: no link
    assert ours(bert, [(over, over)], method="argmax", layer=1)[0] == {(i, i) for i in range(LIMIT - 1)}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the package's mean of an empty slice
def test_blank_words(bert):
    src, tgt = ["anber", "", "lin", "pe."], ["lin", "anber", " ", "zu"]
    got = simalign.SentenceAligner(model=bert, token_type="bpe", matching_methods="aim", device="cpu",
                                   layer=1).get_word_aligns(src, tgt)
    for method, (_letter, key) in METHODS.items():
        mine = ours(bert, [(src, tgt)], method=method, layer=1)[0]
        assert mine == set(got[key]) and not any(i == 1 or j == 2 for i, j in mine)
    with pytest.raises(ValueError, match="NaN"):
        simalign.SentenceAligner(model=bert, token_type="word", matching_methods="a", device="cpu",
                                 layer=1).get_word_aligns(src, tgt)
    for method in METHODS:
        mine = ours(bert, [(src, tgt)], method=method, layer=1, token_type="word")[0]
        assert mine and not any(i == 1 or j == 2 for i, j in mine)
