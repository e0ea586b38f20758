"""Throughput of the translate work on the local executor vs Ray with 1 and 2 workers.

A transformer-base sized CTranslate2 model (6+6 layers, d_model 512, 8 heads, FFN 2048, 32k
word vocabulary) with random weights, int8, built offline from numpy. Inputs are random word
sequences; decoding is greedy and capped at ``--max-len`` target tokens (a random model rarely
stops on its own, so every sentence costs the same). Each configuration runs ``--rounds`` times,
interleaved (local, Ray, local, Ray, ...) so that load from other processes hits all alike; the
median is reported. Times cover the whole sharded run: worker start, model load, translation and
staging the shards as Parquet (not the DuckDB commit, the same for every executor). Starting the
local Ray itself is timed separately: on a cluster it is already running.

With CUDA, the Ray runs use one worker per GPU (``--gpus-per-worker 1``) and local uses GPU 0.

    python bench/scale.py                 # defaults: 256 sentences, 2 rounds
    python bench/scale.py --sentences 512 --rounds 3
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.ray import random_transformer  # noqa: E402
from workbench.core.records import Example  # noqa: E402
from workbench.executors import ExecutorOptions, run_sharded  # noqa: E402
from workbench.executors.ct2_worker import CT2GreedyWorker  # noqa: E402
from workbench.executors.ray import ray_init_kwargs  # noqa: E402


class CpuMeter:
    """CPU seconds used by this process and all its descendants (a local Ray's GCS, raylet,
    agents and workers) while running: processes are sampled every ``interval`` seconds, so
    workers that exit before the end still count (up to their last sample). CPU cost does not
    depend on the load other processes put on the machine; wall-clock time does."""

    def __init__(self, interval: float = 0.1):
        import threading

        self.interval, self.first, self.last = interval, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        for p in [me, *me.children(recursive=True)]:
            try:
                t = p.cpu_times()
                key = (p.pid, p.create_time())
            except psutil.Error:
                continue
            self.first.setdefault(key, t.user + t.system)
            self.last[key] = t.user + t.system

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample()  # processes alive before the run: count only what they use from now
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(self.last[k] - self.first[k] for k in self.last)


def sentences(n: int, vocab: list[str], seed: int = 1) -> list[Example]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        words = rng.choice(vocab, size=int(rng.integers(10, 30)))
        out.append(Example(id=f"b{i:06d}", text=" ".join(words), lang="en"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=384)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--shard-size", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=24, help="max target tokens")
    ap.add_argument("--vocab", type=int, default=32000)
    args = ap.parse_args()

    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="wb-scale-"))
    vocab = [f"w{i}" for i in range(args.vocab - 3)]
    t = time.perf_counter()
    model = random_transformer(tmp / "model", vocab, layers=6, d_model=512, heads=8, ffn=2048,
                               quantization="int8", seed=0)
    print(f"model: transformer-base shape, random int8, vocab {args.vocab} "
          f"(built in {time.perf_counter() - t:.1f}s)")
    data = sentences(args.sentences, vocab)
    worker = functools.partial(CT2GreedyWorker, str(model), "xx", max_decoding_length=args.max_len,
                               compute_type="int8", max_batch_size=args.shard_size)

    if gpus:
        configs = {
            "local, 1 GPU": ExecutorOptions("local", gpus_per_worker=1, cpus_per_worker=1),
            f"ray, {gpus} worker(s) x 1 GPU": ExecutorOptions("ray", workers=gpus, gpus_per_worker=1),
        }
        pairs = [("local, 1 GPU", f"ray, {gpus} worker(s) x 1 GPU")]
    else:
        configs = {
            "local, 1 thread": ExecutorOptions("local", workers=1, cpus_per_worker=1),
            "ray, 1 worker x 1 cpu": ExecutorOptions("ray", workers=1, cpus_per_worker=1),
            "local, 2 threads": ExecutorOptions("local", workers=2, cpus_per_worker=1),
            "ray, 2 workers x 1 cpu": ExecutorOptions("ray", workers=2, cpus_per_worker=1),
        }
        pairs = [("local, 1 thread", "ray, 1 worker x 1 cpu"),
                 ("local, 2 threads", "ray, 2 workers x 1 cpu")]

    import ray

    # workers inherit the environment: make workbench importable in them
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p)
    t = time.perf_counter()
    ray.init(num_cpus=None if gpus else min(2, cores), **ray_init_kwargs())
    ray_start = time.perf_counter() - t
    print(f"machine: {cores} cores, {gpus} GPU(s), load average {os.getloadavg()[0]:.1f} at start")
    print(f"local Ray started in {ray_start:.1f}s (not counted below; a cluster is already up)")

    times: dict[str, list[float]] = {name: [] for name in configs}
    startup: dict[str, list[float]] = {name: [] for name in configs}
    cpu: dict[str, list[float]] = {name: [] for name in configs}
    run_no = 0
    for r in range(args.rounds):
        for name, opts in configs.items():
            run_no += 1
            with CpuMeter() as meter:
                run = run_sharded(data, worker, key=f"bench-{run_no}", options=opts,
                                  staging=str(tmp / "staging"), shard_size=args.shard_size)
            assert run.n_examples == len(data) and not run.skipped
            cpu[name].append(meter.seconds)
            run.cleanup()
            times[name].append(run.seconds)
            # before the first shard's work began: worker start, model load, dispatch
            startup[name].append(min(done - busy for busy, done in run.timeline))
            print(f"  round {r + 1}: {name:<24} {len(data) / run.seconds:7.1f} sentences/s "
                  f"({run.seconds:.1f}s, {startup[name][-1]:.1f}s before the first shard, "
                  f"{cpu[name][-1]:.1f} CPU-s)",
                  flush=True)
    ray.shutdown()

    med = statistics.median
    rate = {name: len(data) / med(ts) for name, ts in times.items()}
    steady = {name: len(data) / (med(ts) - med(startup[name])) for name, ts in times.items()}
    print(f"\n{args.sentences} sentences, shards of {args.shard_size}, greedy, <= {args.max_len} "
          f"target tokens; median of {args.rounds} interleaved rounds:")
    per_cpu = {name: len(data) / med(c) for name, c in cpu.items()}
    print(f"  {'executor':<24} {'sentences/s':>11} {'start-up':>9} {'after start-up':>15} "
          f"{'sentences/CPU-s':>16}")
    for name, v in rate.items():
        print(f"  {name:<24} {v:11.1f} {med(startup[name]):8.1f}s {steady[name]:15.1f} "
              f"{per_cpu[name]:16.1f}")
    for local, distributed in pairs:
        ratio, ratio_s = rate[distributed] / rate[local], steady[distributed] / steady[local]
        print(f"Ray / local at equal resources ({distributed} vs {local}): {ratio:.2f} "
              f"(overhead {100 * (1 - ratio):+.0f}%; after start-up {ratio_s:.2f}, "
              f"{100 * (1 - ratio_s):+.0f}%; CPU cost per sentence "
              f"{100 * (per_cpu[local] / per_cpu[distributed] - 1):+.0f}%)")
    if not gpus:
        print(f"scaling ratio, Ray 2 workers / 1 worker: "
              f"{rate['ray, 2 workers x 1 cpu'] / rate['ray, 1 worker x 1 cpu']:.2f}  "
              f"(local 2 threads / 1 thread: "
              f"{rate['local, 2 threads'] / rate['local, 1 thread']:.2f})")
        ok = rate["ray, 2 workers x 1 cpu"] >= 0.85 * rate["local, 2 threads"]
        ok_cpu = per_cpu["ray, 2 workers x 1 cpu"] >= 0.85 * per_cpu["local, 2 threads"]
        print(f"target: Ray with 2 workers within 15% of the local executor: "
              f"{'met' if ok else 'NOT met'} in sentences/s on this machine now; "
              f"{'met' if ok_cpu else 'NOT met'} in sentences per CPU-second (what an idle "
              "machine's throughput follows)")
    print(f"load average {os.getloadavg()[0]:.1f} at end. On a machine shared with other "
          "processes these figures are noisy: compare only figures from the same run.")


if __name__ == "__main__":
    main()
