"""The project stage: stored corpora and file mode (through the CLI), with the real eflomal aligner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.core.errors import ConfigError, InputError, StoreError
from workbench.core.records import Example
from workbench.load import read_conll
from workbench.project import project, project_files

TEST_DATA = Path(__file__).resolve().parents[1] / "data"
SRC = TEST_DATA / "align-en.conll"
TGT = TEST_DATA / "align-de.txt"
FAST = {"n_runs": 2}  # keep tests quick; the default runs more
EXPECTED = {  # right answers for the hand-made pairs: sentence -> {(target span text, label)}
    0: {("Angela Merkel", "PER"), ("Paris", "LOC")},
    1: {("Europäische Kommission", "ORG"), ("Brüssel", "LOC")},
    4: {("Maria Schmidt", "PER"), ("Volkswagen", "ORG"), ("Wolfsburg", "LOC")},
    7: {("Kommission", "ORG"), ("Barnier", "PER")},
    11: {("Siemens", "ORG"), ("Volkswagen", "ORG"), ("deutsche", "MISC")},
}


def spans_text(ex: Example) -> set[tuple[str, str]]:
    return {(ex.text[s.start:s.end], s.label) for s in ex.spans}


def test_file_mode_cli_end_to_end(tmp_path):
    out = tmp_path / "de.conll"
    res = CliRunner().invoke(app, ["project", "--source", str(SRC), "--target", str(TGT), "-o", str(out),
                                   "--option", "n_runs=2"])
    assert res.exit_code == 0, res.output
    assert "26 source spans" in res.output
    pred = list(read_conll(out))
    targets = [line.split() for line in TGT.read_text(encoding="utf-8").splitlines()]
    assert [ex.tokens for ex in pred] == targets  # exactly the target tokens, in order
    right = sum(spans_text(pred[k]) == want for k, want in EXPECTED.items())
    assert right >= 4, [spans_text(pred[k]) for k in EXPECTED]
    # and the evaluation command scores it against itself perfectly
    res = CliRunner().invoke(app, ["eval", "projection", "--pred", str(out), "--gold", str(out), "--json"])
    assert res.exit_code == 0 and '"f1": 1.0' in res.output


def test_file_mode_conll_target_and_empty_lines(tmp_path):
    src = tmp_path / "src.conll"
    src.write_text("Anna\tB-PER\nlacht\tO\n\nBob\tB-PER\nschläft\tO\n\nCarl\tB-PER\n\n", encoding="utf-8")
    tgt = tmp_path / "tgt.conll"  # CoNLL target: its tags are ignored (even odd ones)
    tgt.write_text("Anna\tX\nrit\tX\n\nBob\tB-PER\ndort\tO\n\nCarl\tO\n\n", encoding="utf-8")
    out = tmp_path / "out.conll"
    rep = project_files(src, tgt, out, options=FAST)
    assert [ex.tags() for ex in read_conll(out)] == [["B-PER", "O"], ["B-PER", "O"], ["B-PER"]]
    assert rep.outcomes == {"projected": 3}
    lines = tmp_path / "tgt.txt"
    lines.write_text("Anna rit\n\nCarl\n", encoding="utf-8")  # an empty target sentence
    rep = project_files(src, lines, out, options=FAST)
    assert rep.outcomes == {"projected": 2, "dropped": 1} and rep.reasons == {"empty target": 1}
    text = out.read_text(encoding="utf-8")
    assert "# empty target sentence" in text
    assert [ex.tokens for ex in read_conll(out)] == [["Anna", "rit"], ["Carl"]]


def test_file_mode_errors(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("nur ein Satz\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        project_files(SRC, short, tmp_path / "o.conll", options=FAST)
    assert "12 source sentences" in str(exc.value) and exc.value.fix
    with pytest.raises(ConfigError):
        project_files(SRC, TGT, tmp_path / "o.conll", projector="align.nope.v1")
    res = CliRunner().invoke(app, ["project", "--source", str(SRC), "-o", str(tmp_path / "o.conll")])
    assert res.exit_code == 1 and "--target" in res.output


def _translated(store, tmp_path):
    """A source version and a 'translate' version holding human German translations (same ids)."""
    from workbench.core.records import tokenize
    from workbench.core.signature import Signature
    from workbench.load.ingest import ingest

    src_v = ingest(str(SRC), name="toy-en", store=store, lang="en")
    src = list(store.examples(src_v))
    de = TGT.read_text(encoding="utf-8").splitlines()
    tgt = [Example(id=s.id, text=t, offsets=tokenize(t), lang="de", split=s.split,
                   meta={"src_text": s.text, "src_lang": "en"}) for s, t in zip(src, de, strict=True)]
    tv = store.write_version(tgt, corpus="toy-en.de", stage="translate",
                             signature=Signature("translate").add("model", "human"), parents=[src_v], lang="de")
    return src_v, tv, src


def test_stage_on_stored_corpus(store, tmp_path):
    src_v, tv, src = _translated(store, tmp_path)
    v = project(tv.ref, store=store, options=FAST)
    assert v.corpus == "toy-en.de" and v.stage == "project" and v.number == 2
    assert v.parents == [tv.id, src_v.id] and v.lang == "de"
    assert "projector:align.eflomal.v2" in v.signature
    out = list(store.examples(v))
    assert [e.id for e in out] == [e.id for e in src]
    for ex, s in zip(out, src, strict=True):
        ex.validate()
        assert len(ex.outcomes) == len(s.spans)  # one outcome per source span
        assert {o.projector for o in ex.outcomes} <= {"align.eflomal.v2"}
        for sp in ex.spans:
            assert sp.source is not None and s.spans[sp.source].label == sp.label
            assert sp.score is not None and 0 < sp.score <= 1
    assert sum(spans_text(out[k]) == want for k, want in EXPECTED.items()) >= 4
    rows = store.sql("SELECT outcome, count(*) AS n FROM outcome_rows WHERE ref = ? GROUP BY outcome",
                     [v.ref]).to_pylist()
    assert sum(r["n"] for r in rows) == 26
    # same signature: the stored version is reused; --force makes a new one
    assert project(tv.ref, store=store, options=FAST).id == v.id
    assert project(tv.ref, store=store, options=FAST, force=True).number == 3


def test_stage_cli_and_missing_source(store, tmp_path):
    src_v, tv, _ = _translated(store, tmp_path)
    res = CliRunner().invoke(app, ["project", tv.ref, "--db", str(store.path), "--option", "n_runs=1"])
    assert res.exit_code == 0, res.output
    assert "stored toy-en.de@2" in res.output
    with pytest.raises(StoreError):
        project(src_v.ref, store=store, options=FAST)  # an ingested version has no parent


@pytest.mark.shared
@pytest.mark.slow
def test_europarl_de_file_mode_f1(shared_data, tmp_path):
    """Regression guard on real data: en -> de projection (one short run only, to stay quick)."""
    from workbench.project.evaluate import evaluate_projection

    d = shared_data / "europarl-ner-dev"
    out = tmp_path / "de.pred.conll"
    project_files(d / "en.conll", d / "de.conll", out, options={"n_runs": 1, "rel_iterations": 0.5},
                  target_format="conll")
    sc = evaluate_projection(out, d / "de.conll")
    assert sc.overall.f1 > 0.78, sc.as_dict()["overall"]
