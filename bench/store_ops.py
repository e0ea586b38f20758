"""Benchmark of one store operation: the store's attach-per-operation against opening the file
with a fresh ``duckdb.connect`` per operation (what the store did before), in the same run.

Measures, on a store holding one 300-example version: a read (``Store.resolve``), a write
operation (a read-write ``Store.connect`` with one insert), and the baseline: ``duckdb.connect``
of the file read-only plus the same query. Prints milliseconds per operation (median of
``--repeats`` rounds of ``--n`` operations) and the ratio baseline / store.

Run: python bench/store_ops.py   (a few seconds)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def per_op_ms(fn, n: int, repeats: int) -> float:
    rounds = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - t) / n * 1000)
    return statistics.median(rounds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30, help="operations per round")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import duckdb

    from workbench.core.records import Example
    from workbench.store.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.duckdb")
        store.write_version((Example.from_text(f"s{i}", f"text number {i} .") for i in range(300)),
                            corpus="bench", stage="ingest", signature="bench", lang="en")
        query = "SELECT * FROM versions WHERE corpus = ? ORDER BY number DESC LIMIT 1"

        def baseline() -> None:
            con = duckdb.connect(str(store.path), read_only=True)
            try:
                con.execute(query, ["bench"]).fetchall()
            finally:
                con.close()

        def write() -> None:
            with store.connect(read_only=False) as con:
                con.execute("INSERT OR REPLACE INTO store_meta VALUES ('bench', 'x')")

        base = per_op_ms(baseline, args.n, args.repeats)
        read = per_op_ms(lambda: store.resolve("bench"), args.n, args.repeats)
        wr = per_op_ms(write, args.n, args.repeats)
    print(f"baseline duckdb.connect + query: {base:.1f} ms per operation")
    print(f"store read (resolve):            {read:.1f} ms  ({base / read:.1f}x faster)")
    print(f"store write (insert, detach):    {wr:.1f} ms  ({base / wr:.1f}x faster than the read baseline)")


if __name__ == "__main__":
    main()
