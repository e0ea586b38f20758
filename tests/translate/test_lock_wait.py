"""No computed work is lost to a lock: while another process holds the store (a long read), cache
flushes keep their rows and retry, and the final commit waits for the lock, saying so."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import StoreLockedError
from workbench.load import ingest
from workbench.store import store as store_mod
from workbench.translate import CACHE_TABLE, TranslateOptions, translate

HOLD = 3.0


def _hold(db, seconds: float) -> subprocess.Popen:
    code = ("import duckdb, sys, time\n"
            f"c = duckdb.connect({str(db)!r}, read_only=True)\n"
            "c.execute('SELECT count(*) FROM examples').fetchall()\n"
            "print('held', flush=True)\n"
            f"time.sleep({seconds})\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_long_read_delays_the_commit_and_loses_nothing(store, sample_conll, ct2_models, monkeypatch):  # noqa: F811
    monkeypatch.setattr(store_mod, "WAIT_REPORT_SECONDS", 0.5)
    src = ingest(sample_conll, name="s", lang="en", store=store)
    said: list[str] = []
    store.on_wait = said.append
    reader = _hold(store.path, HOLD)
    t0 = time.monotonic()
    try:
        (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                         options=TranslateOptions(max_decoding_length=6, beam_size=1, read_chunk=8,
                                                  flush_every=4, flush_seconds=0.0))
    finally:
        reader.wait(30)
    assert time.monotonic() - t0 >= HOLD * 0.8  # it waited for the reader instead of failing
    assert v.n_examples == src.n_examples
    assert store.sql(f"SELECT count(DISTINCT key) AS n FROM {CACHE_TABLE}").to_pylist()[0]["n"] == src.n_examples
    assert said and all("waiting for the store lock held by" in m for m in said)


def test_a_bounded_commit_wait_gives_up_clearly(store, sample_conll, ct2_models):  # noqa: F811
    src = ingest(sample_conll, name="s", lang="en", store=store)
    store.commit_timeout = 0.5
    reader = _hold(store.path, HOLD)
    try:
        with pytest.raises(StoreLockedError, match="gave up after 0.5s"):
            translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                      options=TranslateOptions(max_decoding_length=6, beam_size=1))
    finally:
        reader.wait(30)
    assert [x.ref for x in store.versions()] == ["s@1"]
    # nothing half-stored; once the reader is gone a rerun makes the version
    (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(max_decoding_length=6, beam_size=1))
    assert v.n_examples == src.n_examples
