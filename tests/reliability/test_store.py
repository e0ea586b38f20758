"""Crash safety and locking of the store, with real processes.

* A process SIGKILLed while staging, inside the write transaction or around its commit leaves
  the database holding the whole version or none of it; earlier versions stay intact and the
  file opens fine.
* While one process holds the write connection, ``workbench sql`` in another retries and
  succeeds once it is released, or fails with a clear lock error under a tiny timeout.
* A long consumer of ``store.examples()`` holds no lock between batches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from workbench.load.ingest import ingest
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def spawn(code: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env={**ENV, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(cond, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"child exited early ({proc.returncode}): {out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def big_conll(path: Path, n: int) -> Path:
    words = ["Ada", "Lovelace", "visited", "the", "Royal", "Society", "in", "London", "."]
    tags = ["B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC", "O"]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(f"# sent_id = big-{i}\n")
            fh.write("".join(f"{w}\t{t}\n" for w, t in zip(words, tags, strict=True)) + "\n")
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return big_conll(tmp_path_factory.mktemp("big") / "big.conll", 40_000)


@pytest.fixture
def base(store, sample_conll):
    """A store holding base@1; returns a checker of the all-or-nothing invariant."""
    v1 = ingest(sample_conll, name="base", store=store)
    before = list(store.examples(v1))

    def check() -> list[str]:
        # the file opens read-only and read-write (replaying any WAL) and is consistent
        con = duckdb.connect(str(store.path), read_only=True)
        con.close()
        with store.connect(read_only=False) as con:
            con.execute("SELECT 1")
        vs = store.versions()
        assert vs[0].ref == "base@1"
        assert list(store.examples("base@1")) == before
        rows = {r["v"]: r["n"] for r in store.sql(
            "SELECT version_id AS v, count(*) AS n FROM examples GROUP BY 1").to_pylist()}
        assert rows == {v.id: v.n_examples for v in vs}, "orphan or missing example rows"
        return [v.ref for v in vs]

    return check


INGEST_WITH_HOOK = """
    import sys, time
    from pathlib import Path
    from workbench.load import read_conll
    from workbench.store.store import Store
    db, src, flag, pause = {args}
    def hook(con, vid):
        Path(flag).touch()
        time.sleep(float(pause))
    Store(db).write_version(read_conll(src), corpus="big", stage="ingest", signature="s",
                            on_commit=hook)
"""


def test_sigkill_during_staging(store, base, big) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "ingest", str(big), "--name", "big",
                             "--db", str(store.path)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staged = lambda: [p for p in store.path.parent.glob(".wb-stage-*/examples.parquet")  # noqa: E731
                      if p.stat().st_size > 0]
    wait_for(lambda: bool(staged()), proc)
    kill(proc)
    assert base() == ["base@1"]
    leftover = list(store.path.parent.glob(".wb-stage-*"))
    assert leftover, "the killed process left its staging folder"
    # the next write cleans the dead process's staging folder and numbers on from @1
    v = ingest(ROOT / "data" / "sample-en.conll", name="base", store=store, force=True)
    assert v.ref == "base@2"
    assert not any(p.exists() for p in leftover)
    assert base() == ["base@1", "base@2"]


def test_sigkill_inside_write_transaction(store, base, big, tmp_path) -> None:
    flag = tmp_path / "in-transaction"
    code = INGEST_WITH_HOOK.format(args=repr((str(store.path), str(big), str(flag), "60")))
    proc = spawn(code)
    wait_for(flag.exists, proc)  # examples and version row inserted, not committed
    kill(proc)
    assert base() == ["base@1"]
    v = ingest(ROOT / "data" / "sample-en.conll", name="big", store=store)
    assert v.ref == "big@1"


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.1, 0.3])
def test_sigkill_around_commit(store, base, big, tmp_path, delay) -> None:
    """Killed at several points after the transaction's last statement: during COMMIT (WAL or
    checkpoint writes) or just after it. Either outcome is fine; a half version is not."""
    flag = tmp_path / "committing"
    code = INGEST_WITH_HOOK.format(args=repr((str(store.path), str(big), str(flag), "0")))
    proc = spawn(code)
    wait_for(flag.exists, proc)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode in (0, -signal.SIGKILL)  # it may have finished in between
    refs = base()
    assert refs in (["base@1"], ["base@1", "big@1"])
    if refs[-1] == "big@1":
        assert Store(store.path).resolve("big@1").n_examples == 40_000


HOLD_WRITE = """
    import sys, time
    from pathlib import Path
    from workbench.store.store import Store
    db, flag, seconds = {args}
    with Store(db).connect(read_only=False) as con:
        Path(flag).touch()
        time.sleep(float(seconds))
        Path(flag + ".released").touch()
"""


def workbench(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], env={**ENV, **env},
                          capture_output=True, text=True, timeout=120)


def test_sql_waits_for_the_write_lock(store, base, tmp_path) -> None:
    flag = tmp_path / "holding"
    holder = spawn(HOLD_WRITE.format(args=repr((str(store.path), str(flag), "2"))))
    wait_for(flag.exists, holder)
    r = workbench("sql", "SELECT count(*) AS n FROM versions", "-o", "json", "--db", str(store.path),
                  WORKBENCH_LOCK_TIMEOUT="60")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[{"n": 1}]'
    assert Path(str(flag) + ".released").exists(), "sql answered while the writer held the file"
    holder.communicate(timeout=30)


def test_sql_with_tiny_lock_timeout_names_the_lock(store, base, tmp_path) -> None:
    flag = tmp_path / "holding"
    holder = spawn(HOLD_WRITE.format(args=repr((str(store.path), str(flag), "30"))))
    try:
        wait_for(flag.exists, holder)
        r = workbench("sql", "SELECT 1", "--db", str(store.path), WORKBENCH_LOCK_TIMEOUT="0.2")
        # a second writer: the same clear error, and nothing written
        w = workbench("ingest", str(ROOT / "data" / "sample-en.conll"), "--name", "base",
                      "--db", str(store.path), WORKBENCH_LOCK_TIMEOUT="0.2")
    finally:
        kill(holder)
    for res in (r, w):
        assert res.returncode == 1
        assert res.stderr.startswith("error: the DuckDB lock on")
        assert f"held by process {holder.pid}" in res.stderr
        assert "WORKBENCH_LOCK_TIMEOUT" in res.stderr and "Traceback" not in res.stderr
    assert base() == ["base@1"]
    assert not list(store.path.parent.glob(".wb-stage-*"))


SLOW_CONSUMER = """
    import sys, time
    from pathlib import Path
    from workbench.store.store import Store
    db, flag = {args}
    n = 0
    for i, ex in enumerate(Store(db).examples("base@1", batch_size=4)):
        n += 1
        if i == 5:  # mid-iteration, between batches: wait until the parent says go
            Path(flag).touch()
            while not Path(flag + ".go").exists():
                time.sleep(0.01)
    Path(flag + ".done").write_text(str(n))
"""


def test_slow_consumer_holds_no_lock_between_batches(store, base, tmp_path, sample_conll) -> None:
    flag = tmp_path / "consuming"
    consumer = spawn(SLOW_CONSUMER.format(args=repr((str(store.path), str(flag)))))
    try:
        wait_for(flag.exists, consumer)
        # while the consumer is mid-iteration, a writer and a reader in other processes get through
        r = workbench("ingest", str(sample_conll), "--name", "other", "--db", str(store.path),
                      WORKBENCH_LOCK_TIMEOUT="5")
        assert r.returncode == 0, r.stderr
        r2 = workbench("sql", "SELECT count(*) AS n FROM versions", "-o", "csv", "--db",
                       str(store.path), WORKBENCH_LOCK_TIMEOUT="5")
        assert r2.returncode == 0 and r2.stdout.splitlines() == ['"n"', "2"], r2.stderr
        assert consumer.poll() is None and not Path(str(flag) + ".done").exists()
    finally:
        Path(str(flag) + ".go").touch()
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    assert Path(str(flag) + ".done").read_text() == "36"
    assert base() == ["base@1", "other@1"]
