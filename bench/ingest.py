"""Ingest throughput and peak memory: UNER EWT dev replicated to 20k and 200k sentences.

Each ingest runs in a fresh subprocess (so peak RSS is that ingest's alone, read from the
child's rusage). Ingest streams in batches, so peak memory must not grow with the corpus: the
run fails (exit 1) when peak RSS at 200k exceeds 1.5x the peak at 20k.

    python bench/ingest.py [--sizes 20000 200000] [--keep DIR]

Skips (exit 0, with a message) when ../shared is absent.

What remains of the growth is DuckDB filling one table row group (122,880 rows) in memory before
writing it out: a 20k ingest never fills one, larger ones plateau (measured: inserting 200k and
800k staged rows peaked at 177 and 187 MiB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_RSS_RATIO = 1.5

CHILD = """
import sys, time
from workbench.load.ingest import ingest
from workbench.store.store import Store
src, db = sys.argv[1], sys.argv[2]
t = time.perf_counter()
v = ingest(src, name="bench", store=Store(db), lang="en", tag_column=2, token_column=1)
print(v.n_examples, v.n_spans, time.perf_counter() - t)
"""


def shared_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_SHARED", ROOT.parent / "shared"))


def sentences(path: Path) -> list[list[str]]:
    """Sentence blocks (comment and token lines) of a CoNLL-U style file."""
    blocks, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            cur.append(line)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def replicate(blocks: list[list[str]], n: int, out: Path) -> Path:
    """``n`` sentences cycling through ``blocks``, each copy with a unique ``# sent_id``."""
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            block = blocks[i % len(blocks)]
            copy = i // len(blocks)
            for line in block:
                if line.startswith("# sent_id = "):
                    line = f"{line}-r{copy}"
                fh.write(line + "\n")
            fh.write("\n")
    return out


def run_child(src: Path, db: Path) -> tuple[int, int, float, float]:
    """(examples, spans, seconds, peak RSS in MiB) of one ingest in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(db)], env=env,
                                stdout=out, stderr=err)
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN is a max over all children)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"ingest of {src} failed ({proc.returncode}):\n{err.read().decode()}")
        n_ex, n_sp, secs = out.read().decode().split()
    return int(n_ex), int(n_sp), float(secs), usage.ru_maxrss / 1024  # Linux: KiB


def breakdown(src: Path) -> None:
    """Throughput of the ingest's parts on one file, in this process: where the time goes."""
    sys.path.insert(0, str(ROOT))
    from workbench.load import read_conll
    from workbench.store.store import examples_from_arrow, examples_to_arrow

    t = time.perf_counter()
    exs = list(read_conll(src, tag_column=2, token_column=1))
    parts = [("read_conll (parse, tags -> spans)", time.perf_counter() - t)]
    t = time.perf_counter()
    for ex in exs:
        ex.validate()
    parts.append(("Example.validate", time.perf_counter() - t))
    examples_from_arrow(examples_to_arrow(exs[:100]))  # warm up (first calls initialise pyarrow)
    t = time.perf_counter()
    tbl = examples_to_arrow(exs)
    parts.append(("examples_to_arrow", time.perf_counter() - t))
    t = time.perf_counter()
    examples_from_arrow(tbl)
    parts.append(("examples_from_arrow (reading back)", time.perf_counter() - t))
    for name, secs in parts:
        print(f"  {name:<36} {len(exs) / secs:>10,.0f} sentences/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs=2, default=[20_000, 200_000])
    ap.add_argument("--keep", type=Path, help="keep generated files and databases here")
    args = ap.parse_args()
    src = shared_dir() / "data" / "uner-en-ewt" / "en_ewt-ud-dev.iob2"
    if not src.exists():
        print(f"SKIP bench/ingest.py: {src} not found (a user checkout has no ../shared; "
              "set WORKBENCH_SHARED)")
        return 0
    blocks = sentences(src)
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for n in args.sizes:
            t = time.perf_counter()
            f = replicate(blocks, n, work / f"uner-{n}.iob2")
            gen = time.perf_counter() - t
            db = work / f"bench-{n}.duckdb"
            db.unlink(missing_ok=True)
            n_ex, n_sp, secs, rss = run_child(f, db)
            assert n_ex == n, (n_ex, n)
            rows.append((n, n_sp, secs, rss, f.stat().st_size / 2**20, db.stat().st_size / 2**20))
            print(f"generated {n:,} sentences ({rows[-1][4]:.0f} MiB) in {gen:.1f}s", file=sys.stderr)
        print(f"{'sentences':>10} {'spans':>8} {'seconds':>8} {'sent/s':>8} {'peak RSS MiB':>13} "
              f"{'file MiB':>9} {'db MiB':>7}")
        for n, n_sp, secs, rss, fsize, dbsize in rows:
            print(f"{n:>10,} {n_sp:>8,} {secs:>8.1f} {n / secs:>8,.0f} {rss:>13.0f} {fsize:>9.0f} "
                  f"{dbsize:>7.0f}")
        (n1, _, s1, r1, *_), (n2, _, s2, r2, *_) = rows
        ratio = r2 / r1
        print(f"peak RSS ratio {n2:,}/{n1:,}: {ratio:.2f} (must be <= {MAX_RSS_RATIO}); "
              f"throughput ratio: {(n2 / s2) / (n1 / s1):.2f}")
        print(f"parts, on {rows[0][0]:,} sentences:")
        breakdown(work / f"uner-{args.sizes[0]}.iob2")
        if ratio > MAX_RSS_RATIO:
            print("FAIL: peak memory grows with the corpus (ingest is not streaming)")
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
