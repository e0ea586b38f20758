"""The translate and project shard workers give the same versions as the local stages."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from workbench.core.signature import Signature
from workbench.executors import ExecutorOptions, run_stage
from workbench.project.sharded import ProjectWorker
from workbench.translate.sharded import TranslateWorker

translate_mod = pytest.importorskip("workbench.translate.stage")
tf = pytest.importorskip("tests.fixtures.translate")

ROOT = Path(__file__).resolve().parents[2]
hf_models, ct2_models, model_home = tf.hf_models, tf.ct2_models, tf.model_home
DECODING = dict(max_decoding_length=8, beam_size=1)


def _content(store, v):
    return store.to_arrow(v).drop_columns(["idx"])


def _same_translations(store, a, b):
    """Equal versions, but for float scores in the last digits: CTranslate2's float32 scores move
    with the shape of the batch a sentence lands in (shards batch differently from the stage)."""
    x, y = _content(store, a), _content(store, b)
    if x.drop_columns(["meta"]).equals(y.drop_columns(["meta"])) is not True:
        return False
    import json

    for m, n in zip(x.column("meta").to_pylist(), y.column("meta").to_pylist(), strict=True):
        m, n = json.loads(m), json.loads(n)
        if m.keys() != n.keys() or any(
                m[k] != (pytest.approx(v, rel=1e-4) if isinstance(v, float) else v) for k, v in n.items()):
            return False
    return True


@pytest.fixture
def src(store):
    from workbench.load.ingest import ingest

    return ingest(ROOT / "data" / "sample-en.conll", name="sample-en", store=store, lang="en")


def _translated(store, src, model, executor="local"):
    opts = translate_mod.TranslateOptions(**DECODING)
    local, = translate_mod.translate(src, model=model, src_lang="en", tgt_langs="de", store=store, options=opts)
    worker = functools.partial(TranslateWorker, model, "en", "de", opts)
    dist = run_stage(store, store.examples(src), worker, corpus="sample-en.de.dist", stage="translate",
                     signature=Signature("translate", {"case": f"dist-{executor}"}), parents=[src],
                     lang="de", options=ExecutorOptions(executor, workers=2, shard_size=7))
    return local, dist


def test_translate_worker_matches_the_local_stage(store, src, ct2_models):
    local, dist = _translated(store, src, str(ct2_models["nllb"]))
    assert _same_translations(store, dist, local)


@pytest.mark.ray
def test_translate_worker_on_ray_matches_the_local_stage(ray_cluster, store, src, ct2_models):
    local, dist = _translated(store, src, str(ct2_models["marian"]), executor="ray")
    assert _same_translations(store, dist, local)


def _same_index_projector():
    """A deterministic projector (eflomal samples from /dev/urandom, so two runs differ)."""
    from projectors import PROJECTORS, register
    from projectors.base import ProjectedSpan, Projection, Projector

    if "test.same-index.v1" not in PROJECTORS:

        @register("test.same-index.v1")
        class SameIndex(Projector):
            def _project_batch(self, pairs):
                out = []
                for p in pairs:
                    spans = []
                    for i, (s, e, lab) in enumerate(p.spans):
                        if e <= len(p.tgt_tokens):
                            spans.append(ProjectedSpan(i, lab, "projected", s, e, 0.5))
                        else:
                            spans.append(ProjectedSpan(i, lab, "dropped", reason="past the end"))
                    out.append(Projection(spans))
                return out

    return "test.same-index.v1"


def test_project_worker_matches_the_local_stage(store, src, ct2_models):
    project = pytest.importorskip("workbench.project.stage").project
    name = _same_index_projector()
    translated, _ = _translated(store, src, str(ct2_models["nllb"]))
    local = project(translated, store=store, projector=name)
    by_id = {ex.id: ex for ex in store.examples(src)}
    pairs = ((by_id[t.id], t) for t in store.examples(translated))
    dist = run_stage(store, pairs, functools.partial(ProjectWorker, name), corpus="sample-en.de.proj",
                     stage="project", signature=Signature("project", {"case": "dist"}),
                     parents=[translated, src], lang="de", options=ExecutorOptions(shard_size=5))
    assert local.n_spans > 0 and dist.n_spans == local.n_spans
    assert _content(store, dist).equals(_content(store, local))
