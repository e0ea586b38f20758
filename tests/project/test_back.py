"""Translate-test round trip: original (German) -> English by MT -> spans -> back onto the original."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.mt import DICT_EN_DE, build_known_answer_model, known_answer, translate_words
from workbench.core.errors import ConfigError, InputError
from workbench.core.records import Example
from workbench.load import read, write
from workbench.project import project_back, read_originals
from workbench.project.back import back_projector as make_projector

ENGLISH = [
    ("John Smith lives in New York .", [(0, 2, "PER"), (4, 6, "LOC")]),
    ("Mary works for Acme in Paris , and John visited Berlin today .",
     [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC"), (8, 9, "PER"), (10, 11, "LOC")]),
    ("the Bank of England met Mary .", [(1, 4, "ORG"), (5, 6, "PER")]),
    ("the red house is big .", []),
]


@pytest.fixture(scope="module")
def ka(tmp_path_factory):
    return known_answer(tmp_path_factory)


@pytest.fixture(scope="module")
def de_en(tmp_path_factory):
    """The reverse known-answer model (German -> English) to make the English side by MT."""
    from workbench.mt.ct2 import CT2Model

    d = build_known_answer_model(tmp_path_factory.mktemp("ka-de-en"), {v: k for k, v in DICT_EN_DE.items()},
                                 pair=("de", "en"))
    return CT2Model(d, beam_size=2, max_decoding_length=200, intra_threads=1)


def _files(tmp_path: Path, de_en) -> tuple[Path, Path]:
    originals = [translate_words(s) for s, _ in ENGLISH]
    orig = tmp_path / "test.de.txt"
    orig.write_text("\n".join(originals) + "\n", encoding="utf-8")
    english = de_en.translate(originals)  # translate-test: the originals into English by MT
    assert english == [s for s, _ in ENGLISH]
    # the "English tagger": spans known for these sentences
    preds = []
    for i, (text, (_, spans)) in enumerate(zip(english, ENGLISH, strict=True)):
        toks = text.split()
        tags = ["O"] * len(toks)
        for s, e, lab in spans:
            tags[s:e] = [f"B-{lab}"] + [f"I-{lab}"] * (e - s - 1)
        preds.append(Example.from_tokens(f"en-{i}", toks, tags, text=text))
    en = tmp_path / "test.en.pred.conll"
    write(preds, en)
    return orig, en


def _want():
    return [[(translate_words(" ".join(s.split()[a:b])), lab) for a, b, lab in spans] for s, spans in ENGLISH]


@pytest.mark.parametrize("name", ["constrained.v1", "markers.v1"])
def test_round_trip_library(tmp_path, ka, de_en, name):
    orig, en = _files(tmp_path, de_en)
    proj = make_projector(name, model=ka)
    out = list(project_back(read_originals(orig), read(en), proj))
    assert [ex.text for ex in out] == [translate_words(s) for s, _ in ENGLISH]
    got = [[(ex.text[s.start:s.end], s.label) for s in ex.spans] for ex in out]
    assert got == _want()
    for ex, (_, spans) in zip(out, ENGLISH, strict=True):
        assert len(ex.outcomes) == len(spans)
        assert all(o.outcome == "projected" and o.projector == name for o in ex.outcomes)
        ex.validate()


@pytest.mark.parametrize("langs", [[], ["--tgt-lang", "de"]])
def test_round_trip_cli(tmp_path, ka, de_en, langs):
    """Raw model (no language tokens), or its family from workbench.json (--tgt-lang)."""
    from workbench.cli import app

    orig, en = _files(tmp_path, de_en)
    out = tmp_path / "test.de.pred.conll"
    res = CliRunner().invoke(app, ["project-back", str(orig), str(en), "--model", str(ka.model_dir),
                                   "-p", "constrained.v1", "-o", str(out), *langs])
    assert res.exit_code == 0, res.output
    assert "9 projected" in " ".join(res.output.split())
    back = list(read(out))
    got = [[(" ".join(ex.tokens[s.token_start:s.token_end]), s.label) for s in ex.spans] for ex in back]
    assert got == _want()


def test_errors(tmp_path, ka, de_en):
    orig, en = _files(tmp_path, de_en)
    with pytest.raises(ConfigError, match="needs a translation model"):
        make_projector("markers.v1")
    with pytest.raises(ConfigError, match="unknown projector"):
        make_projector("nope.v1")
    short = tmp_path / "short.txt"
    short.write_text(translate_words(ENGLISH[0][0]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="more English sentences"):
        list(project_back(read_originals(short), read(en), make_projector("constrained.v1", model=ka)))


def _round_trip_600(tmp_path, ka, projector: str):
    """A 600-word English input (a two-word span in each sentence) projected back onto its German
    original by ``projector``."""
    import random

    rng = random.Random(6)
    words = [w for w in DICT_EN_DE if w.isalpha()]
    toks, spans = [], []
    while len(toks) < 600:
        sent = [rng.choice(words) for _ in range(rng.randint(8, 14))]
        a = rng.randrange(0, len(sent) - 2)
        spans.append((len(toks) + a, len(toks) + a + 2, "ORG"))
        toks += sent + ["."]
    english = " ".join(toks)
    orig = tmp_path / "long.de.txt"
    orig.write_text(translate_words(english) + "\n", encoding="utf-8")
    tags = ["O"] * len(toks)
    for s, e, lab in spans:
        tags[s:e] = [f"B-{lab}"] + [f"I-{lab}"] * (e - s - 1)
    en = tmp_path / "long.en.pred.conll"
    write([Example.from_tokens("en-0", toks, tags, text=english)], en)
    assert len(ka.sp_src.encode(english)) > 2 * ka.positions
    (ex,) = project_back(read_originals(orig), read(en), make_projector(projector, model=ka))
    assert [o.outcome for o in ex.outcomes] == ["projected"] * len(spans)
    assert [ex.text[s.start:s.end] for s in ex.spans] == [translate_words(" ".join(toks[a:b])) for a, b, _ in spans]


def test_round_trip_of_a_600_word_input_with_markers(tmp_path, ka):
    """Past the model's 300 positions: markers.v1 translates the marked English in parts (cut at
    sentence boundaries, as translate does) and every span lands on the original."""
    _round_trip_600(tmp_path, ka, "markers.v1")


def test_round_trip_of_a_600_word_input_with_constrained(tmp_path, ka):
    """Past the model's 300 positions: constrained.v1 searches the original in parts (cut at
    sentence ends on both sides) and every span lands on the original (words repeat: "die die")."""
    _round_trip_600(tmp_path, ka, "constrained.v1")


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    from tests.fixtures.mt_expanding import expanding_known_answer

    return expanding_known_answer(tmp_path_factory)


def _long_english(n: int, seed: int, punctuation: bool = True):
    import random

    rng = random.Random(seed)
    words = [w for w in DICT_EN_DE if w.isalpha()]
    toks, spans = [], []
    while len(toks) < n:
        sent = [rng.choice(words) for _ in range(rng.randint(8, 14))]
        a = rng.randrange(0, len(sent) - 2)
        spans.append((len(toks) + a, len(toks) + a + 2, "ORG"))
        toks += sent + (["."] if punctuation else [])
    return toks, spans


def _back_files(tmp_path: Path, toks, spans, original: str) -> tuple[Path, Path]:
    english = " ".join(toks)
    orig = tmp_path / "long.de.txt"
    orig.write_text(original + "\n", encoding="utf-8")
    tags = ["O"] * len(toks)
    for s, e, lab in spans:
        tags[s:e] = [f"B-{lab}"] + [f"I-{lab}"] * (e - s - 1)
    en = tmp_path / "long.en.pred.conll"
    write([Example.from_tokens("en-0", toks, tags, text=english)], en)
    return orig, en


@pytest.mark.parametrize("n,punctuation", [(600, True), pytest.param(1000, False, marks=pytest.mark.slow)])
def test_round_trip_of_a_long_input_with_markers_and_the_one_to_three_model(tmp_path, three, n, punctuation):
    """The original is three times as long as the English (one word -> three): markers.v1
    translates the marked English in parts, cuts again each part whose output reaches the
    model's positions, and every span lands on the original."""
    from tests.fixtures.mt_expanding import expand_words

    toks, spans = _long_english(n, n, punctuation)
    orig, en = _back_files(tmp_path, toks, spans, expand_words(" ".join(toks)))
    assert len(three.sp_src.encode(" ".join(toks))) > 2 * three.positions
    (ex,) = project_back(read_originals(orig), read(en), make_projector("markers.v1", model=three))
    assert [o.outcome for o in ex.outcomes] == ["projected"] * len(spans)
    assert [ex.text[s.start:s.end] for s in ex.spans] == [expand_words(" ".join(toks[a:b])) for a, b, _ in spans]


def test_round_trip_of_a_short_input_with_constrained_and_the_one_to_three_model(tmp_path, three):
    from tests.fixtures.mt_expanding import expand_words

    rows = [(s.split(), sp) for s, sp in ENGLISH]
    orig = tmp_path / "test.de.txt"
    orig.write_text("\n".join(expand_words(" ".join(t)) for t, _ in rows) + "\n", encoding="utf-8")
    preds = []
    for i, (toks, spans) in enumerate(rows):
        tags = ["O"] * len(toks)
        for s, e, lab in spans:
            tags[s:e] = [f"B-{lab}"] + [f"I-{lab}"] * (e - s - 1)
        preds.append(Example.from_tokens(f"en-{i}", toks, tags, text=" ".join(toks)))
    en = tmp_path / "test.en.pred.conll"
    write(preds, en)
    proj = make_projector("constrained.v1", model=three)  # flat drops: see test_long_mt_inputs.py
    out = list(project_back(read_originals(orig), read(en), proj))
    got = [[(ex.text[s.start:s.end], s.label) for s in ex.spans] for ex in out]
    assert got == [[(expand_words(" ".join(t[a:b])), lab) for a, b, lab in sp] for t, sp in rows]


def test_round_trip_of_a_long_input_with_constrained_and_the_one_to_three_model(tmp_path, three):
    from tests.fixtures.mt_expanding import expand_words

    toks, spans = _long_english(400, 7)
    orig, en = _back_files(tmp_path, toks, spans, expand_words(" ".join(toks)))
    proj = make_projector("constrained.v1", model=three)
    (ex,) = project_back(read_originals(orig), read(en), proj)
    assert [o.outcome for o in ex.outcomes] == ["projected"] * len(spans)
    assert [ex.text[s.start:s.end] for s in ex.spans] == [expand_words(" ".join(toks[a:b])) for a, b, _ in spans]
