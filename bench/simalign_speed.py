"""Speed of our batched SimAlign (``align.simalign.v1``'s aligner) against the ``simalign`` package.

Both align the same generated sentence pairs with the same random BERT (built offline in a
temporary directory), layer, token type and method, in one process and one run; the package aligns
one pair per call (one forward pass of two sentences), ours ``--batch-size`` sentences per forward
pass. Runs alternate (ours, package) ``--repeats`` times after a warm-up; medians are printed, with
the ratio ours / package (of the medians, and the median of the per-repeat ratios) and how many
pairs got the same links (all of them: they are within the
encoder's limit, see tests/projectors/test_simalign_reference.py).

Models: ``small`` (hidden 256, 4 layers, 512 positions: compute matters) or ``tiny`` (hidden 32,
2 layers, the reference test's: per-call overhead matters).

Usage: python bench/simalign_speed.py [--pairs 500] [--size small|tiny] [--method itermax]
       [--token-type bpe] [--batch-size 32] [--repeats 3] [--device cpu] [--threads N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from projectors.simalign import SimAligner  # noqa: E402
from tests.fixtures.simalign import build_wordpiece_bert, sentence_pairs  # noqa: E402

SIZES = {"small": dict(max_positions=512, hidden=256, layers=4), "tiny": dict(max_positions=64, hidden=32, layers=2)}
LETTER = {"argmax": ("a", "inter"), "itermax": ("i", "itermax"), "match": ("m", "mwmf")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--method", choices=sorted(LETTER), default="itermax")
    ap.add_argument("--token-type", choices=("bpe", "word"), default="bpe")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    try:
        import simalign
        import torch
    except ImportError as exc:
        print(f"SKIP bench/simalign_speed.py: {exc} (pip install -e '.[align]')")
        return
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("simalign.simalign").setLevel(logging.WARNING)  # its per-aligner INFO line
    transformers.utils.logging.disable_progress_bar()
    size = SIZES[args.size]
    # the tiny model takes 62 pieces: sentences of up to 10 words of at most 4 pieces (targets 13)
    lo, hi = (10, 30) if args.size == "small" else (1, 10)
    pairs = sentence_pairs(seed=14, n=args.pairs, lo=lo, hi=hi)
    src, tgt = [s for s, _ in pairs], [t for _, t in pairs]
    layer = size["layers"] - 1
    letter, key = LETTER[args.method]
    with tempfile.TemporaryDirectory(prefix="wb-simalign-bench-") as d:
        model = build_wordpiece_bert(Path(d), **size)
        ours = SimAligner(model=model, method=args.method, layer=layer, token_type=args.token_type,
                          batch_size=args.batch_size, device=args.device)
        ref = simalign.SentenceAligner(model=model, token_type=args.token_type, matching_methods=letter,
                                       device=args.device, layer=layer)
        ours.align(src[:8], tgt[:8])  # warm-up: loading, first forward passes
        for s, t in pairs[:8]:
            ref.get_word_aligns(s, t)
        print(f"== {args.pairs} generated pairs ({lo}-{hi} source words), {args.size} BERT "
              f"(hidden {size['hidden']}, {size['layers']} layers), layer {layer}, {args.token_type}, "
              f"{args.method}, {args.device}, torch threads {torch.get_num_threads()}; "
              f"ours batch {args.batch_size}, the package one pair per call")
        t_ours, t_ref = [], []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            mine = ours.align(src, tgt)
            t_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            theirs = [ref.get_word_aligns(s, t)[key] for s, t in pairs]
            t_ref.append(time.perf_counter() - t0)
            print(f"repeat {r + 1}: ours {args.pairs / t_ours[-1]:8.1f} pairs/s   "
                  f"package {args.pairs / t_ref[-1]:8.1f} pairs/s", flush=True)
        same = sum(set(a) == set(b) for a, b in zip(mine, theirs, strict=True))
    po, pr = args.pairs / statistics.median(t_ours), args.pairs / statistics.median(t_ref)
    # on a shared machine the load moves both; a repeat's two runs are adjacent, so the median of
    # the per-repeat ratios is the steadier figure
    per = statistics.median(b / a for a, b in zip(t_ours, t_ref, strict=True))
    print(f"ours {po:.1f} pairs/s, package {pr:.1f} pairs/s (medians): ratio ours/package {po / pr:.2f}x "
          f"(median of per-repeat ratios {per:.2f}x); same links on {same}/{args.pairs} pairs")


if __name__ == "__main__":
    main()
