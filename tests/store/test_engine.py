"""The store's connections: files attached to one in-process DuckDB instance per operation.

What must hold as with one DuckDB instance per operation: no lock is kept between operations
(other processes can read and write), stores never see each other's tables, threads and forked
children work, and a schema added by a newer version of the code reaches old files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from workbench.core.errors import RefError, StoreError, StoreLockedError
from workbench.core.records import Example
from workbench.load.ingest import ingest
from workbench.store import schema
from workbench.store.engine import ENGINE
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _other_process(code: str, db: Path) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(code).format(db=str(db))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_no_lock_is_held_between_operations(store, sample_conll) -> None:
    ingest(sample_conll, name="s", store=store)
    assert [v.ref for v in store.versions()] == ["s@1"]
    assert ENGINE.attached == {}, "every operation detaches the file"
    res = _other_process("""
        import duckdb
        con = duckdb.connect({db!r})  # read-write: needs the exclusive lock
        con.execute("INSERT INTO store_meta VALUES ('other', 'process')")
        con.close()
    """, store.path)
    assert res.returncode == 0, res.stderr
    assert store.sql("SELECT value FROM store_meta WHERE key = 'other'").to_pylist() == [
        {"value": "process"}]


def test_a_write_in_progress_locks_other_processes_out(store, sample_conll) -> None:
    ingest(sample_conll, name="s", store=store)
    with store.connect(read_only=False):
        res = _other_process("""
            import duckdb
            try:
                duckdb.connect({db!r}, read_only=True)
            except duckdb.IOException as exc:
                print("locked:", exc)
        """, store.path)
    assert "locked:" in res.stdout and "Could not set lock" in res.stdout


def test_stores_in_one_process_see_only_their_own_tables(tmp_path, sample_conll) -> None:
    a, b = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    ingest(sample_conll, name="only-in-a", store=a)
    with b.connect(read_only=False):
        pass  # b exists, with the schema and no version
    with a.connect():  # a attached while b is used
        assert b.versions() == []
        with pytest.raises(RefError, match="no version 'only-in-a'"):
            b.resolve("only-in-a")
        assert [v.ref for v in a.versions()] == ["only-in-a@1"]


def test_threads_share_the_instance(store, sample_conll) -> None:
    v = ingest(sample_conll, name="s", store=store)
    expected = list(store.examples(v))
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(20):
                assert list(store.examples(v)) == expected
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer(k: int) -> None:
        try:
            for i in range(3):
                exs = [Example.from_text(f"t{k}-{i}-{j}", f"text {j}") for j in range(5)]
                store.write_version(exs, corpus=f"w{k}", stage="ingest", signature=f"s{k}{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    threads += [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(v.ref for v in store.versions()) == ["s@1", "w0@1", "w0@2", "w0@3", "w1@1", "w1@2",
                                                       "w1@3"]
    assert ENGINE.attached == {}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_instance(store, sample_conll) -> None:
    ingest(sample_conll, name="s", store=store)
    assert store.versions()  # the parent's instance exists
    pid = os.fork()
    if pid == 0:  # the child: must not use the parent's DuckDB instance
        code = 1
        try:
            ok = [v.ref for v in store.versions()] == ["s@1"]
            store.write_version([Example.from_text("c", "child")], corpus="child", stage="ingest",
                                signature="c")
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [v.ref for v in store.versions()] == ["s@1", "child@1"]


def test_new_schema_statements_reach_an_existing_file(store, sample_conll, monkeypatch) -> None:
    ingest(sample_conll, name="s", store=store)
    side = "CREATE TABLE IF NOT EXISTS newer_side(k VARCHAR)"
    monkeypatch.setattr(schema, "DDL", [*schema.DDL, side])
    with store.connect(read_only=False) as con:
        con.execute("INSERT INTO newer_side VALUES ('x')")
    assert store.sql("SELECT k FROM newer_side").to_pylist() == [{"k": "x"}]


def test_a_write_inside_a_read_of_the_same_file_fails_at_once(tmp_path, sample_conll) -> None:
    store = Store(tmp_path / "wb.duckdb", lock_timeout=30)
    ingest(sample_conll, name="s", store=store)
    with store.connect():
        t = time.monotonic()
        with pytest.raises(StoreError, match="inside an unfinished read") as info:
            with store.connect(read_only=False):
                pass
        assert time.monotonic() - t < 5, "no waiting for a lock this thread holds"
    assert "finish reading first" in info.value.fix
    with store.connect(read_only=False):  # released: the write goes through now
        pass


def test_a_write_waits_for_another_threads_read(tmp_path, sample_conll) -> None:
    store = Store(tmp_path / "wb.duckdb", lock_timeout=0.3)
    ingest(sample_conll, name="s", store=store)
    reading, done = threading.Event(), threading.Event()

    def reader() -> None:
        with store.connect():
            reading.set()
            done.wait(10)

    th = threading.Thread(target=reader)
    th.start()
    reading.wait(10)
    try:
        with pytest.raises(StoreLockedError, match="held by this process.*another thread reads"):
            with store.connect(read_only=False):
                pass
    finally:
        done.set()
        th.join()
    with store.connect(read_only=False):
        pass
