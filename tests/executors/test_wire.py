"""``--executor ray`` wired into the translate and project stages, the CLI and pipeline files.

The Ray tests share the session's local Ray (``ray_cluster`` in conftest). Projection on Ray is
compared with the local run using SimAlign on a tiny random BERT: it treats every pair on its
own and is deterministic, so shards must give the very same version. eflomal is not used here:
it samples (two local runs already differ) and estimates its model per call, i.e. per shard.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.core.errors import ConfigError
from workbench.core.signature import Signature
from workbench.executors import ExecutorOptions
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample-en.conll"
runner = CliRunner()
DECODE = ["--beam-size", "1", "--max-decoding-length", "8", "--compute-type", "int8"]


# -- pipeline files and CLI options (no Ray) ---------------------------------------------------
def _pipeline(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(f'''[source]
path = "{SAMPLE}"
name = "sample-en"
lang = "en"

[translate]
model = "some-model"
targets = ["de"]
beam_size = 1

[project]
projector = "align.simalign.v1"
model = "bert"
{extra}
''', encoding="utf-8")
    return p


def test_pipeline_executor_table_and_per_stage_override(tmp_path):
    from workbench.pipeline import load_pipeline

    pl = load_pipeline(_pipeline(tmp_path, '''[project.executor]
shard_size = 10

[executor]
executor = "ray"
workers = 2
staging = "shards"
'''))
    tr, pr = pl.executors["translate"], pl.executors["project"]
    assert (tr.executor, tr.workers, tr.shard_size) == ("ray", 2, 256)
    assert (pr.executor, pr.workers, pr.shard_size) == ("ray", 2, 10)
    assert tr.staging == str(pl.out_dir / "shards")
    # executor options are not stage options: they never reach the stage's own options
    assert "executor" not in pl.translate and "executor" not in pl.project_options
    assert pl.project_options == {"model": "bert"}
    assert load_pipeline(_pipeline(tmp_path, "")).executors == {}


def test_pipeline_unknown_executor_option_is_a_config_error(tmp_path):
    from workbench.pipeline import load_pipeline

    with pytest.raises(ConfigError, match="unknown executor option.*gpus"):
        load_pipeline(_pipeline(tmp_path, '[executor]\nexecutor = "ray"\ngpus = 1\n'))
    with pytest.raises(ConfigError, match="unknown executor"):
        load_pipeline(_pipeline(tmp_path, '[executor]\nexecutor = "spark"\n'))


def test_cli_rejects_unknown_executor_and_ray_in_file_mode(tmp_path):
    r = runner.invoke(app, ["translate", "x", "--model", "m", "--src-lang", "en", "--tgt-lang", "de",
                            "--executor", "spark", "--db", str(tmp_path / "wb.duckdb")])
    assert r.exit_code != 0 and "spark" in r.output
    r = runner.invoke(app, ["project", "--source", str(SAMPLE), "--target", str(SAMPLE),
                            "-o", str(tmp_path / "o.conll"), "--executor", "ray"])
    assert r.exit_code != 0 and "stored versions" in r.output
    for cmd in ("translate", "project"):
        out = runner.invoke(app, [cmd, "--help"], terminal_width=200).output
        for opt in ("--executor", "--ray-address", "--workers", "--gpus-per-worker",
                    "--cpus-per-worker", "--staging", "--shard-size"):
            assert opt in out, (cmd, opt)


# -- on a local Ray ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def marian(tmp_path_factory) -> str:
    """One tiny random Marian model converted to CTranslate2 (int8)."""
    pytest.importorskip("transformers")
    from tests.fixtures.translate import build_hf_model
    from workbench.mt.models import convert

    root = tmp_path_factory.mktemp("wire-models")
    return str(convert(build_hf_model("marian", root / "tiny-marian"), quantization="int8",
                       home=root / "home"))


def _ingest(db: Path) -> Store:
    r = runner.invoke(app, ["ingest", str(SAMPLE), "--name", "sample-en", "--lang", "en",
                            "--db", str(db)])
    assert r.exit_code == 0, r.output
    return Store(db, lock_timeout=5)


def _content(store, v):
    return store.to_arrow(v).drop_columns(["idx"])


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, marian):
    """The local executor's translation of the sample, through the CLI."""
    db = tmp_path_factory.mktemp("local") / "wb.duckdb"
    store = _ingest(db)
    r = runner.invoke(app, ["translate", "sample-en", "--model", marian, "--src-lang", "en",
                            "--tgt-lang", "de", *DECODE, "-q", "--db", str(db)])
    assert r.exit_code == 0, r.output
    return store, store.resolve("sample-en.de")


def test_cli_translate_and_project_locally_never_import_ray(tmp_path, marian):
    import os
    import subprocess
    import sys

    db = tmp_path / "wb.duckdb"
    _ingest(db)
    code = (
        "import sys\n"
        "from workbench.cli import app\n"
        f"args = ['translate', 'sample-en', '--model', {marian!r}, '--src-lang', 'en', '--tgt-lang', "
        f"'de', {', '.join(map(repr, DECODE))}, '-q', '--executor', 'local', '--db', {str(db)!r}]\n"
        "app(args, standalone_mode=False)\n"
        "app(['project', 'sample-en.de', '--projector', 'align.eflomal.v1', '--db', "
        f"{str(db)!r}], standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert Store(db).resolve("sample-en.de").stage == "project"


class _Dispatched:
    """Counts what the driver hands to Ray workers (wraps the real ``run_ray``)."""

    def __init__(self, monkeypatch):
        import workbench.executors.ray as dr

        self.shards, self.sentences, real = 0, 0, dr.run_ray

        def counting(todo, *args, **kwargs):
            def seen():
                for shard, payload in todo:
                    self.shards += 1
                    self.sentences += payload.tables[0].num_rows if payload.tables else 0
                    yield shard, payload
            return real(seen(), *args, **kwargs)

        monkeypatch.setattr(dr, "run_ray", counting)


@pytest.mark.ray
def test_cli_translate_on_ray_equals_local(ray_cluster, tmp_path, marian, local_run, monkeypatch):
    store = _ingest(tmp_path / "wb.duckdb")
    sent = _Dispatched(monkeypatch)
    staging = tmp_path / "st"
    r = runner.invoke(app, ["translate", "sample-en", "--model", marian, "--src-lang", "en",
                            "--tgt-lang", "de", *DECODE, "--executor", "ray", "--workers", "2",
                            "--shard-size", "7", "--staging", str(staging), "--db",
                            str(tmp_path / "wb.duckdb")])
    assert r.exit_code == 0, r.output
    v = store.resolve("sample-en.de")
    ref_store, ref = local_run
    assert v.signature_key == ref.signature_key  # the same stage, whichever executor ran it
    assert _content(store, v).equals(_content(ref_store, ref))
    assert v.params["executor"]["executor"] == "ray" and v.params["executor"]["shard_size"] == 7
    assert (sent.shards, sent.sentences) == (6, 36)  # 36 sentences in shards of 7
    assert not any(p.is_file() for p in staging.rglob("*"))  # shard files removed after commit
    # the cache was filled as shards finished: same rows as the local run's
    q = "SELECT key, text, score, avg_logprob, n_tokens FROM translate_cache ORDER BY key"
    assert store.sql(q).equals(ref_store.sql(q))


@pytest.mark.ray
def test_ray_translate_consults_the_cache_before_dispatch(ray_cluster, store, marian, local_run,
                                                          monkeypatch):
    from workbench.load.ingest import ingest
    from workbench.translate import TranslateOptions, translate

    full = ingest(SAMPLE, name="sample-en", store=store, lang="en")
    examples = list(store.examples(full))
    part = store.write_version(examples[:15], corpus="part", stage="ingest",
                               signature=Signature("ingest", {"case": "part"}), lang="en")
    ex = ExecutorOptions("ray", workers=2, shard_size=7)

    def run(ref, name=None):
        sent, finals = _Dispatched(monkeypatch), []
        opts = TranslateOptions(beam_size=1, max_decoding_length=8, compute_type="int8", name=name)
        v, = translate(ref, model=marian, src_lang="en", tgt_langs="de", store=store,
                       options=opts, executor=ex, progress=finals.append)
        return v, sent, finals[-1]

    _, sent, p = run(part)  # a crashed run that finished 15 sentences, say
    assert (sent.sentences, p.translated, p.cached) == (15, 15, 0)
    part_texts = {e.text for e in examples[:15]}
    n_known = sum(e.text in part_texts for e in examples)
    v, sent, p = run(full)  # resumes: only sentences not cached go to the workers
    assert (sent.sentences, p.translated, p.cached) == (36 - n_known, 36 - n_known, n_known)
    assert sent.shards == 4  # shards 0-1 were cached entirely and staged on the driver
    ref_store, ref = local_run
    assert _content(store, v).equals(_content(ref_store, ref))
    again, sent, p = run(full, name="again")  # a repeated command: everything from the cache
    assert (sent.shards, sent.sentences, p.translated, p.cached) == (0, 0, 0, 36)
    assert _content(store, again).equals(_content(store, v))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    pytest.importorskip("torch")
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("wire-bert")
    words = sorted({w.lower() for line in SAMPLE.read_text().splitlines() if line.strip()
                    for w in line.split()[:1]})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(d / "vocab.txt"), do_lower_case=True).save_pretrained(str(d))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=48, max_position_embeddings=128)
    BertModel(cfg).eval().save_pretrained(str(d))
    return str(d)


@pytest.mark.ray
def test_project_on_ray_equals_local(ray_cluster, tmp_path, local_run, tiny_bert):
    from workbench.project import ProjectReport, project

    ref_store, translated = local_run
    store = Store(tmp_path / "wb.duckdb", lock_timeout=5)
    src = store.write_version(ref_store.examples("sample-en"), corpus="sample-en",
                              stage="ingest", signature=Signature("ingest", {"case": "src"}),
                              lang="en")
    tv = store.write_version(ref_store.examples(translated), corpus="sample-en.de",
                             stage="translate", signature=Signature("translate", {"c": "t"}),
                             parents=[src], lang="de")
    opts = {"model": tiny_bert, "device": "cpu", "batch_size": 8}
    local_rep, ray_rep = ProjectReport(), ProjectReport()
    local = project(tv, projector="align.simalign.v1", options=opts, store=store,
                    report=local_rep)
    dist = project(tv, projector="align.simalign.v1", options=opts, store=store, force=True,
                   report=ray_rep, executor=ExecutorOptions("ray", workers=2, shard_size=10))
    assert dist.id != local.id and dist.signature_key == local.signature_key
    assert local.n_spans > 0 and dist.n_spans == local.n_spans
    assert _content(store, dist).equals(_content(store, local))
    assert ray_rep.examples == local_rep.examples == 36
    assert (ray_rep.spans, ray_rep.outcomes) == (local_rep.spans, local_rep.outcomes)


@pytest.mark.ray
def test_pipeline_runs_translate_on_ray_and_skips_it_after(ray_cluster, tmp_path, marian,
                                                            local_run):
    from workbench.pipeline import run_pipeline

    p = tmp_path / "p.toml"
    p.write_text(f'''[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"

[source]
path = "{SAMPLE}"
name = "sample-en"
lang = "en"

[translate]
model = "{marian}"
targets = ["de"]
beam_size = 1
max_decoding_length = 8
compute_type = "int8"

[executor]
executor = "ray"
workers = 2
shard_size = 9
''', encoding="utf-8")
    steps = run_pipeline(p)
    assert [(s.stage, s.status) for s in steps] == [("ingest", "run"), ("translate", "run")]
    store = Store(tmp_path / "out" / "workbench.duckdb", lock_timeout=5)
    v = store.resolve("sample-en.de")
    assert v.params["executor"]["shard_size"] == 9
    ref_store, ref = local_run
    assert _content(store, v).equals(_content(ref_store, ref))
    assert [s.status for s in run_pipeline(p)] == ["skip", "skip"]
