"""The sharded executor run locally: shard ids, staging, resume, failures, options."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import ray as rf
from tests.fixtures.ray import SHARD_SIZE, DroppingWorker, FailingWorker, worker_kwargs
from workbench.cli import common as cli
from workbench.core.errors import ConfigError
from workbench.core.records import Example
from workbench.core.signature import Signature
from workbench.executors import (
    ExecutorOptions,
    ShardError,
    Staging,
    run_sharded,
    run_stage,
)
from workbench.executors.shards import _plan

ROOT = Path(__file__).resolve().parents[2]
dist_examples, tiny_model, tiny_factory = rf.dist_examples, rf.tiny_model, rf.tiny_factory


def _ids(examples, key="k", size=SHARD_SIZE):
    return [s.id for s, _ in _plan(examples, key, size)]


def test_shard_ids_are_deterministic_and_content_addressed(dist_examples):
    a = _ids(dist_examples)
    assert a == _ids(list(dist_examples))
    assert len(a) == len(set(a)) == -(-len(dist_examples) // SHARD_SIZE)
    assert _ids(dist_examples, key="other") != a  # another stage never reuses these shards
    changed = list(dist_examples)
    changed[7] = Example(id=changed[7].id, text=changed[7].text + " !", lang="en")
    b = _ids(changed)
    assert [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y] == [7 // SHARD_SIZE]
    # batches, Arrow tables and single examples make the same shards
    from workbench.store.store import examples_to_arrow

    assert _ids([examples_to_arrow(dist_examples[:30]), dist_examples[30:]]) == a


def test_local_run_stages_shards_and_commits_one_version(store, tmp_path, dist_examples, tiny_factory):
    sig = Signature("translate", {"tgt": "de", "test": "local"})
    seen = []
    v = run_stage(store, dist_examples, tiny_factory, corpus="sample.de", stage="translate",
                  signature=sig, lang="de", on_shard=lambda s, n: seen.append((s.index, n)),
                  options=ExecutorOptions(shard_size=SHARD_SIZE, staging=str(tmp_path / "st")))
    assert v.n_examples == len(dist_examples) and v.stage == "translate"
    assert [i for i, _ in seen] == list(range(len(seen))) and sum(n for _, n in seen) == v.n_examples
    out = list(store.examples(v))
    assert [e.id for e in out] == [e.id for e in dist_examples]
    assert all(e.lang == "de" and e.meta["src_text"] == s.text and e.text and e.offsets
               for e, s in zip(out, dist_examples, strict=True))
    assert not any((tmp_path / "st").rglob("*.parquet"))  # committed, then cleaned up
    # same signature: the stored version is reused, nothing runs
    again = run_stage(store, dist_examples, tiny_factory, corpus="sample.de", stage="translate",
                      signature=sig, lang="de", on_shard=lambda s, n: pytest.fail("ran again"))
    assert again.id == v.id


def test_resume_redoes_only_missing_or_partial_shards(tmp_path, dist_examples, tiny_factory):
    st = str(tmp_path / "st")
    first = run_sharded(dist_examples, tiny_factory, key="k", staging=st, shard_size=SHARD_SIZE)
    assert len(first.executed) == len(first.shards) and not first.skipped
    ref = [e for b in first.batches() for e in b]
    root = Path(Staging(st, "k").root)
    lost, partial = first.shards[2].id, first.shards[5].id
    (root / f"{lost}.done").unlink()  # crashed after the Parquet file, before the marker
    (root / f"{lost}.parquet").unlink()
    (root / f"{partial}.parquet").write_bytes(b"PAR1 truncated")  # marker no longer matches
    second = run_sharded(dist_examples, tiny_factory, key="k", staging=st, shard_size=SHARD_SIZE)
    assert sorted(second.executed) == sorted([lost, partial])
    assert len(second.skipped) == len(first.shards) - 2
    assert [e for b in second.batches() for e in b] == ref


def test_failing_shard_raises_shard_error_naming_it(tmp_path, dist_examples, tiny_model):
    fac = functools.partial(FailingWorker, **worker_kwargs(tiny_model), poison="s0020")
    st = str(tmp_path / "st")
    with pytest.raises(ShardError) as info:
        run_sharded(dist_examples, fac, key="k", staging=st, shard_size=SHARD_SIZE, max_retries=2)
    err = info.value
    assert err.shard_id.startswith(f"{20 // SHARD_SIZE:06d}-")
    assert "s0020" in err.example_ids and len(err.example_ids) == SHARD_SIZE
    assert err.attempts == 3 and "cannot translate s0020" in str(err) and err.shard_id in str(err)
    assert len(Staging(st, "k").completed()) == 20 // SHARD_SIZE  # earlier shards kept for resume


def test_worker_losing_examples_is_caught(tmp_path, dist_examples, tiny_model):
    fac = functools.partial(DroppingWorker, **worker_kwargs(tiny_model))
    with pytest.raises(ShardError, match="missing"):
        run_sharded(dist_examples, fac, key="k", staging=str(tmp_path), shard_size=SHARD_SIZE)


def test_pairs_reach_the_worker_as_tuples(tmp_path, dist_examples):
    run = run_sharded([(e, e) for e in dist_examples[:10]], _PairWorker, key="p",
                      staging=str(tmp_path), shard_size=4)
    out = [e for b in run.batches() for e in b]
    assert [e.id for e in out] == [e.id for e in dist_examples[:10]]
    assert all(e.text == f"{s.text} ||| {s.text}" for e, s in zip(out, dist_examples[:10], strict=True))


class _PairWorker:
    def __call__(self, batch):
        assert all(isinstance(p, tuple) and len(p) == 2 for p in batch)
        return [Example(id=a.id, text=f"{a.text} ||| {b.text}", lang=b.lang) for a, b in batch]


def test_executor_options_validate():
    assert ExecutorOptions().executor == "local"
    with pytest.raises(ConfigError, match="unknown executor"):
        ExecutorOptions(executor="spark").validate()
    with pytest.raises(ConfigError, match="workers"):
        ExecutorOptions(workers=0).validate()
    with pytest.raises(ConfigError, match="unknown executor option"):
        ExecutorOptions.from_mapping({"executor": "ray", "nodes": 3})
    o = ExecutorOptions.from_mapping({"executor": "ray", "gpus-per-worker": 1, "workers": 4})
    assert (o.executor, o.gpus_per_worker, o.workers) == ("ray", 1, 4)
    with pytest.raises(ConfigError, match="cannot shard"):
        run_sharded(["not an example"], _PairWorker, key="x")


def test_local_executor_never_imports_ray(tmp_path, tiny_model):
    code = (
        "import sys, functools\n"
        "from tests.fixtures.ray import sample_examples\n"
        "from workbench.executors import run_sharded\n"
        "from workbench.executors.ct2_worker import CT2GreedyWorker\n"
        f"f = functools.partial(CT2GreedyWorker, **{worker_kwargs(tiny_model)!r})\n"
        f"r = run_sharded(sample_examples(8), f, key='k', staging={str(tmp_path)!r})\n"
        "assert r.n_examples == 8\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_executor_options_are_reusable_by_a_command():
    import typer
    from typer.testing import CliRunner

    app, got = typer.Typer(), {}

    @app.command()
    @cli.executor_options
    def stage(executor_options=None) -> None:
        got["opts"] = executor_options

    runner = CliRunner()
    res = runner.invoke(app, ["--executor", "ray", "--ray-address", "auto", "--workers", "4",
                              "--gpus-per-worker", "1", "--staging", "s3://b/p"], env={})
    assert res.exit_code == 0, res.output
    o = got["opts"]
    assert (o.executor, o.ray_address, o.workers, o.gpus_per_worker, o.staging) == (
        "ray", "auto", 4, 1.0, "s3://b/p")
    res = runner.invoke(app, [], env={"RAY_ADDRESS": ""})
    assert res.exit_code == 0 and got["opts"].executor == "local" and got["opts"].workers == 1
    res = runner.invoke(app, ["--executor", "spark"])
    assert res.exit_code != 0 and "spark" in res.output
    res = runner.invoke(app, ["--workers", "0"])
    assert res.exit_code != 0


def test_worker_that_cannot_start_raises_its_own_error(tmp_path, dist_examples):
    from workbench.core.errors import ModelError
    from workbench.executors.ct2_worker import CT2GreedyWorker

    fac = functools.partial(CT2GreedyWorker, str(tmp_path / "no-model"), "de")
    with pytest.raises(ModelError, match="no-model"):
        run_sharded(dist_examples, fac, key="k", staging=str(tmp_path / "st"))


SEEN: list[str] = []


class _SpyWorker:
    """Records the ids it is asked to compute (local executor: same process)."""

    def __init__(self, **kw):
        from workbench.executors.ct2_worker import CT2GreedyWorker

        self.inner = CT2GreedyWorker(**kw)

    def __call__(self, batch):
        SEEN.extend(ex.id for ex in batch)
        return self.inner(batch)


def test_lookup_skips_known_outputs_and_whole_shards(tmp_path, dist_examples, tiny_factory, tiny_model):
    ref = run_sharded(dist_examples, tiny_factory, key="ref", staging=str(tmp_path), shard_size=SHARD_SIZE)
    expected = [e for b in ref.batches() for e in b]
    by_id = {e.id: e for e in expected}
    first = {e.id for e in dist_examples[:SHARD_SIZE]}

    def lookup(items):  # shard 0 entirely known, elsewhere every third example
        return [by_id[ex.id] if ex.id in first or int(ex.id[1:]) % 3 == 0 else None for ex in items]

    SEEN.clear()
    run = run_sharded(dist_examples, functools.partial(_SpyWorker, **worker_kwargs(tiny_model)),
                      key="cached", staging=str(tmp_path), shard_size=SHARD_SIZE, lookup=lookup)
    got = [e for b in run.batches() for e in b]
    # the worker now translates other batches (cached examples left out): texts are the same,
    # float32 scores may move in the last digits with the batch's shape (CPU GEMM blocking)
    assert [(e.id, e.text, e.offsets) for e in got] == [(e.id, e.text, e.offsets) for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g.meta.keys() == e.meta.keys()
        for k, v in e.meta.items():
            assert g.meta[k] == (pytest.approx(v, rel=1e-4) if isinstance(v, float) else v), (e.id, k)
    assert SEEN == [ex.id for ex in dist_examples if ex.id not in first and int(ex.id[1:]) % 3]
    assert run.looked_up == len(dist_examples) - len(SEEN)
    with pytest.raises(ConfigError, match="lookup returned"):
        run_sharded(dist_examples, tiny_factory, key="bad", staging=str(tmp_path), lookup=lambda it: [])
