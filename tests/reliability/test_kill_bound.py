"""What a SIGKILLed translate loses, and how far resumed scores drift.

One translation is killed at 20 random moments, each run resuming from the cache the previous
one left, then finished. After every kill: no partial version, whole and unique cache rows, and
the newest cached translation at most ``--flush-seconds`` plus :data:`IN_FLIGHT` old (finished
translations are written at least every ``flush-seconds``, checked at the end of every batch: a
kill loses those and the batches in flight). The finished version has the texts of an
uninterrupted run, and its scores differ from that run's by at most :data:`DRIFT` (CTranslate2's
floats move in the last digits with the shape of the batch a sentence was translated in, and a
resumed run batches the missing sentences differently). README's Reliability section states both.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from tests.reliability.test_reliability import _env, check_store
from tests.reliability.test_stages import _query

pytestmark = pytest.mark.slow

N = 36_000  # sentences: more than 20 short runs translate (~1,200/s), so every kill lands mid-translation
KILLS = 20
FLUSH = 0.5  # --flush-seconds of the runs (the bound scales with it; 2 by default)
N_READ = 6000  # sentences of the read test: ~5 s of translation alone, so it ends inside the read
IN_FLIGHT = 1.0  # seconds: the batch in flight at the kill, the write itself, a loaded machine
# largest |score difference| to an uninterrupted run (README states it): measured 4e-6 and 1.3e-3 in two
# runs of 20 kills here (the issue saw 1.4e-3; scores are sums over up to 48 pieces, int8)
DRIFT = 5e-3


def _cache(db: Path) -> tuple[int, int, datetime | None]:
    return _query(db, "SELECT count(*), count(DISTINCT key), max(created_at) FROM translate_cache")[0]


def _conll(path: Path, n: int) -> Path:
    words = ["books", "maps", "tea", "rice", "shoes", "lamps", "coats", "pens"]
    with path.open("w") as f:
        for i in range(n):  # lengths vary, so batches differ in shape between runs
            tail = "".join(f"{words[(i + j) % 8]}\tO\n" for j in range(i % 7))
            f.write(f"# sent_id = m{i:05d}\nMaria\tB-PER\nsold\tO\n{i}\tO\n{tail}in\tO\n"
                    f"{['Paris', 'Lima', 'Accra'][i % 3]}\tB-LOC\n.\tO\n\n")
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, object]:
    pytest.importorskip("transformers", reason="building the test model needs workbench[convert]")
    pytest.importorskip("torch", reason="building the test model needs workbench[convert]")
    from tests.fixtures.translate import build_hf_model
    from workbench.load.ingest import ingest
    from workbench.mt.models import convert
    from workbench.store.store import Store

    d = tmp_path_factory.mktemp("killbound")
    model = convert(build_hf_model("nllb", d / "hf"), quantization="int8", home=d / "models")
    conll = _conll(d / "src.conll", N)
    pre = d / "pre.duckdb"
    ingest(conll, name="big", lang="en", store=Store(pre))
    # the read test's corpus: translated well within the read's 60 s, even on a loaded machine
    small = _conll(d / "small.conll", N_READ)
    pre_small = d / "pre-small.duckdb"
    ingest(small, name="big", lang="en", store=Store(pre_small))
    cmd = [sys.executable, "-m", "workbench", "translate", "big", "-m", str(model), "--src-lang", "en",
           "--tgt-lang", "de", "--device", "cpu", "--beam-size", "4", "--max-decoding-length", "48",
           "--flush-seconds", str(FLUSH), "-q"]
    ref = d / "ref.duckdb"
    shutil.copy(pre, ref)
    r = subprocess.run([*cmd, "--db", str(ref)], capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    return {"pre": pre, "pre_small": pre_small, "ref": ref, "cmd": cmd, "dir": d}


def _scores(db: Path) -> dict[str, tuple[str, float, float]]:
    rows = _query(db, "SELECT e.id, e.text, json_extract(e.meta, '$.mt_score')::DOUBLE, "
                      "json_extract(e.meta, '$.mt_avg_logprob')::DOUBLE FROM examples e JOIN versions v "
                      "ON v.id = e.version_id WHERE v.corpus = 'big.de'")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_sigkill_at_20_random_moments_loses_at_most_flush_seconds(setup) -> None:
    db = Path(setup["dir"]) / "work.duckdb"
    shutil.copy(setup["pre"], db)
    cmd = [*setup["cmd"], "--db", str(db)]
    rng = random.Random(20)
    gaps: list[float] = []
    while len(gaps) < KILLS:
        before = _cache(db)[0]
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # a random moment of the translation: after this run's first cache write, up to two
            # flush intervals later
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if _cache(db)[0] > before:
                        break
                except duckdb.Error:  # the translating process holds the lock this moment
                    pass
                time.sleep(0.1)
            assert proc.poll() is None, f"run {len(gaps) + 1} ended before the kill (N too small?)"
            time.sleep(rng.uniform(0, 2 * FLUSH))
            killed_at = datetime.now()
            proc.kill()
        finally:
            proc.kill()
            _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == -9, stderr
        check_store(db)  # whatever is stored is whole
        assert [r[0] for r in _query(db, "SELECT corpus FROM versions ORDER BY id")] == ["big"]
        n, distinct, newest = _cache(db)
        assert n == distinct < N and newest is not None
        gaps.append((killed_at - newest).total_seconds())
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    check_store(db)
    print(f"\nseconds of finished work lost at {KILLS} kills (flush-seconds {FLUSH}): "
          f"max {max(gaps):.2f}, median {sorted(gaps)[len(gaps) // 2]:.2f}")
    assert max(gaps) <= FLUSH + IN_FLIGHT, gaps
    got, want = _scores(db), _scores(Path(setup["ref"]))
    assert got.keys() == want.keys() and len(got) == N
    assert [k for k in want if got[k][0] != want[k][0]] == []  # the same texts
    drift = max(max(abs(got[k][1] - want[k][1]), abs(got[k][2] - want[k][2])) for k in want)
    print(f"largest score drift after {KILLS} kill-and-resume runs: {drift:.2e} (bound {DRIFT:.0e})")
    assert drift <= DRIFT


READ_SECONDS = 60.0


def test_a_60_second_read_during_a_translate_fails_nothing_and_loses_nothing(setup) -> None:
    """A reader holding the store for 60 s (a long ``workbench sql``; DuckDB's read lock blocks
    writers) while the translation runs: cache writes are retried, the final commit waits and
    says so, and the version and the cache hold every sentence."""
    db = Path(setup["dir"]) / "read.duckdb"
    shutil.copy(setup["pre_small"], db)
    proc = subprocess.Popen([*setup["cmd"], "--db", str(db)], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if _cache(db)[0] > 0:
                    break
            except duckdb.Error:
                pass
            time.sleep(0.1)
        assert proc.poll() is None, "the translation ended before the read began"
        code = ("import duckdb, sys, time\n"
                "for _ in range(200):  # the translation may be writing this moment: retry, as sql does\n"
                "    try:\n"
                f"        c = duckdb.connect({str(db)!r}, read_only=True)\n"
                "        break\n"
                "    except duckdb.IOException:\n"
                "        time.sleep(0.05)\n"
                "c.execute('SELECT count(*) FROM translate_cache').fetchall()\n"
                "print('reading', flush=True)\n"
                f"time.sleep({READ_SECONDS})\n")
        t0 = time.monotonic()
        reader = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert reader.returncode == 0 and "reading" in reader.stdout, reader.stderr
        assert time.monotonic() - t0 >= READ_SECONDS
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "waiting for the store lock held by" in err  # the commit waited, and said so
    check_store(db)
    assert _query(db, "SELECT corpus, n_examples FROM versions ORDER BY id") == [("big", N_READ), ("big.de", N_READ)]
    assert _cache(db)[:2] == (N_READ, N_READ)
