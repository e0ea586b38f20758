"""The CUDA paths: the translate stage and SimAlign on a GPU (skipped without CUDA).

Run them alone, one at a time: ``pytest -m gpu -p no:randomly``. The same tiny random models as
the CPU tests; outputs on the GPU are compared with the CPU run of the same model and settings.
"""

from __future__ import annotations

import pytest

from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import ConfigError
from workbench.mt.device import resolve_device
from workbench.translate import TranslateOptions, translate


def _cuda_devices() -> int:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    except Exception:  # noqa: BLE001 - no CUDA build or driver: no GPU
        return 0


pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(_cuda_devices() == 0, reason="needs a CUDA device")]


@pytest.fixture
def src(store, sample_conll):
    from workbench.load.ingest import ingest

    return ingest(sample_conll, name="sample", store=store, lang="en")


def _texts(store, ref):
    return {ex.id: ex for batch in store.iter_batches(store.resolve(ref), 1000) for ex in batch}


def test_auto_device_is_cuda_with_int8_float16():
    device, ct, inter, intra = resolve_device(TranslateOptions())
    assert (device, ct, inter, intra) == ("cuda", "int8_float16", 1, 1)


def test_device_index_out_of_range_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"device index \[99\] out of range.*visible") as ei:
        resolve_device(TranslateOptions(device="cuda", device_index=[0, 99]))
    assert "--device-index" in ei.value.fix


def test_translate_on_cuda_matches_cpu(store, src, ct2_models):  # noqa: F811
    """float32 on both devices: the same model gives the same translations (random weights make
    near-ties possible, so a small share may differ; scores of equal outputs agree closely)."""
    common = dict(beam_size=4, max_decoding_length=12, compute_type="float32")
    gpu, = translate(src.ref, model=str(ct2_models["m2m100"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(device="cuda", name="gpu", **common))
    cpu, = translate(src.ref, model=str(ct2_models["m2m100"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(device="cpu", name="cpu", **common))
    g, c = _texts(store, gpu.ref), _texts(store, cpu.ref)
    assert g.keys() == c.keys() and len(g) == src.n_examples
    same = [k for k in g if g[k].text == c[k].text]
    assert len(same) >= 0.9 * len(g), f"only {len(same)}/{len(g)} GPU translations equal the CPU ones"
    for k in same:
        assert g[k].meta["mt_score"] == pytest.approx(c[k].meta["mt_score"], abs=1e-2, rel=1e-3)
    params = store.sql("SELECT params->>'device' AS d FROM versions WHERE corpus = 'gpu'").to_pylist()
    assert params == [{"d": "cuda"}]


def test_translate_on_cuda_auto_settings_and_cache(store, src, ct2_models):  # noqa: F811
    """Defaults on a GPU (auto device, int8_float16, 8192-token batches); a repeat is a cache hit."""
    opts = TranslateOptions(max_decoding_length=12)
    v1, = translate(src.ref, model=str(ct2_models["nllb"]), src_lang="en", tgt_langs="es", store=store,
                    options=opts)
    assert v1.n_examples == src.n_examples
    out = _texts(store, v1.ref)
    assert all(ex.text and ex.meta["mt_score"] < 0 for ex in out.values())
    sig = store.sql("SELECT signature FROM versions WHERE corpus = ?", [v1.corpus]).to_pylist()
    assert "int8_float16" in sig[0]["signature"]
    reports = []
    v2, = translate(src.ref, model=str(ct2_models["nllb"]), src_lang="en", tgt_langs="es", store=store,
                    options=TranslateOptions(max_decoding_length=12, name="again"), progress=reports.append)
    assert reports[-1].translated == 0 and reports[-1].cached == src.n_examples
    assert {k: e.text for k, e in _texts(store, v2.ref).items()} == {k: e.text for k, e in out.items()}


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.fixtures.simalign import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_simalign_on_cuda_matches_cpu(tiny_bert):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    from projectors.simalign import SimAligner

    src = [["Anna", "visited", "Paris", "today", "."], ["the", "European", "Parliament", "met", "in", "Berlin"]]
    tgt = [["Anna", "besuchte", "Paris", "heute", "."], ["das", "Parlament", "tagte", "in", "Berlin"]]
    on_gpu = SimAligner(model=tiny_bert, batch_size=2, device=None)  # None: the GPU when present
    gpu = on_gpu.align(src, tgt)
    cpu = SimAligner(model=tiny_bert, batch_size=2, device="cpu").align(src, tgt)
    assert on_gpu._device == "cuda"
    assert [set(a) for a in gpu] == [set(b) for b in cpu]
    for a, b in zip(gpu, cpu, strict=True):
        for link in a:
            assert a[link] == pytest.approx(b[link], abs=1e-3)
