"""workbench run PIPELINE.toml: plan (dry run), skip on re-run, resume after a crash, stage hooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import pipeline_stages
from workbench.core.errors import ConfigError, ModelError
from workbench.pipeline import STAGES, StageHook, load_pipeline, run_pipeline
from workbench.pipeline.stages import _attach_sig
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def _write(tmp_path: Path, body: str, name: str = "p.toml") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def _basic(tmp_path: Path, extra: str = "") -> Path:
    return _write(tmp_path, f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{DATA / 'sample-en.conll'}"
format = "conll"
lang = "en"
name = "sample-en"
[translations]
de = "{DATA / 'sample-de.txt'}"
es = "{DATA / 'sample-es.txt'}"
[[export]]
format = "hf"
path = "hf"
license = "cc-by-4.0"
{extra}""")


@pytest.fixture
def stand_ins(monkeypatch):
    """Project/filter/report hooks pointing at the stand-in stages of tests/pipeline_stages.py."""
    monkeypatch.setitem(STAGES, "project", StageHook("project", pipeline_stages.lexical_project))
    monkeypatch.setitem(STAGES, "filter", StageHook("filter", pipeline_stages.keep_complete))
    monkeypatch.setitem(STAGES, "report", StageHook("report", pipeline_stages.build_report, write=pipeline_stages.write_html))
    pipeline_stages.CALLS.clear()
    return pipeline_stages.CALLS


def _plan(steps):
    return [(s.stage, s.target, s.status) for s in steps]


def test_dry_run_on_a_fresh_store_plans_and_writes_nothing(tmp_path: Path) -> None:
    p = _basic(tmp_path)
    steps = run_pipeline(p, dry_run=True)
    assert _plan(steps) == [("ingest", "sample-en", "run"), ("attach", "de", "pending"),
                            ("attach", "es", "pending"), ("export", "hf", "pending")]
    assert not (tmp_path / "out").exists()


def test_run_then_rerun_skips_every_stored_stage(tmp_path: Path) -> None:
    import datasets

    p = _basic(tmp_path)
    first = run_pipeline(p)
    assert [s.status for s in first] == ["run"] * 4
    store = Store(tmp_path / "out" / "workbench.duckdb")
    before = [(v.ref, v.signature_key) for v in store.versions()]
    assert [r for r, _ in before] == ["sample-en@1", "sample-en.de@1", "sample-en.es@1"]
    assert _plan(run_pipeline(p, dry_run=True)) == [
        ("ingest", "sample-en", "skip"), ("attach", "de", "skip"), ("attach", "es", "skip"),
        ("export", "hf", "skip")]
    again = run_pipeline(p)
    assert [s.status for s in again] == ["skip"] * 4
    assert [(v.ref, v.signature_key) for v in store.versions()] == before
    de = datasets.load_dataset(str(tmp_path / "out" / "hf"), "de", cache_dir=str(tmp_path / "c"))["train"]
    lines = (DATA / "sample-de.txt").read_text(encoding="utf-8").splitlines()
    assert de["tokens"] == [ln.split() for ln in lines]
    assert de["id"] == [f"sample-{i:03d}" for i in range(1, 37)]
    # a changed input makes its stage and everything after it run again
    changed = tmp_path / "de.txt"
    changed.write_text("\n".join(lines[:-1] + ["Yuki Tanaka ging zu Sony ."]) + "\n", encoding="utf-8")
    p2 = _basic(tmp_path).read_text().replace(str(DATA / "sample-de.txt"), str(changed))
    steps = run_pipeline(_write(tmp_path, p2))
    assert _plan(steps) == [("ingest", "sample-en", "skip"), ("attach", "de", "run"),
                            ("attach", "es", "skip"), ("export", "hf", "run")]
    assert steps[1].refs == ["sample-en.de@2"]


def test_a_rerun_that_writes_nothing_still_removes_what_killed_runs_left(tmp_path: Path) -> None:
    """A run SIGKILLed after its commit, before its cleanup, leaves its staging directory: the
    next run removes it even when every stage is stored (it writes nothing); a directory of a
    live process, or of another host, stays."""
    import os
    import socket
    import subprocess
    import sys

    p = _basic(tmp_path)
    run_pipeline(p)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    host = socket.gethostname()
    out = tmp_path / "out"
    left = [out / f".wb-stage-{dead}@{host}-x1", out / f".wb-filter-{dead}@{host}-x2"]
    kept = [out / f".wb-stage-{os.getpid()}@{host}-x3", out / f".wb-stage-{dead}@another-host-x4"]
    for d in left + kept:
        d.mkdir()
        (d / "examples.parquet").write_bytes(b"partial")
    assert [s.status for s in run_pipeline(p)] == ["skip"] * 4
    assert [d.exists() for d in left + kept] == [False, False, True, True]


def test_resume_after_a_crash_runs_only_what_is_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(STAGES, "attach", StageHook("attach", pipeline_stages.crashing_attach,
                                                    _attach_sig))
    p = _basic(tmp_path)
    monkeypatch.setenv("WB_TEST_CRASH_ON", "es")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_pipeline(p)
    store = Store(tmp_path / "out" / "workbench.duckdb")
    assert [v.ref for v in store.versions()] == ["sample-en@1", "sample-en.de@1"]
    assert not (tmp_path / "out" / "hf").exists()
    monkeypatch.delenv("WB_TEST_CRASH_ON")
    steps = run_pipeline(p)
    assert _plan(steps) == [("ingest", "sample-en", "skip"), ("attach", "de", "skip"),
                            ("attach", "es", "run"), ("export", "hf", "run")]
    assert [v.ref for v in store.versions()] == ["sample-en@1", "sample-en.de@1", "sample-en.es@1"]


def test_stage_hooks_follow_the_conventions_and_skip_via_step_records(tmp_path: Path, stand_ins) -> None:
    extra = """
[project]
projector = "lexical.v1"
window = 3
[filter]
filters = ["complete.v1"]
"complete.v1" = {min_len = 2}
[report]
html = "report-{lang}.html"
"""
    p = _basic(tmp_path, extra)
    steps = run_pipeline(p)
    assert _plan(steps) == [
        ("ingest", "sample-en", "run"), ("attach", "de", "run"), ("attach", "es", "run"),
        ("project", "de", "run"), ("filter", "de", "run"), ("project", "es", "run"),
        ("filter", "es", "run"), ("export", "hf", "run"), ("report", "de", "run"), ("report", "es", "run")]
    assert ("project", "sample-en.de@1", {"projector": "lexical.v1", "window": 3}) in stand_ins
    assert ("filter", "sample-en.de@2", {"filters": ["complete.v1"], "complete.v1": {"min_len": 2}}) in stand_ins
    store = Store(tmp_path / "out" / "workbench.duckdb")
    final = store.resolve("sample-en.de")
    assert final.stage == "filter" and 0 < final.n_examples < 36
    assert "sample-en.de@3: " in (tmp_path / "out" / "report-de.html").read_text()
    n_versions = len(store.versions())
    stand_ins.clear()
    again = run_pipeline(p)
    assert [s.status for s in again if s.stage != "report"] == ["skip"] * 8
    assert [c[0] for c in stand_ins] == ["report", "report"]  # project/filter were not called
    assert len(store.versions()) == n_versions
    # another projector option is another step: project and filter run again, the rest is kept
    steps = run_pipeline(_write(tmp_path, p.read_text().replace("window = 3", "window = 4")))
    assert [s.status for s in steps if s.stage in ("project", "filter")] == ["run"] * 4
    assert [s.status for s in steps if s.stage in ("ingest", "attach")] == ["skip"] * 3


def test_missing_stage_is_a_clear_error_before_anything_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(STAGES, "project", StageHook("project", None))
    p = _basic(tmp_path, '[project]\nprojector = "align.eflomal.v1"\n')
    with pytest.raises(ConfigError, match="stage project is not available in this build"):
        run_pipeline(p)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("body,match", [
    ("[source]\nname = 'x'\n", "needs 'path'"),
    ("[source]\npath = 'a'\nname = 'x'\n[oops]\n", "unknown section"),
    ("[source]\npath = 'a'\nname = 'x'\n", "no target languages"),
    ("[source\n", "invalid TOML"),
    ("[source]\npath = 'a'\nname = 'x'\n[translate]\ntargets = ['de']\n", "needs model and targets"),
])
def test_bad_pipeline_files(tmp_path: Path, body: str, match: str) -> None:
    p = _write(tmp_path, body)
    with pytest.raises(ConfigError, match=match) as info:
        load_pipeline(p)
    assert str(p) in str(info.value)


def test_quickstart_end_to_end(tmp_path_factory, tmp_path: Path) -> None:
    """``workbench run examples/quickstart.toml`` in a fresh checkout, offline: every stage runs,
    the export loads with datasets.load_dataset, a second run skips every versioned stage."""
    import datasets

    qs = pipeline_stages.quickstart_once(tmp_path_factory)
    assert [(s.stage, s.target) for s in qs["first"]] == [
        ("ingest", "sample-en"), ("attach", "de"), ("attach", "es"), ("project", "de"), ("filter", "de"),
        ("project", "es"), ("filter", "es"), ("export", "hf"), ("report", "de"), ("report", "es")]
    assert all(s.status == "run" for s in qs["first"])
    assert all(s.status == "skip" for s in qs["second"] if s.stage != "report")
    out = qs["out"]
    store = Store(qs["db"])  # ./workbench.duckdb where the command ran: out_dir never places it
    assert not (out / "workbench.duckdb").exists()
    # the run says where everything is (paths as written from the working directory) and what next
    said = {ln.split(None, 1)[0]: ln.split(None, 1)[1] for ln in qs["stdout"].splitlines()
            if ln.split(None, 1)[:1] in (["store"], ["exports"], ["reports"], ["next"])}
    assert said["store"] == "workbench.duckdb" and said["exports"] == "build/quickstart/hf"
    assert said["reports"] == "build/quickstart/report-de.html, build/quickstart/report-es.html"
    assert said["next"] == "workbench versions" and ".." not in qs["stdout"]
    for lang in ("de", "es"):
        final = store.resolve(f"sample-en.{lang}")
        assert final.stage == "filter" and store.resolve(f"sample-en.{lang}@2").stage == "project"
        ds = datasets.load_dataset(str(out / "hf"), lang, cache_dir=str(tmp_path / "c"))["train"]
        assert len(ds) == final.n_examples and 0 < len(ds) <= 36 and sum(map(len, ds["spans"])) > 0
        assert ds.features["ner_tags"].feature.names[0] == "O"
        assert all(len(o) > 0 for o in ds["outcomes"])  # every example records its projection
        assert f"sample-en.{lang}@" in (out / f"report-{lang}.html").read_text()
    card = (out / "hf" / "README.md").read_text()
    assert "align.eflomal.v2" in card and "cc-by-4.0" in card
    assert not (qs["home"] / "models").exists()  # nothing was downloaded or converted


def test_cli_run_dry_run_then_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    p = _basic(tmp_path)
    r = CliRunner().invoke(app, ["run", str(p), "--dry-run"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "would run ingest" in r.output and "pending attach" in r.output
    r = CliRunner().invoke(app, ["run", str(p)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "ran 4 step(s), skipped 0" in r.output
    r = CliRunner().invoke(app, ["run", str(p)], env={"COLUMNS": "200"})
    assert "ran 0 step(s), skipped 4" in r.output
    bad = CliRunner().invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert bad.exit_code == 1 and "cannot read the pipeline file" in bad.output


def test_bundled_sample_translations_are_parallel() -> None:
    """data/sample-{de,es}.txt: one tokenised translation per English sentence; the German gold
    CoNLL has exactly those tokens, the English ids and the same labels per sentence."""
    from collections import Counter

    from workbench.load import read

    en = list(read(DATA / "sample-en.conll"))
    de_gold = list(read(DATA / "sample-de.conll"))
    for lang in ("de", "es"):
        lines = (DATA / f"sample-{lang}.txt").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(en) == 36 and all(ln.split() for ln in lines)
    de_lines = (DATA / "sample-de.txt").read_text(encoding="utf-8").splitlines()
    assert [ex.tokens for ex in de_gold] == [ln.split() for ln in de_lines]
    assert [ex.id for ex in de_gold] == [ex.id for ex in en]
    for a, b in zip(en, de_gold, strict=True):
        assert Counter(s.label for s in a.spans) == Counter(s.label for s in b.spans), a.id


def test_example_pipelines_parse(tmp_path: Path, monkeypatch) -> None:
    """Every example pipeline is valid (stages missing from this build are stood in for)."""
    for stage in ("translate", "project", "filter", "report"):
        if not STAGES[stage].available():
            monkeypatch.setitem(STAGES, stage, StageHook(stage, pipeline_stages.build_report, write=pipeline_stages.write_html))
    for name in ("quickstart", "translate-train", "translate-test"):
        pl = load_pipeline(ROOT / "examples" / f"{name}.toml", out_dir=tmp_path, db=tmp_path / "wb.duckdb")
        assert Path(pl.source["path"]).is_file(), name
        assert pl.exports and pl.stages()[0] == "ingest"
        for path in pl.translations.values():
            assert path.is_file()
        shown: list = []
        try:
            run_pipeline(ROOT / "examples" / f"{name}.toml", dry_run=True, out_dir=tmp_path,
                         db=tmp_path / "wb.duckdb", on_step=shown.append)
        except ModelError:  # the translate examples' model is not converted here: after the plan
            assert name != "quickstart"
        assert shown[0].status == "run"


def test_translate_stage_hook(tmp_path: Path, monkeypatch) -> None:
    """[translate] calls translate(ref, model=, src_lang=, tgt_langs=, store=, options=TranslateOptions)
    once for all targets; a re-run skips it; a changed option runs it again; unknown options are errors."""
    monkeypatch.setitem(STAGES, "translate", StageHook("translate", pipeline_stages.translate, options=pipeline_stages.TranslateOptions))
    pipeline_stages.CALLS.clear()
    body = f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{DATA / 'sample-en.conll'}"
lang = "en"
name = "sample-en"
[translate]
model = "copy-model"
targets = ["de", "fr"]
beam_size = 2
[[export]]
format = "hf"
path = "hf"
"""
    p = _write(tmp_path, body)
    steps = run_pipeline(p)
    assert _plan(steps) == [("ingest", "sample-en", "run"), ("translate", "de,fr", "run"), ("export", "hf", "run")]
    assert steps[1].refs == ["sample-en.de@1", "sample-en.fr@1"]
    (call,) = [c for c in pipeline_stages.CALLS if c[0] == "translate"]
    assert call[2]["tgt_langs"] == ["de", "fr"] and call[2]["src_lang"] == "en"
    assert call[2]["options"] == pipeline_stages.TranslateOptions(beam_size=2)
    assert [s.status for s in run_pipeline(p)] == ["skip"] * 3
    steps = run_pipeline(_write(tmp_path, body.replace("beam_size = 2", "beam_size = 3")))
    assert [s.status for s in steps] == ["skip", "run", "run"]
    with pytest.raises(ConfigError, match=r"\[translate\] has no key 'beem'"):  # before anything runs
        run_pipeline(_write(tmp_path, body.replace("beam_size = 2", "beem = 3")))


def test_a_dataset_directory_source_is_re_ingested_when_it_changes(tmp_path: Path) -> None:
    import datasets

    d = tmp_path / "ds"
    ds = datasets.Dataset.from_dict({"tokens": [["Rome", "is", "old"]], "ner_tags": [["B-LOC", "O", "O"]]})
    ds.save_to_disk(str(d))
    body = f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{d}"
format = "hf"
lang = "en"
name = "ds"
[translations]
de = "{tmp_path / 'de.txt'}"
"""
    (tmp_path / "de.txt").write_text("Rom ist alt\n")
    p = _write(tmp_path, body)
    assert [s.status for s in run_pipeline(p)] == ["run", "run"]
    assert [s.status for s in run_pipeline(p)] == ["skip", "skip"]
    ds2 = datasets.Dataset.from_dict({"tokens": [["Paris", "is", "old"]], "ner_tags": [["B-LOC", "O", "O"]]})
    import shutil

    shutil.rmtree(d)
    ds2.save_to_disk(str(d))
    assert [s.status for s in run_pipeline(p)] == ["run", "run"]


def test_a_local_model_changed_in_place_reruns_translate(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(STAGES, "translate", StageHook("translate", pipeline_stages.translate, options=pipeline_stages.TranslateOptions))
    model = tmp_path / "models" / "m"
    model.mkdir(parents=True)
    (model / "model.bin").write_bytes(b"v1")
    p = _write(tmp_path, f"""
[source]
path = "{DATA / 'sample-en.conll'}"
lang = "en"
name = "s"
[translate]
model = "models/m"
targets = ["de"]
""")
    first = run_pipeline(p, out_dir=tmp_path / "out", db=tmp_path / "out" / "workbench.duckdb")
    assert [s.status for s in first] == ["run", "run"]
    assert pipeline_stages.CALLS[-1][2]["model"] == str(model)  # relative to the pipeline file
    assert [s.status for s in run_pipeline(p, out_dir=tmp_path / "out", db=tmp_path / "out" / "workbench.duckdb")] == ["skip", "skip"]
    (model / "model.bin").write_bytes(b"v2 converted again")
    assert [s.status for s in run_pipeline(p, out_dir=tmp_path / "out", db=tmp_path / "out" / "workbench.duckdb")] == ["skip", "run"]


_TRANSLATE_PLANS = {
    "translate-train": ("facebook/nllb-200-distilled-600M", [
        ("ingest", "train-en", "run"), ("translate", "de,es,fr,sw", "pending"),
        *[(stage, lang, "pending") for lang in ("de", "es", "fr", "sw") for stage in ("project", "filter")],
        ("export", "hf", "pending"), *[("report", lang, "pending") for lang in ("de", "es", "fr", "sw")]]),
    "translate-test": ("Helsinki-NLP/opus-mt-de-en", [
        ("ingest", "test-de", "run"), ("translate", "en", "pending"), ("export", "jsonl", "pending")]),
}


@pytest.mark.parametrize("name", sorted(_TRANSLATE_PLANS))
def test_translate_examples_plan_then_stop_at_the_model_download(name: str, tmp_path: Path, monkeypatch) -> None:
    """examples/translate-{train,test}.toml need a model download: their plan is shown, then
    both a dry run and a real run stop at the model, before anything runs, with a clear error
    naming the one-time convert command (having only looked in the local caches), and that command's download is the first network
    call (the Hub is replaced at that boundary: there is no network here)."""
    import huggingface_hub

    from workbench.core.errors import ModelError
    from workbench.mt.models import convert

    model, plan = _TRANSLATE_PLANS[name]
    calls: list[tuple[str, dict]] = []

    def hub(repo_id: str, **kw):  # the network boundary
        calls.append((repo_id, kw))
        raise OSError("no network in tests")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = ROOT / "examples" / f"{name}.toml"
    db = tmp_path / "out" / "workbench.duckdb"
    shown: list = []
    # a dry run shows the plan, then stops at what a run would stop at: the model
    with pytest.raises(ModelError, match="neither a directory nor a converted model"):
        run_pipeline(path, dry_run=True, out_dir=tmp_path / "out", db=db, on_step=shown.append)
    assert _plan(shown) == plan
    assert not (tmp_path / "out").exists()
    calls.clear()
    with pytest.raises(ModelError, match="neither a directory nor a converted model") as info:
        run_pipeline(path, out_dir=tmp_path / "out", db=db)
    assert f"workbench models convert {model}" in info.value.fix and "[translate] model" in str(info.value)
    assert calls == [(model, {"local_files_only": True})]  # a cache lookup, no download
    assert not db.exists()  # checked before anything ran: nothing ingested
    calls.clear()
    with pytest.raises(ModelError, match=f"cannot download '{model}'"):
        convert(model, quantization="int8")
    assert [c[0] for c in calls] == [model] and "local_files_only" not in calls[0][1]
    assert "*.safetensors" in calls[0][1]["allow_patterns"]
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
