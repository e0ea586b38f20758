"""The MT-guided projectors from the command line and from pipelines, on the known-answer model:
``workbench ingest`` -> ``workbench translate`` -> ``workbench project --projector markers.v1 |
constrained.v1``. The project stage builds the model itself (the one the translate version
recorded, or ``--option model=DIR``); every span lands exactly on the dictionary translation of the
source span and has a recorded outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.mt import build_known_answer_model, translate_words
from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from workbench.cli import app
from workbench.store.store import Store

SENTS = [
    ("John Smith lives in New York .", [(0, 2, "PER"), (4, 6, "LOC")]),
    ("Mary works for Acme in Paris , and John visited Berlin today .",
     [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC"), (8, 9, "PER"), (10, 11, "LOC")]),
    ("the Bank of England met Mary .", [(1, 4, "ORG"), (5, 6, "PER")]),
    ("the old city of London is big .", [(1, 3, "LOC"), (4, 5, "LOC")]),
    ("Acme and the Bank of England met today .", [(0, 1, "ORG"), (2, 6, "ORG")]),
]
ENV = {"COLUMNS": "200"}


@pytest.fixture(scope="module")
def ka_dir(tmp_path_factory) -> Path:
    return build_known_answer_model(tmp_path_factory.mktemp("ka-cli") / "known-answer-en-de")


def _conll(path: Path) -> Path:
    lines = []
    for s, spans in SENTS:
        toks = s.split()
        tags = ["O"] * len(toks)
        for a, b, lab in spans:
            tags[a:b] = [f"B-{lab}"] + [f"I-{lab}"] * (b - a - 1)
        lines += [f"{t}\t{g}" for t, g in zip(toks, tags, strict=True)] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cli(*args: str) -> str:
    r = CliRunner().invoke(app, list(args), env=ENV)
    assert r.exit_code == 0, r.output + repr(r.exception)
    return r.output


def _check_known_answer(store: Store, ref: str) -> list:
    out = list(store.examples(ref))
    assert len(out) == len(SENTS)
    for ex in out:
        s, spans = SENTS[[e.id for e in out].index(ex.id)]
        assert ex.text == translate_words(s)
        want = [(translate_words(" ".join(s.split()[a:b])), lab) for a, b, lab in spans]
        assert [(ex.text[sp.start:sp.end], sp.label) for sp in ex.spans] == want, ex.id
        assert sorted(o.source for o in ex.outcomes) == list(range(len(spans)))  # none vanishes
        assert {o.outcome for o in ex.outcomes} == {"projected"}
    return out


@pytest.fixture(scope="module")
def translated(tmp_path_factory, ka_dir):
    d = tmp_path_factory.mktemp("ka-store")
    db = str(d / "wb.duckdb")
    _cli("ingest", str(_conll(d / "en.conll")), "--name", "ka", "--lang", "en", "--db", db)
    # --no-detokenize: the word-by-word model knows space-separated words only ("York ." not "York.")
    _cli("translate", "ka", "--model", str(ka_dir), "--src-lang", "en", "--tgt-lang", "de",
         "--beam-size", "2", "--compute-type", "float32", "--device", "cpu", "--no-detokenize", "--db", db)
    return db


@pytest.mark.parametrize("name", ["markers.v1", "constrained.v1"])
def test_cli_project_uses_the_translate_model(translated, ka_dir, name):
    from workbench.mt.models import open_model

    out = _cli("project", "ka.de@1", "--projector", name, "--db", translated)
    assert "projected" in out and "dropped" not in out
    store = Store(translated)
    v = next(x for x in reversed(store.versions()) if x.stage == "project" and x.params["projector"] == name)
    exs = _check_known_answer(store, v.ref)
    # the model is recorded by path (params) and by content hash (signature)
    opts = v.params["options"]
    assert opts["model"] == str(ka_dir) and opts["family"] == "marian.v1"
    assert (opts["src_lang"], opts["tgt_lang"], opts["beam_size"]) == ("en", "de", 2)
    assert f"known-answer@{open_model(ka_dir).content_hash()}" in v.signature
    for ex in exs:
        if name == "markers.v1":  # its own translation replaced the translate stage's
            assert ex.meta["mt_text_replaced_by"] == "markers.v1"
            assert "mt_score" not in ex.meta and "mt_avg_logprob" not in ex.meta
            assert isinstance(ex.meta["mt_score_clean"], float) and ex.meta["mt_text_clean"] == ex.text
        else:  # the translation stands, and so does its score
            assert "mt_text_replaced_by" not in ex.meta and isinstance(ex.meta["mt_score"], float)
    # the same command again finds the stored version (same signature)
    again = _cli("project", "ka.de@1", "--projector", name, "--db", translated)
    assert v.ref in again


def test_cli_project_explicit_model_on_attached_translations(tmp_path, ka_dir):
    """Translations from a file, not a model: a clear error without a model, the known
    answer with --option model=DIR (languages from the versions)."""
    db = str(tmp_path / "wb.duckdb")
    _cli("ingest", str(_conll(tmp_path / "en.conll")), "--name", "ka", "--lang", "en", "--db", db)
    de = tmp_path / "de.txt"
    de.write_text("".join(translate_words(s) + "\n" for s, _ in SENTS), encoding="utf-8")
    from workbench.translate.attach import attach

    attach("ka", de, tgt_lang="de", store=Store(db))  # stage translate, no model (a file's)
    r = CliRunner().invoke(app, ["project", "ka.de", "--projector", "constrained.v1", "--db", db], env=ENV)
    assert r.exit_code != 0
    assert "not made by workbench translate" in r.output and "model=DIR" in r.output
    for name in ("constrained.v1", "markers.v1"):
        _cli("project", "ka.de@1", "--projector", name, "--option", f"model={ka_dir}",
             "--option", "compute_type=float32", "--db", db)
    store = Store(db)
    made = [v for v in store.versions() if v.stage == "project"]
    assert [v.params["projector"] for v in made] == ["constrained.v1", "markers.v1"]
    for v in made:
        _check_known_answer(store, v.ref)
        assert v.params["options"]["model"] == str(ka_dir)


def test_cli_project_bad_language_is_a_typed_error(translated, ka_dir):
    r = CliRunner().invoke(app, ["project", "ka.de@1", "--projector", "constrained.v1", "--option",
                                 "tgt_lang=xx-nope", "--db", translated], env=ENV)
    assert r.exit_code != 0 and "xx-nope" in r.output


def test_pipeline_with_mt_projectors(tmp_path, ka_dir):
    """A pipeline TOML names markers.v1 and constrained.v1; the model comes from [translate]."""
    src = _conll(tmp_path / "en.conll")
    p = tmp_path / "mt.toml"
    p.write_text(f"""
[pipeline]
name = "mt"
out_dir = "build"
db = "build/workbench.duckdb"

[source]
path = "{src.name}"
name = "ka"
lang = "en"

[translate]
model = {json.dumps(str(ka_dir))}
targets = ["de"]
beam_size = 2
compute_type = "float32"
device = "cpu"
detokenize = false  # the word-by-word model knows space-separated words only

[project]
projectors = ["markers.v1", "constrained.v1"]
""", encoding="utf-8")
    out = _cli("run", str(p))
    assert "ran 4 step(s)" in out, out
    store = Store(tmp_path / "build" / "workbench.duckdb")
    made = {v.params["projector"]: v for v in store.versions() if v.stage == "project"}
    assert sorted(made) == ["constrained.v1", "markers.v1"]
    for v in made.values():
        _check_known_answer(store, v.ref)
    assert "ran 0 step(s), skipped 4" in _cli("run", str(p))


def test_pipeline_project_model_relative_to_the_file(tmp_path, monkeypatch):
    """Existing translations ([translations]) and the model named in [project], relative to the
    pipeline file; a model rebuilt in place makes the project step run again."""
    build_known_answer_model(tmp_path / "models" / "ka")
    _conll(tmp_path / "en.conll")
    (tmp_path / "de.txt").write_text("".join(translate_words(s) + "\n" for s, _ in SENTS), encoding="utf-8")
    p = tmp_path / "mt.toml"
    p.write_text("""
[source]
path = "en.conll"
name = "ka"
lang = "en"

[translations]
de = "de.txt"

[project]
projector = "markers.v1"
model = "models/ka"
compute_type = "float32"
""", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no db in the file: the store is ./workbench.duckdb
    assert "ran 3 step(s)" in _cli("run", str(p))
    store = Store(tmp_path / "workbench.duckdb")
    [v] = [v for v in store.versions() if v.stage == "project"]
    _check_known_answer(store, v.ref)
    assert v.params["options"]["model"] == str(tmp_path / "models" / "ka")
    assert "ran 0 step(s), skipped 3" in _cli("run", str(p))
    build_known_answer_model(tmp_path / "models" / "ka", logit=11.0)  # other weights, same place
    out = _cli("run", str(p))
    assert "ran 1 step(s), skipped 2" in out, out


@pytest.mark.parametrize("kind,src_prefix,tgt_prefix", [
    ("nllb", ["eng_Latn"], ["deu_Latn"]), ("m2m100", ["__en__"], ["__de__"]),
    ("madlad", ["<2de>"], []), ("marian", [">>deu<<"], []), ("marian-pair", [], [])])
def test_load_mt_takes_language_tokens_from_the_family(ct2_models, kind, src_prefix, tgt_prefix):  # noqa: F811
    """The projectors' adapter feeds the model exactly what the translate stage feeds it."""
    from workbench.mt.ct2 import load_mt
    from workbench.mt.models import open_model

    mt = load_mt(ct2_models[kind], src_lang="en", tgt_lang="de", compute_type="int8", beam_size=1)
    assert (mt.source_prefix, mt.source_suffix, mt.target_prefix) == (src_prefix, ["</s>"], tgt_prefix)
    m = open_model(ct2_models[kind])
    fam = m.family
    text = "The quick brown fox jumps over the lazy dog."
    want = fam.source(m.encode(text), fam.token("en", "source"), fam.token("de", "target"))
    assert mt.tokenize_source([text]) == [want]
    assert mt.signature()["model"] == m.signature and mt.signature()["family"] == fam.name
    from workbench.core.errors import LanguageError

    with pytest.raises(LanguageError, match="xx-nope"):
        load_mt(ct2_models[kind], src_lang="en", tgt_lang="xx-nope")


def test_cli_markers_the_model_cannot_write_are_a_typed_error(translated):
    """Typed tags <MISC> ... </MISC> are not in the known-answer vocabulary (<PER>, <LOC>,
    <ORG> are): a clear error, nothing stored."""
    store = Store(translated)
    n = len(store.versions())
    ok = _cli("project", "ka.de@1", "--projector", "markers.v1", "--option", "typed=true",
              "--db", translated)
    assert "projected 13" in " ".join(ok.split())
    from workbench.core.records import Example
    from workbench.core.signature import Signature

    src = store.write_version([[Example.from_tokens("m0", ["John", "met", "Mary", "."],
                                                    ["B-MISC", "O", "B-PER", "O"], lang="en")]],
                              corpus="misc", stage="ingest", lang="en", signature=Signature("ingest"))
    _cli("translate", src.ref, "--model", str(store.resolve("ka.de@1").params["model_path"]),
         "--src-lang", "en", "--tgt-lang", "de", "--no-detokenize", "--db", translated)
    r = CliRunner().invoke(app, ["project", "misc.de@1", "--projector", "markers.v1", "--option",
                                 "typed=true", "--db", translated], env=ENV)
    assert r.exit_code == 1 and "<MISC>" in r.output and "vocabulary" in r.output, r.output
    assert len(store.versions()) == n + 3  # the typed projection, misc and its translation
