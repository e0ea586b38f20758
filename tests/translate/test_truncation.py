"""Nothing cut silently: an output that reaches max_decoding_length without ending is flagged in
meta.mt_truncated (from the cache too) and counted; a decoding limit past the model's positions
is a clear error."""

from __future__ import annotations

import pytest

from tests.fixtures.translate import MAX_POSITIONS, ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import ConfigError
from workbench.load import ingest
from workbench.translate import TranslateOptions, translate


def test_outputs_cut_at_the_limit_are_flagged(store, sample_conll, ct2_models):  # noqa: F811
    src = ingest(sample_conll, name="s", lang="en", store=store)
    seen = []
    opts = TranslateOptions(max_decoding_length=4, beam_size=1)  # the random model never ends on its own
    (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=opts, progress=seen.append)
    flagged = [ex.meta.get("mt_truncated") for ex in store.examples(v)]
    assert all(flagged) and seen[-1].truncated >= len(flagged)
    # served from the cache under another name: still flagged
    (w,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(max_decoding_length=4, beam_size=1, name="again.{tgt}"))
    assert all(ex.meta.get("mt_truncated") for ex in store.examples(w))


def test_a_limit_past_the_models_positions_is_an_error(store, sample_conll, ct2_models):  # noqa: F811
    src = ingest(sample_conll, name="s", lang="en", store=store)
    with pytest.raises(ConfigError, match=f"more than the {MAX_POSITIONS} positions") as ei:
        translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                  options=TranslateOptions(max_decoding_length=MAX_POSITIONS + 1))
    assert f"--max-decoding-length {MAX_POSITIONS}" in ei.value.fix
