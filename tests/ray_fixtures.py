"""Helpers for the distributed-executor tests and bench/scale.py: random CTranslate2 Transformer
models built offline from numpy weights, and shard workers that report what they did."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.records import Example
from workbench.executors.ct2_worker import CT2GreedyWorker

SPECIALS = ["<unk>", "<s>", "</s>"]


def random_transformer(
    out_dir: Path,
    vocab: list[str],
    *,
    layers: int = 1,
    d_model: int = 16,
    heads: int = 2,
    ffn: int = 32,
    quantization: str | None = None,
    seed: int = 0,
) -> Path:
    """Save a CTranslate2 Transformer with random weights and word-level vocabulary ``vocab``
    (``<unk> <s> </s>`` are prepended) to ``out_dir``; returns ``out_dir``."""
    import ctranslate2.specs as specs
    from ctranslate2.specs import common_spec, model_spec

    rng = np.random.default_rng(seed)
    words = SPECIALS + [w for w in vocab if w not in SPECIALS]
    spec = specs.TransformerSpec.from_config((layers, layers), heads)
    v = len(words)

    def fill(layer: object, name: str, value: object) -> None:
        if value is not None:
            return
        attr = name.rsplit("/", 1)[-1]
        scope = name.rsplit("/", 1)[0]
        if isinstance(layer, common_spec.LayerNormSpec):
            arr = np.ones(d_model) if attr == "gamma" else np.zeros(d_model)
        elif isinstance(layer, common_spec.EmbeddingsSpec):
            arr = rng.normal(0, 1.0, (v, d_model))
        elif isinstance(layer, common_spec.LinearSpec):
            if scope.endswith("projection"):
                shape = (v, d_model)
            elif "ffn/linear_0" in scope:
                shape = (ffn, d_model)
            elif "ffn/linear_1" in scope:
                shape = (d_model, ffn)
            elif "self_attention/linear_0" in scope:
                shape = (3 * d_model, d_model)
            elif "/attention/linear_1" in scope:  # cross-attention keys+values
                shape = (2 * d_model, d_model)
            else:
                shape = (d_model, d_model)
            arr = rng.normal(0, 1.0 / np.sqrt(shape[1]), shape)
        else:
            raise AssertionError(f"unexpected unset weight {name}")
        setattr(layer, attr, arr.astype(np.float32))

    model_spec.visit_spec(spec, fill)
    spec.register_source_vocabulary(words)
    spec.register_target_vocabulary(words)
    spec.validate()
    spec.optimize(quantization=quantization)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    spec.save(str(out_dir))
    return Path(out_dir)


def sample_examples(n: int = 72) -> list[Example]:
    """``n`` English examples with spans: the bundled sample sentences, repeated with new ids."""
    from workbench.load import read

    root = Path(__file__).resolve().parents[1]
    base = list(read(root / "data" / "sample-en.conll", lang="en"))
    out = []
    for i in range(n):
        ex = base[i % len(base)]
        out.append(Example(id=f"s{i:04d}", text=ex.text, offsets=ex.offsets, spans=ex.spans,
                           lang="en", split=ex.split, meta={"n": i}))
    return out


@dataclass
class ReportingWorker(CT2GreedyWorker):
    """A CT2GreedyWorker that logs ``pid`` at start and ``pid shard-first-id`` per call into
    ``log`` (one line per event) and sleeps ``delay`` seconds per call (to be killable)."""

    log: str = ""
    delay: float = 0.0
    tag: str = "run"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._note(f"start {os.getpid()}")

    def _note(self, line: str) -> None:
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{self.tag} {line}\n")

    def __call__(self, batch: list[Example]) -> list[Example]:
        self._note(f"begin {os.getpid()} {batch[0].id}")
        if self.delay:
            time.sleep(self.delay)
        out = super().__call__(batch)
        self._note(f"end {os.getpid()} {batch[0].id}")
        return out


@dataclass
class FailingWorker(CT2GreedyWorker):
    """Raises on every shard containing example ``poison``."""

    poison: str = ""

    def __call__(self, batch: list[Example]) -> list[Example]:
        if any(ex.id == self.poison for ex in batch):
            raise RuntimeError(f"cannot translate {self.poison}")
        return super().__call__(batch)


@dataclass
class DroppingWorker(CT2GreedyWorker):
    """Drops the last example of every shard (a broken worker the executor must catch)."""

    def __call__(self, batch: list[Example]) -> list[Example]:
        return super().__call__(batch)[:-1]


# -- pytest fixtures (import them into a test module to use them) ---------------------------------
import functools  # noqa: E402

import pytest  # noqa: E402

N_EXAMPLES = 72
SHARD_SIZE = 6


@pytest.fixture(scope="session")
def dist_examples() -> list[Example]:
    return sample_examples(N_EXAMPLES)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, dist_examples: list[Example]) -> Path:
    vocab = sorted({t for ex in dist_examples for t in ex.tokens})
    return random_transformer(tmp_path_factory.mktemp("ct2") / "tiny", vocab)


def worker_kwargs(model: Path) -> dict:
    """Deterministic settings shared by every run that must produce the same content."""
    return {"model_dir": str(model), "tgt_lang": "de", "max_decoding_length": 12,
            "compute_type": "float32", "threads": 1}


@pytest.fixture(scope="session")
def tiny_factory(tiny_model: Path) -> functools.partial:
    return functools.partial(CT2GreedyWorker, **worker_kwargs(tiny_model))


@dataclass
class DyingWorker(CT2GreedyWorker):
    """Its process dies (``os._exit``) on every shard containing example ``poison``."""

    poison: str = ""

    def __call__(self, batch: list[Example]) -> list[Example]:
        if any(ex.id == self.poison for ex in batch):
            os._exit(3)
        return super().__call__(batch)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray with 2 CPUs for the whole session; yields its GCS address (for other drivers).
    Workers get the repository on PYTHONPATH, so test workers defined here import there."""
    ray = pytest.importorskip("ray")
    from workbench.executors import ExecutorOptions
    from workbench.executors.ray import ray_init_kwargs

    if ray.is_initialized():
        ray.shutdown()
    root = Path(__file__).resolve().parents[1]
    path = os.pathsep.join(p for p in [str(root), os.environ.get("PYTHONPATH", "")] if p)
    opts = ExecutorOptions(executor="ray", runtime_env={"env_vars": {"PYTHONPATH": path}})
    ray.init(num_cpus=2, **ray_init_kwargs(opts))
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
