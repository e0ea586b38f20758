"""A full disk: a write reports success if and only if its version is stored.

DuckDB syncs a commit to the write-ahead log before it returns and checkpoints the log into the
store file when the file is detached; on a nearly full disk the checkpoint can fail after the
commit succeeded. Swept over free-space levels on a small tmpfs, each ingest either fails and
stores nothing, or succeeds (with a warning when only the checkpoint failed) and is stored, and a
retry never stores the same input twice. Skipped where the test cannot mount a tmpfs (not root).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from workbench.core.errors import StoreError, StoreWarning
from workbench.load.ingest import ingest
from workbench.store.store import Store

SIZE_KB = 8192


@contextlib.contextmanager
def tmpfs(path: Path, size_kb: int) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}): run as root "
                    "to test a full disk")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _conll(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(f"# sent_id = s{i}\n" + "".join(
                f"w{(i * 31 + j * 7919) % 100003}\t{'B-PER' if j == 3 else 'O'}\n" for j in range(12)) + "\n")
    return path


def _free_kb(path: Path) -> int:
    return shutil.disk_usage(path).free // 1024


def _fill(mnt: Path, free_kb: int) -> None:
    """Leave about ``free_kb`` free on the mount."""
    with (mnt / "fill").open("wb") as f:
        f.write(b"\0" * max(_free_kb(mnt) - free_kb, 0) * 1024)


def _stored(db: Path, corpus: str) -> list[int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT v.number, v.n_examples, count(e.idx) FROM versions v LEFT JOIN "
                           "examples e ON e.version_id = v.id WHERE v.corpus = ? GROUP BY ALL ORDER BY 1",
                           [corpus]).fetchall()
    finally:
        con.close()
    assert all(n == rows_ for _, n, rows_ in rows), f"half-written version: {rows}"
    return [r[0] for r in rows]


def test_a_full_disk_reports_exactly_what_was_stored(tmp_path: Path) -> None:
    small, big = _conll(tmp_path / "small.conll", 40), _conll(tmp_path / "big.conll", 4000)
    template = tmp_path / "template.duckdb"
    ingest(small, name="small", lang="en", store=Store(template))
    mnt = tmp_path / "mnt"
    outcomes: dict[str, int] = {"failed": 0, "stored": 0, "stored after a failed checkpoint": 0}
    with tmpfs(mnt, SIZE_KB):
        for free in range(200, 4000, 300):  # KB left free: from "the commit fails" to "it fits"
            for p in mnt.iterdir():
                p.unlink()
            shutil.copy(template, mnt / "wb.duckdb")
            _fill(mnt, free)
            store = Store(mnt / "wb.duckdb", commit_timeout=5)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    v = ingest(big, name="big", lang="en", store=store)
                    ok = True
                except StoreError as exc:
                    assert "disk has space" in str(exc), exc
                    ok = False
            ckpt = [w for w in caught if issubclass(w.category, StoreWarning)]
            # nothing half-written beside the store (staging files are removed either way)
            assert sorted(p.name for p in mnt.iterdir() if p.name.startswith(".wb-")) == []
            stored_full = _stored(mnt / "wb.duckdb", "big")  # read while the disk is still full
            (mnt / "fill").unlink()
            stored = _stored(mnt / "wb.duckdb", "big")
            assert stored == stored_full
            assert ok == (stored == [1]), f"{free} KB free: reported {'success' if ok else 'failure'}, stored {stored}"
            assert stored in ([], [1])
            if ok:
                assert v.ref == "big@1" and v.n_examples == 4000
                outcomes["stored after a failed checkpoint" if ckpt else "stored"] += 1
                assert all("wb.duckdb.wal" in str(w.message) for w in ckpt)
            else:
                outcomes["failed"] += 1
                assert not ckpt
            # the retry (space freed) stores the version once, or finds the one stored
            again = ingest(big, name="big", lang="en", store=Store(mnt / "wb.duckdb"))
            assert again.ref == "big@1" and _stored(mnt / "wb.duckdb", "big") == [1]
            assert _stored(mnt / "wb.duckdb", "small") == [1]
    # the sweep reached each of the three outcomes (else it tested less than it claims)
    assert all(outcomes.values()), outcomes
