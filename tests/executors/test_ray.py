"""The Ray executor on a local Ray (``ray.init(num_cpus=2)``): same content as the local
executor, a worker killed mid-run, a driver killed mid-run and resumed, a shard failing for good.

Deselect with ``-m 'not ray'``; skipped when Ray is not installed.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures import ray as rf
from tests.fixtures.ray import (
    SHARD_SIZE,
    DyingWorker,
    FailingWorker,
    ReportingWorker,
    worker_kwargs,
)
from workbench.core.signature import Signature
from workbench.executors import ExecutorOptions, ShardError, Staging, run_sharded, run_stage
from workbench.store.store import Store

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
dist_examples, tiny_model, tiny_factory = rf.dist_examples, rf.tiny_model, rf.tiny_factory


@pytest.fixture(scope="module")
def reference(tmp_path_factory, dist_examples, tiny_factory):
    """The local executor's output on the test inputs (Arrow, EXAMPLE_SCHEMA)."""
    store = Store(tmp_path_factory.mktemp("ref") / "wb.duckdb", lock_timeout=5)
    v = run_stage(store, dist_examples, tiny_factory, corpus="sample.de", stage="translate",
                  signature=Signature("translate", {"case": "ref"}), lang="de",
                  options=ExecutorOptions(shard_size=SHARD_SIZE))
    return store.to_arrow(v)


def _rows(run):
    return [e for b in run.batches() for e in b]


def test_ray_version_equals_local_version(ray_cluster, store, tmp_path, dist_examples,
                                          tiny_factory, reference):
    opts = ExecutorOptions(executor="ray", workers=2, shard_size=SHARD_SIZE,
                           staging=str(tmp_path / "st"))
    v = run_stage(store, dist_examples, tiny_factory, corpus="sample.de", stage="translate",
                  signature=Signature("translate", {"case": "ray"}), lang="de", options=opts)
    got = store.to_arrow(v)
    assert got.num_rows == len(dist_examples)
    assert got.equals(reference)  # byte-for-byte the same rows, in the same order


def _kill_one_busy_worker(log: Path, stop: threading.Event, killed: list[int]) -> None:
    """Once a shard has finished, SIGKILL a worker that is in the middle of another one."""
    while not stop.is_set():
        lines = log.read_text().split("\n") if log.exists() else []
        events = [ln.split() for ln in lines if ln.strip()]
        ended = {(e[2], e[3]) for e in events if e[1] == "end"}
        busy = [(int(e[2]), e[3]) for e in events if e[1] == "begin" and (e[2], e[3]) not in ended]
        if ended and busy:
            os.kill(busy[-1][0], signal.SIGKILL)
            killed.append(busy[-1])  # (pid, first example id of the shard it was running)
            return
        time.sleep(0.02)


def test_worker_killed_mid_shard_leaves_a_correct_version(ray_cluster, tmp_path, dist_examples,
                                                          tiny_model, reference):
    log = tmp_path / "events.log"
    fac = functools.partial(ReportingWorker, **worker_kwargs(tiny_model), log=str(log), delay=0.15)
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_one_busy_worker, args=(log, stop, killed), daemon=True)
    killer.start()
    try:
        run = run_sharded(dist_examples, fac, key="kill", executor="ray", workers=2,
                          shard_size=SHARD_SIZE, staging=str(tmp_path / "st"))
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was killed (the run ended before the killer saw a busy worker)"
    events = [ln.split() for ln in log.read_text().splitlines()]
    starts = [int(e[2]) for e in events if e[1] == "start"]
    pid, first = killed[0]
    assert len(starts) >= 3 and pid in starts  # the killed actor was restarted
    # the shard it was running never ended there, and was redone by another process (the
    # killed worker may have finished an earlier shard: those stay staged, correctly)
    ends = {(int(e[2]), e[3]) for e in events if e[1] == "end"}
    assert (pid, first) not in ends and any(p != pid for p, f in ends if f == first)
    assert sorted(run.executed) == sorted(s.id for s in run.shards)
    from workbench.store.store import examples_to_arrow

    assert examples_to_arrow(_rows(run)).equals(reference)  # no duplicates, none missing


_DRIVER = """
import functools, sys
from tests.fixtures.ray import ReportingWorker, sample_examples, worker_kwargs, SHARD_SIZE
from workbench.executors import run_sharded
model, staging, log, address = sys.argv[1:5]
fac = functools.partial(ReportingWorker, **worker_kwargs(model), log=log, delay=0.25, tag="first")
run_sharded(sample_examples(), fac, key="resume", executor="ray", ray_address=address, workers=2,
            shard_size=SHARD_SIZE, staging=staging)
"""


def test_resume_after_driver_killed_redoes_only_missing_shards(ray_cluster, tmp_path, dist_examples,
                                                               tiny_model, reference):
    staging, log = tmp_path / "st", tmp_path / "events.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(tiny_model), str(staging), str(log), ray_cluster],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    markers = Path(Staging(staging, "resume").root)
    deadline = time.monotonic() + 120
    while len(list(markers.glob("*.done"))) < 3:
        assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the subprocess driver staged no shards in time"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    driver.stderr.close()

    fac = functools.partial(ReportingWorker, **worker_kwargs(tiny_model), log=str(log), tag="second")
    run = run_sharded(dist_examples, fac, key="resume", executor="ray", workers=2,
                      shard_size=SHARD_SIZE, staging=str(staging))
    n = len(run.shards)
    assert 3 <= len(run.skipped) < n  # the first driver finished some shards, not all
    assert sorted(run.executed + run.skipped) == sorted(s.id for s in run.shards)
    # the workers of the rerun computed exactly the missing shards, once each
    first_ids = {s.example_ids[0]: s.id for s in run.shards}
    redone = [e[3] for e in (ln.split() for ln in log.read_text().splitlines())
              if e[0] == "second" and e[1] == "end"]
    assert sorted(first_ids[i] for i in redone) == sorted(run.executed)
    from workbench.store.store import examples_to_arrow

    assert examples_to_arrow(_rows(run)).equals(reference)


def test_shard_failing_every_attempt_fails_the_stage_naming_it(ray_cluster, tmp_path, dist_examples,
                                                              tiny_model):
    fac = functools.partial(FailingWorker, **worker_kwargs(tiny_model), poison="s0031")
    with pytest.raises(ShardError) as info:
        run_sharded(dist_examples, fac, key="fail", executor="ray", workers=2, max_retries=1,
                    shard_size=SHARD_SIZE, staging=str(tmp_path))
    err = info.value
    assert "s0031" in err.example_ids and err.shard_id.startswith(f"{31 // SHARD_SIZE:06d}-")
    assert "cannot translate s0031" in str(err) and err.attempts == 2


def test_shard_killing_its_worker_every_time_fails_the_stage_naming_it(ray_cluster, tmp_path,
                                                                       dist_examples, tiny_model):
    fac = functools.partial(DyingWorker, **worker_kwargs(tiny_model), poison="s0013")
    with pytest.raises(ShardError) as info:
        run_sharded(dist_examples, fac, key="die", executor="ray", workers=2, max_retries=1,
                    shard_size=SHARD_SIZE, staging=str(tmp_path))
    err = info.value
    assert "s0013" in err.example_ids and err.shard_id.startswith(f"{13 // SHARD_SIZE:06d}-")
    assert err.attempts == 2 and "s0013" in str(err)


def test_worker_that_cannot_start_raises_its_own_error(ray_cluster, tmp_path, dist_examples):
    from workbench.core.errors import ModelError
    from workbench.executors.ct2_worker import CT2GreedyWorker

    fac = functools.partial(CT2GreedyWorker, str(tmp_path / "no-model"), "de")
    with pytest.raises(ModelError, match="no-model"):
        run_sharded(dist_examples, fac, key="k", executor="ray", workers=2, staging=str(tmp_path))
