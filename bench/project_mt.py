"""Benchmark the MT-guided projectors (markers.v1, constrained.v1) on a transformer-base sized model.

A random-weight Transformer (6+6 layers, d_model 512, 8 heads, ffn 2048, vocab 32k; built with
``ctranslate2.specs`` from numpy weights, int8) and hand-written sentencepiece models. Printed in
one run, same inputs:

- sentences/s of plain translation (the baseline), of markers.v1 and of constrained.v1;
- constrained.v1: model-scored sequences per span (candidates + search) versus brute force over
  the same candidate pairs, and the wall time of brute force on the same spans;
- the same sequence counts on the known-answer model (a model that is confident, like a trained
  one: random weights are not, so their prefix bounds prune little).

Usage: python bench/project_mt.py [--sentences 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_random_base(out: Path, vocab: int = 32000, seed: int = 0) -> list[str]:
    """Random transformer-base model + sentencepiece models; returns the word list."""
    from ctranslate2.specs import transformer_spec

    from tests.fixtures.mt import build_spm

    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocab - 3 - 10 - 1)]
    pieces = build_spm(out / "source.spm", words)
    build_spm(out / "target.spm", words)
    d, ffn, layers = 512, 2048, 6
    spec = transformer_spec.TransformerSpec.from_config(layers, 8)

    def w(*shape: int, std: float = 0.05) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    def ln(x) -> None:
        x.gamma, x.beta = np.ones(d, np.float32), np.zeros(d, np.float32)

    def lin(x, n_out: int, n_in: int) -> None:
        x.weight, x.bias = w(n_out, n_in), np.zeros(n_out, np.float32)

    V = len(pieces)
    spec.encoder.embeddings[0].weight = w(V, d, std=0.5)
    spec.decoder.embeddings.weight = w(V, d, std=0.5)
    for layer in spec.encoder.layer:
        ln(layer.self_attention.layer_norm)
        lin(layer.self_attention.linear[0], 3 * d, d)
        lin(layer.self_attention.linear[1], d, d)
        ln(layer.ffn.layer_norm)
        lin(layer.ffn.linear_0, ffn, d)
        lin(layer.ffn.linear_1, d, ffn)
    for layer in spec.decoder.layer:
        ln(layer.self_attention.layer_norm)
        lin(layer.self_attention.linear[0], 3 * d, d)
        lin(layer.self_attention.linear[1], d, d)
        ln(layer.attention.layer_norm)
        lin(layer.attention.linear[0], d, d)
        lin(layer.attention.linear[1], 2 * d, d)
        lin(layer.attention.linear[2], d, d)
        ln(layer.ffn.layer_norm)
        lin(layer.ffn.linear_0, ffn, d)
        lin(layer.ffn.linear_1, d, ffn)
    ln(spec.encoder.layer_norm)
    ln(spec.decoder.layer_norm)
    spec.decoder.projection.weight = w(V, d, std=0.3)
    spec.decoder.projection.bias = np.zeros(V, np.float32)
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.validate()
    spec.save(str(out))
    return words


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=16)
    ap.add_argument("--length", type=int, default=20, help="words per sentence")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from projectors import get
    from projectors.base import Pair
    from workbench.mt.ct2 import CT2Model

    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        words = build_random_base(Path(tmp))
        print(f"built transformer-base random model in {time.perf_counter() - t0:.1f}s")
        model = CT2Model(tmp, compute_type="int8", intra_threads=args.threads, beam_size=4,
                         max_decoding_length=int(args.length * 1.5) + 4, max_batch_size=32)
        pairs = []
        for _ in range(args.sentences):
            src = [rng.choice(words) for _ in range(args.length)]
            tgt = [rng.choice(words) for _ in range(args.length)]
            a = rng.randrange(0, args.length // 2 - 3)
            b = rng.randrange(args.length // 2, args.length - 3)
            spans = [(a, a + rng.randint(1, 3), "PER"), (b, b + rng.randint(1, 3), "LOC")]
            pairs.append(Pair(src, tgt, spans, " ".join(src), " ".join(tgt)))
        n = len(pairs)
        n_spans = sum(len(p.spans) for p in pairs)

        t0 = time.perf_counter()
        model.translate([p.src_text for p in pairs])
        t_plain = time.perf_counter() - t0
        print(f"plain translation (beam 4):   {n / t_plain:8.2f} sentences/s  (baseline)")

        mk = get("markers.v1", translator=model)
        t0 = time.perf_counter()
        res = mk.project(pairs)
        t_mk = time.perf_counter() - t0
        placed = sum(s.outcome == "projected" for r in res for s in r.spans)
        print(f"markers.v1 (beam 4):          {n / t_mk:8.2f} sentences/s  "
              f"{t_plain / t_mk:.2f}x plain translation; {placed}/{n_spans} spans placed "
              "(random weights rarely copy markers)")

        cons = get("constrained.v1", scorer=model, max_candidates=12)
        t0 = time.perf_counter()
        cons.project(pairs)
        t_c = time.perf_counter() - t0
        st = cons.stats
        print(f"constrained.v1 (12 cand.):    {n / t_c:8.2f} sentences/s  {t_plain / t_c:.2f}x plain translation")
        per = (st["scored"] + st["candidate_scored"]) / st["spans"]
        print(f"  model-scored sequences/span: search {st['scored'] / st['spans']:.1f} + candidates "
              f"{st['candidate_scored'] / st['spans']:.1f} = {per:.1f}; brute force {st['brute'] / st['spans']:.1f} "
              f"(search/brute = {st['scored'] / st['brute']:.2f})")
        k = min(n, 8)
        sub = pairs[:k]
        bf = get("constrained.v1", scorer=model, max_candidates=12, batch_size=1000)
        # brute force: the same candidates, every pair scored (first round scores all: no pruning)
        t0 = time.perf_counter()
        _brute_time(bf, sub)
        t_bf = time.perf_counter() - t0
        t0 = time.perf_counter()
        cons.project(sub)
        t_bb = time.perf_counter() - t0
        print(f"  wall time on {k} sentences: search {t_bb:.2f}s, brute force {t_bf:.2f}s "
              f"(ratio {t_bb / t_bf:.2f})")

        from tests.fixtures.mt import build_known_answer_model, translate_words

        ka_dir = Path(tmp) / "ka"
        build_known_answer_model(ka_dir)
        ka = CT2Model(ka_dir, intra_threads=args.threads, max_decoding_length=200)
        kw = ["John", "Smith", "lives", "in", "New", "York", "and", "Mary", "works", "for", "Acme", "the",
              "old", "city", "of", "London", "is", "big", "today", ",", "visited", "Berlin", "met"]
        kpairs = []
        for _ in range(args.sentences):
            src = [rng.choice(kw) for _ in range(args.length)]
            a = rng.randrange(0, args.length - 3)
            spans = [(a, a + rng.randint(1, 3), "X")]
            s = " ".join(src)
            kpairs.append(Pair(src, translate_words(s).split(), spans, s, translate_words(s)))
        kc = get("constrained.v1", scorer=ka, max_candidates=12)
        kc.project(kpairs)
        st = kc.stats
        print(f"known-answer model, 12 candidates: search {st['scored'] / st['spans']:.1f} sequences/span, "
              f"brute force {st['brute'] / st['spans']:.1f} (ratio {st['scored'] / st['brute']:.2f})")


def _brute_time(proj, pairs) -> None:
    """Score every candidate pair of every span (what brute force costs) with the same model."""
    from projectors.constrained import BranchAndBound

    orig = BranchAndBound.next_batch

    def all_pairs(self, peek: bool = False):
        rest = [p for p in self.pairs if p not in self.results]
        return rest[:1] if peek else rest

    BranchAndBound.next_batch = all_pairs
    try:
        proj.project(pairs)
    finally:
        BranchAndBound.next_batch = orig


if __name__ == "__main__":
    main()
