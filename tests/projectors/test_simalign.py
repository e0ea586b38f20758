"""SimAlign-style alignment with a tiny randomly initialised BERT built offline in a local directory."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from projectors.base import Pair  # noqa: E402
from projectors.simalign import SimAligner, SimAlignOptions, argmax_links, itermax, match_links, windows  # noqa: E402
from tests.fixtures.simalign import build_tiny_bert  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_identity_pairs_align_diagonally(tiny_bert):
    sents = [["Anna", "visited", "Paris", "today", "."], ["the", "European", "Parliament", "met", "in", "Berlin"]]
    for method in ("itermax", "argmax", "match"):
        al = SimAligner(model=tiny_bert, method=method, layer=8, batch_size=2, device="cpu")
        links = al.align(sents, sents)
        for s, lk in zip(sents, links, strict=True):
            assert {(i, i) for i in range(len(s))} <= set(lk), (method, lk)
            assert all(0.5 <= v <= 1.0 for v in lk.values())


def test_batched_equals_unbatched_and_subwords_map_safely(tiny_bert):
    src = [["Anna", "visited", "Berlin"], ["Merkelisation", "visited", "東京", "today"], ["x"] * 40, []]
    tgt = [["Anna", "besuchte", "Berlin", "heute"], ["Merkel", "besuchte", "東京"], ["the"] * 3, ["das"]]
    one = SimAligner(model=tiny_bert, batch_size=1, device="cpu", max_length=16).align(src, tgt)
    many = SimAligner(model=tiny_bert, batch_size=8, device="cpu", max_length=16).align(src, tgt)
    assert [set(a) for a in one] == [set(b) for b in many]
    for s, t, lk in zip(src, tgt, many, strict=True):
        assert all(0 <= i < len(s) and 0 <= j < len(t) for i, j in lk)  # never out of range
    assert many[3] == {}  # empty source sentence
    # a sentence past max_length is encoded in overlapping windows, not cut off: aligned to itself,
    # every one of its 40 words (40 pieces, windows of 14) finds itself
    long = ["anna", "visited", "berlin", "today", "."] * 8
    for batch_size in (1, 8):
        al = SimAligner(model=tiny_bert, batch_size=batch_size, device="cpu", max_length=16)
        assert set(al.align([long], [long])[0]) == {(i, i) for i in range(40)}


def test_simalign_projector_batched(tiny_bert):
    import projectors

    p = projectors.get("align.simalign.v1", model=tiny_bert, batch_size=3, device="cpu")
    pairs = [Pair(["Anna", "visited", "Paris"], ["Anna", "visited", "Paris"], [(0, 1, "PER"), (2, 3, "LOC")])] * 4
    pairs.append(Pair(["Anna", "visited", "Paris"], [], [(0, 1, "PER")]))
    out = p.project(pairs)
    assert [(s.token_start, s.token_end) for s in out[0].spans] == [(0, 1), (2, 3)]
    assert out[4].spans[0].outcome == "dropped"
    assert p.signature()["aligner"] == "simalign"


def test_missing_model_is_a_clear_error(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network in tests
    al = SimAligner(model=str(tmp_path / "no-such-model"))
    with pytest.raises(OSError, match="cannot load the encoder"):
        al.align([["a"]], [["b"]])
    from workbench.core.errors import ModelError
    from workbench.project import project_files

    src = tmp_path / "s.conll"
    src.write_text("Anna\tB-PER\n\n", encoding="utf-8")
    tgt = tmp_path / "t.txt"
    tgt.write_text("Anna\n", encoding="utf-8")
    with pytest.raises(ModelError):
        project_files(src, tgt, tmp_path / "o.conll", projector="align.simalign.v1",
                      options={"model": "org/not-on-this-machine"})


def test_link_extraction_methods():
    sim = np.array([[0.9, 0.1, 0.0], [0.8, 0.7, 0.1], [0.0, 0.2, 0.6]])
    assert set(zip(*np.nonzero(argmax_links(sim)), strict=True)) == {(0, 0), (2, 2)}
    # itermax gives the unaligned row 1 its (discounted) best column in a second round
    assert set(zip(*np.nonzero(itermax(sim)), strict=True)) == {(0, 0), (1, 0), (2, 2)}
    m = match_links(sim)
    assert m.sum() == 3 and set(zip(*np.nonzero(m), strict=True)) == {(0, 0), (1, 1), (2, 2)}
    assert match_links(np.zeros((0, 3))).shape == (0, 3)


def test_windows_cover_every_piece_half_a_window_apart():
    assert windows(3, 4) == [(0, 3)]
    assert windows(10, 4) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    for n in range(1, 60):
        for width in (1, 2, 5, 14):
            wins = windows(n, width)
            assert wins[0][0] == 0 and wins[-1][1] == n and all(b - a == min(n, width) for a, b in wins)
            assert all(b1 >= a2 for (_, b1), (a2, _) in zip(wins, wins[1:], strict=False))  # no gap


def test_bad_options_are_clear_errors(tiny_bert):
    with pytest.raises(ValueError, match="token_type must be bpe or word"):
        SimAlignOptions(token_type="char")
    with pytest.raises(ValueError, match="leaves no room for a word piece.*larger max_length"):
        SimAligner(model=tiny_bert, max_length=2, device="cpu").align([["anna"]], [["anna"]])
