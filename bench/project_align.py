"""Benchmark of alignment-based projection (issue 4).

Prints, each against a baseline measured in the same run (eflomal, one run, intersection, plain
hull of the aligned tokens):

1. span F1 per language on ../shared/data/europarl-ner-dev (English gold spans projected onto the
   human de/es/it translations, exact-span match against their gold tags), over several repeats
   (eflomal samples from /dev/urandom: the spread is reported);
2. sentences/s of the default projector on 10k sentence pairs (europarl en-de pairs replicated);
3. AER on the gold alignment sets (en-fr Hansards, ro-en), aligning only the test sentences.

Usage: python bench/project_align.py [--repeats 3] [--pairs 10000] [--skip-speed] [--skip-aer]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from projectors.align_projector import EflomalProjector  # noqa: E402
from projectors.base import Pair  # noqa: E402
from projectors.eflomal_aligner import EflomalAligner  # noqa: E402
from projectors.word_alignment import combine_runs  # noqa: E402

LANGS = ("de", "es", "it")
PUBLISHED = "published (avg de/es/it): fast_align 71, Mgiza 72, SimAlign 84, AWESOME-align 87, T-Projection 91"
BASELINE = dict(n_runs=1, prefix_lens=(0,), symmetrisation="intersection", span_gap=0, span_lexical=False,
                span_trim_punct=False, span_trim_foreign=False, span_grow=False)


def shared() -> Path:
    import os

    d = Path(os.environ.get("WORKBENCH_SHARED", ROOT.parent / "shared")) / "data"
    if not d.is_dir():
        print(f"SKIP bench/project_align.py: shared data not found at {d} (a user checkout has no "
              "../shared; set WORKBENCH_SHARED)")
        sys.exit(0)
    return d


def load_europarl(d: Path) -> dict[str, list]:
    from workbench.core.records import RepairWarning
    from workbench.load import read_conll

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        return {lang: list(read_conll(d / "europarl-ner-dev" / f"{lang}.conll")) for lang in ("en",) + LANGS}


def f1_for(projector_opts: dict, data: dict, lang: str) -> float:
    from workbench.project.evaluate import span_scores

    src, tgt = data["en"], data[lang]
    pairs = [Pair(s.tokens, t.tokens, [(x.token_start, x.token_end, x.label) for x in s.spans])
             for s, t in zip(src, tgt, strict=True)]
    out = EflomalProjector(**projector_opts).project(pairs)
    pred = [[(p.token_start, p.token_end, p.label) for p in pr.spans if p.outcome == "projected"] for pr in out]
    gold = [[(x.token_start, x.token_end, x.label) for x in t.spans] for t in tgt]
    return 100 * span_scores(pred, gold).overall.f1


def bench_f1(data: dict, repeats: int) -> None:
    print(f"== span F1 on europarl-ner-dev (en -> de/es/it, {len(data['en'])} sentences), "
          f"{repeats} repeat(s) each")
    rows = {}
    for name, opts in (("baseline (1 run, intersection, plain hull)", BASELINE), ("default align.eflomal.v1", {})):
        per = {}
        for lang in LANGS:
            per[lang] = [f1_for(opts, data, lang) for _ in range(repeats)]
        rows[name] = per
        cells = "  ".join(
            f"{lang} {statistics.mean(v):5.1f} [{min(v):.1f}-{max(v):.1f}]" for lang, v in per.items())
        avg = statistics.mean(statistics.mean(v) for v in per.values())
        avgs = [statistics.mean(per[lang][r] for lang in LANGS) for r in range(repeats)]
        print(f"{name:45s} {cells}  avg {avg:5.2f} [{min(avgs):.2f}-{max(avgs):.2f}]", flush=True)
    base = statistics.mean(statistics.mean(v) for v in rows[next(iter(rows))].values())
    dflt = statistics.mean(statistics.mean(v) for v in rows["default align.eflomal.v1"].values())
    print(f"default vs baseline: {dflt - base:+.2f} F1 points; {PUBLISHED}")


def bench_speed(data: dict, n_pairs: int) -> None:
    src, tgt = data["en"], data["de"]
    base_pairs = [Pair(s.tokens, t.tokens, [(x.token_start, x.token_end, x.label) for x in s.spans])
                  for s, t in zip(src, tgt, strict=True)]
    pairs = [base_pairs[k % len(base_pairs)] for k in range(n_pairs)]
    print(f"== speed on {n_pairs} en-de pairs (europarl pairs replicated), one batch")
    res = {}
    for name, opts in (("baseline (1 run)", BASELINE), ("default align.eflomal.v1", {})):
        t0 = time.perf_counter()
        EflomalProjector(**opts).project(pairs)
        dt = time.perf_counter() - t0
        res[name] = n_pairs / dt
        print(f"{name:30s} {res[name]:8.1f} sentences/s  ({dt:.1f} s)", flush=True)
    print(f"default / baseline speed ratio: {res['default align.eflomal.v1'] / res['baseline (1 run)']:.2f}")


def bench_aer(d: Path) -> None:
    from projectors.word_alignment import symmetrise
    from workbench.project.evaluate import alignment_scores, read_links_file

    print("== AER on alignment-gold (statistical aligners trained ONLY on the test sentences, no extra "
          "parallel data; published eflomal figures used large extra data: en-fr 8.2, ro-en 25.1)")
    for name in ("enfr", "roen"):
        lines = (d / "alignment-gold" / f"{name}.src-tgt").read_text(encoding="utf-8").splitlines()
        src = [ln.split("|||")[0].split() for ln in lines]
        tgt = [ln.split("|||")[1].split() for ln in lines]
        sure, poss = read_links_file(d / "alignment-gold" / f"{name}.gold", one_indexed=True)
        al = EflomalAligner()
        runs = al.directional_runs(src, tgt)
        cells = []
        one = [(f, r) for f, r in [runs[0]]]
        for sym in ("intersection", "grow-diag-final-and", "union"):
            single = [symmetrise(f, r, sym) for f, r in zip(one[0][0], one[0][1], strict=True)]
            comb = [{lk for lk, sc in links.items() if sc >= 0.5} for links in combine_runs(runs, sym)]
            a1 = alignment_scores(single, sure, poss).aer
            ak = alignment_scores(comb, sure, poss).aer
            cells.append(f"{sym}: 1 run {100 * a1:.1f} / {len(runs)} runs {100 * ak:.1f}")
        print(f"{name} ({len(src)} pairs)  " + "  ".join(cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--skip-f1", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-aer", action="store_true")
    args = ap.parse_args()
    d = shared()
    data = load_europarl(d)
    if not args.skip_f1:
        bench_f1(data, args.repeats)
    if not args.skip_aer:
        bench_aer(d)
    if not args.skip_speed:
        bench_speed(data, args.pairs)


if __name__ == "__main__":
    main()
