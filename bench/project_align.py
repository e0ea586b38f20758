"""Benchmark of alignment-based projection (issues 4 and 14).

1. Span F1 on BOTH dev sets, per language, mean and spread (max - min) over ``--repeats`` runs
   (eflomal samples from /dev/urandom, no seed): europarl-ner-dev en -> de/es/it and uner-pud-dev
   en -> de/pt/ru/sv/zh (English gold projected onto the other side's tokens, exact-span F1 against
   that language's gold), for the default projector, the previous default (``--compare``) and a
   baseline (one eflomal run, intersection, plain hull of the aligned tokens).
2. Speed and memory, whole process: the default projector on ``--pairs`` sentence pairs against
   ``eflomal.Aligner().align(...)`` with its defaults on the same pairs, each in its own subprocess,
   alternating (the machine is shared: compare within one run); pairs/s, the ratio, and the peak
   RSS of each process tree (Python and the eflomal binary it starts, sampled). ``--big`` adds
   100k pairs.
3. AER on the gold alignment sets (en-fr Hansards, ro-en), aligning only the test sentences.

Usage: python bench/project_align.py [--quick] [--repeats 3] [--pairs 10000] [--big] [--compare]
       [--skip-f1] [--skip-speed] [--skip-aer]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT = "align.eflomal.v2"
PREVIOUS = "align.eflomal.v1"
PUBLISHED = "published (europarl avg de/es/it): fast_align 71, Mgiza 72, SimAlign 84, AWESOME-align 87, T-Projection 91"
BASELINE = dict(n_runs=1, prefix_lens=(0,), symmetrisation="intersection", span_gap=0, span_lexical=False,
                span_trim_punct=False, span_trim_foreign=False, span_grow=False)
BARS = "bars: europarl avg >= 88; every pud language >= 75 except zh >= 55"


# -- 1. F1 on both dev sets ----------------------------------------------------------------------
def bench_f1(repeats: int, compare: bool) -> None:
    import align_devsets as A

    from projectors import registry

    d = A.shared_data()
    sets = {name: A.read_set(d, name) for name in A.SETS}
    sizes = ", ".join(f"{name} {len(data['en'])} sentences" for name, data in sets.items())
    print(f"== span F1 on both dev sets ({sizes}); mean [max-min spread] over {repeats} run(s)")
    rows = [(f"default {DEFAULT}", DEFAULT, {})]
    if compare:
        rows.append((f"previous {PREVIOUS}", PREVIOUS, {}))
    rows.append(("baseline (1 run, plain hull)", PREVIOUS, BASELINE))
    for label, name, opts in rows:
        t0 = time.perf_counter()
        res = A.table(lambda name=name, opts=opts: registry.get(name, **opts), sets, repeats)
        print(A.format_row(label, res) + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"{BARS}; {PUBLISHED}")


# -- 2. speed and memory, whole process ----------------------------------------------------------
def _tokens(path: Path) -> list[list[str]]:
    out, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            cur.append(line.split("\t")[0])
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _pairs(n: int):
    """``n`` en-de pairs: the europarl dev pairs replicated, English spans from its gold (a token
    whose tag is not O starts or continues a span; enough for timing)."""
    import align_devsets as A

    d = A.shared_data() / "europarl-ner-dev"
    src, tgt = _tokens(d / "en.conll"), _tokens(d / "de.conll")
    tags = [[ln.split("\t")[-1] for ln in block.splitlines()]
            for block in (d / "en.conll").read_text(encoding="utf-8").strip().split("\n\n")]
    spans = []
    for tg in tags:
        sp = []
        for i, t in enumerate(tg):
            if t.startswith("B-") or (t.startswith("I-") and not sp):
                sp.append([i, i + 1, t[2:]])
            elif t.startswith("I-"):
                sp[-1][1] = i + 1
        spans.append([tuple(x) for x in sp])
    return [(src[k % len(src)], tgt[k % len(tgt)], spans[k % len(spans)]) for k in range(n)]


def worker(kind: str, n: int) -> None:
    """One measured process: ``eflomal`` (the package, its defaults) or ``default`` (our projector)."""
    pairs = _pairs(n)
    if kind == "eflomal":
        import eflomal

        with tempfile.TemporaryDirectory() as tmp:
            eflomal.Aligner().align([" ".join(s) for s, _, _ in pairs], [" ".join(t) for _, t, _ in pairs],
                                    links_filename_fwd=f"{tmp}/fwd", links_filename_rev=f"{tmp}/rev")
    else:
        from projectors import registry
        from projectors.base import Pair

        out = registry.get(DEFAULT).project([Pair(s, t, sp) for s, t, sp in pairs])
        assert len(out) == n


def _measure(kind: str, n: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, the process tree summed, sampled every 20 ms) of a worker."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", kind, "--pairs", str(n)])
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    dt = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"worker {kind} failed with exit status {proc.returncode}")
    return dt, peak / 2**20


def bench_speed(sizes: list[int], rounds: int) -> None:
    for n in sizes:
        print(f"== speed and memory on {n} en-de pairs (europarl pairs replicated), whole process, "
              f"{rounds} alternating round(s)")
        res: dict[str, list[tuple[float, float]]] = {"eflomal": [], "default": []}
        for _ in range(rounds):
            for kind in ("eflomal", "default"):
                res[kind].append(_measure(kind, n))
        for kind, label in (("eflomal", "eflomal.Aligner().align (defaults)"), ("default", DEFAULT)):
            dts = [dt for dt, _ in res[kind]]
            peaks = [pk for _, pk in res[kind]]
            print(f"{label:36s} {n / statistics.mean(dts):8.1f} pairs/s  ({', '.join(f'{x:.1f}' for x in dts)} s)"
                  f"  peak RSS {max(peaks):6.0f} MB", flush=True)
        ratios = [res["eflomal"][r][0] / res["default"][r][0] for r in range(rounds)]
        mem = max(pk for _, pk in res["default"]) / max(pk for _, pk in res["eflomal"])
        print(f"default / eflomal speed ratio {statistics.mean(ratios):.2f} (per round "
              f"{', '.join(f'{x:.2f}' for x in ratios)}); peak memory ratio {mem:.2f} "
              "(targets: >= 0.5, memory <= 2)", flush=True)


# -- 3. AER --------------------------------------------------------------------------------------
def bench_aer() -> None:
    import align_devsets as A

    from projectors.eflomal_aligner import EflomalAligner
    from projectors.word_alignment import combine_runs, symmetrise
    from workbench.project.evaluate import alignment_scores, read_links_file

    d = A.shared_data()
    print("== AER on alignment-gold (statistical aligners trained ONLY on the test sentences, no extra "
          "parallel data; published eflomal figures used large extra data: en-fr 8.2, ro-en 25.1)")
    for name in ("enfr", "roen"):
        lines = (d / "alignment-gold" / f"{name}.src-tgt").read_text(encoding="utf-8").splitlines()
        src = [ln.split("|||")[0].split() for ln in lines]
        tgt = [ln.split("|||")[1].split() for ln in lines]
        sure, poss = read_links_file(d / "alignment-gold" / f"{name}.gold", one_indexed=True)
        runs = EflomalAligner().directional_runs(src, tgt)
        cells = []
        for sym in ("intersection", "grow-diag-final-and", "union"):
            single = [symmetrise(f, r, sym) for f, r in zip(runs[0][0], runs[0][1], strict=True)]
            comb = [{lk for lk, sc in links.items() if sc >= 0.5} for links in combine_runs(runs, sym)]
            a1 = alignment_scores(single, sure, poss).aer
            ak = alignment_scores(comb, sure, poss).aer
            cells.append(f"{sym}: 1 run {100 * a1:.1f} / {len(runs)} runs {100 * ak:.1f}")
        print(f"{name} ({len(src)} pairs)  " + "  ".join(cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat, 2,000 pairs, one round, no AER")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2, help="alternating speed rounds per size")
    ap.add_argument("--big", action="store_true", help="also 100k pairs (one round)")
    ap.add_argument("--compare", action="store_true", help=f"also the previous default {PREVIOUS} (slow)")
    ap.add_argument("--skip-f1", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-aer", action="store_true")
    ap.add_argument("--worker", choices=("eflomal", "default"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.pairs)
        return
    if args.quick:
        args.repeats, args.pairs, args.rounds, args.skip_aer = 1, 2_000, 1, True
    if not args.skip_f1:
        bench_f1(args.repeats, args.compare)
    if not args.skip_aer:
        bench_aer()
    if not args.skip_speed:
        bench_speed([args.pairs], args.rounds)
        if args.big:
            bench_speed([100_000], 1)


if __name__ == "__main__":
    main()
