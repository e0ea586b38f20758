"""Benchmark of the translate stage against raw CTranslate2 and Hugging Face ``generate``.

In one process, on the same inputs and settings (int8, beam 4, equal output length forced with
min = max decoding length), a transformer-base sized Marian model (6+6 layers, d_model 512,
8 heads, ffn 2048, vocab 32k, random weights built offline and converted with CTranslate2):

  (a) the workbench translate stage end to end (store reads, cache writes, version write,
      progress callback, model load included),
  (b) raw ``ctranslate2.Translator.translate_batch`` with its best CPU settings
      (inter_threads = cores, intra_threads = 1, token batches; model load excluded),
  (c) ``transformers`` ``generate`` in float32 (torch threads = cores).

Prints target tokens/s of each, the ratios a/b (target >= 0.95) and a/c (target >= 3.0), and the
peak RSS of translating 2k vs 20k sentences (each in its own subprocess, a small model with short
outputs; target within 1.5x). (a) and (b) are alternated ``--repeats`` times and the median is
reported with the spread, because the machine is shared. GPU figures are added when CUDA is
present.

Run: python bench/translate.py            (about 10 minutes on 2 idle cores)
     python bench/translate.py --quick    (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TRAIN = ROOT / "tests" / "data" / "translate_sentences.txt"
CACHE = Path(os.environ.get("WORKBENCH_BENCH_CACHE", Path(tempfile.gettempdir()) / "workbench-bench"))

BASE = dict(vocab=32000, d_model=512, layers=6, heads=8, ffn=2048)
SMALL = dict(vocab=32000, d_model=64, layers=1, heads=2, ffn=128)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_model(size: dict, name: str) -> tuple[Path, Path]:
    """A random MarianMTModel of ``size`` (HF directory) and its int8 CTranslate2 conversion."""
    hf_dir = CACHE / f"hf-{name}"
    if not (hf_dir / "config.json").exists():
        import io

        import sentencepiece as spm
        import torch
        import transformers
        from tokenizers import Tokenizer
        from tokenizers.models import WordLevel

        hf_dir.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(input=str(TRAIN), model_writer=buf, vocab_size=400,
                                       model_type="bpe", character_coverage=1.0, minloglevel=2,
                                       hard_vocab_limit=False)
        sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                  if sp.id_to_piece(i) not in ("<unk>", "<s>", "</s>")]
        vocab = ["</s>", "<unk>"] + pieces
        vocab += [f"tok{i}" for i in range(size["vocab"] - len(vocab) - 1)] + ["<pad>"]
        (hf_dir / "source.spm").write_bytes(buf.getvalue())
        (hf_dir / "target.spm").write_bytes(buf.getvalue())
        cfg = transformers.MarianConfig(
            vocab_size=len(vocab), d_model=size["d_model"], encoder_layers=size["layers"],
            decoder_layers=size["layers"], encoder_attention_heads=size["heads"],
            decoder_attention_heads=size["heads"], encoder_ffn_dim=size["ffn"],
            decoder_ffn_dim=size["ffn"], max_position_embeddings=512, pad_token_id=len(vocab) - 1,
            eos_token_id=0, decoder_start_token_id=len(vocab) - 1)
        torch.manual_seed(0)
        transformers.MarianMTModel(cfg).save_pretrained(hf_dir)
        tok = Tokenizer(WordLevel({t: i for i, t in enumerate(vocab)}, unk_token="<unk>"))
        tok.save(str(hf_dir / "tokenizer.json"))
        (hf_dir / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "</s>", "unk_token": "<unk>",
            "pad_token": "<pad>"}))
        (hf_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    from workbench.mt.models import convert

    return hf_dir, convert(hf_dir, quantization="int8", home=CACHE / "ct2")


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct English-like sentences of 6-30 words (no cache hits between them)."""
    words = TRAIN.read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.randint(6, 30)
        out.append(" ".join(rng.choice(words) for _ in range(k)).rstrip(".") + f" {i}.")
    return out


def make_store(path: Path, texts: list[str]):
    from workbench.core.records import Example
    from workbench.store.store import Store

    store = Store(path)
    store.write_version((Example.from_text(f"s{i}", t) for i, t in enumerate(texts)),
                        corpus="bench", stage="ingest", signature="bench", lang="en")
    return store


def run_workbench(model_dir: Path, texts: list[str], length: int, *, device: str = "cpu",
                  batch_tokens: int = 0, tmp: Path, compute_type: str = "auto",
                  device_index: list[int] | None = None) -> tuple[float, float, int]:
    from workbench.translate import TranslateOptions, translate

    db = tmp / f"wb-{time.monotonic_ns()}.duckdb"
    store = make_store(db, texts)
    events = []
    opts = TranslateOptions(device=device, beam_size=4, min_decoding_length=length,
                            max_decoding_length=length, max_batch_tokens=batch_tokens,
                            compute_type=compute_type, device_index=device_index or [0],
                            pair="en-de")  # the random bench model names no pair
    c, t = cpu_seconds(), time.perf_counter()
    v, = translate("bench", model=str(model_dir), src_lang="en", tgt_langs=["de"], store=store,
                   options=opts, progress=events.append)
    dt, cpu = time.perf_counter() - t, cpu_seconds() - c
    assert events[-1].translated == len(texts), "the benchmark must not hit the cache"
    tokens = events[-1].tgt_tokens
    assert v.n_examples == len(texts)
    db.unlink()
    return dt, cpu, tokens


def run_raw(model_dir: Path, model, texts: list[str], length: int, batch_tokens: int,
            device: str = "cpu", compute_type: str | None = None) -> tuple[float, float, int]:
    """Raw CTranslate2, model load included (as in (a)): best CPU threading, token batches."""
    import ctranslate2

    c, t = cpu_seconds(), time.perf_counter()
    if device == "cpu":
        translator = ctranslate2.Translator(str(model_dir), device="cpu", compute_type=compute_type or "int8",
                                            inter_threads=cores(), intra_threads=1)
    else:
        translator = ctranslate2.Translator(str(model_dir), device="cuda",
                                            compute_type=compute_type or "int8_float16")
    src = [model.encode(s) + ["</s>"] for s in texts]
    res = translator.translate_batch(src, max_batch_size=batch_tokens, batch_type="tokens",
                                     beam_size=4, min_decoding_length=length,
                                     max_decoding_length=length, max_input_length=0)
    outs = [model.decode(r.hypotheses[0]) for r in res]
    dt, cpu = time.perf_counter() - t, cpu_seconds() - c
    assert len(outs) == len(texts)
    return dt, cpu, sum(len(r.hypotheses[0]) for r in res)


def run_hf(hf_dir: Path, model, texts: list[str], length: int, batch_size: int = 16,
           device: str = "cpu") -> tuple[float, int]:
    import torch
    import transformers

    torch.set_num_threads(cores())
    vocab = json.loads((hf_dir / "vocab.json").read_text())
    dtype = torch.float32 if device == "cpu" else torch.float16
    hf = transformers.MarianMTModel.from_pretrained(hf_dir, dtype=dtype).eval().to(device)
    pad = hf.config.pad_token_id
    ids = [[vocab.get(p, 1) for p in model.encode(s)] + [0] for s in texts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    tokens = 0
    t = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, len(order), batch_size):
            batch = [ids[i] for i in order[lo:lo + batch_size]]
            n = max(len(b) for b in batch)
            x = torch.tensor([b + [pad] * (n - len(b)) for b in batch], device=device)
            out = hf.generate(input_ids=x, attention_mask=(x != pad).long(), num_beams=4,
                              min_new_tokens=length, max_new_tokens=length, do_sample=False)
            tokens += (out.shape[1] - 1) * out.shape[0]
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - t, tokens


def peak_rss_mb() -> float:
    """Peak resident set of this process (VmHWM: unlike ru_maxrss it is not inherited from the
    parent across fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(n: int, model_dir: str, length: int) -> None:
    """Translate ``n`` sentences with the workbench; print peak RSS (MB) as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp) / "rss.duckdb", sentences(n, seed=1))
        from workbench.translate import TranslateOptions, translate

        base = peak_rss_mb()
        t = time.perf_counter()
        translate("bench", model=model_dir, src_lang="en", tgt_langs=["de"], store=store,
                  options=TranslateOptions(beam_size=4, min_decoding_length=length,
                                           max_decoding_length=length, pair="en-de"))
        dt = time.perf_counter() - t
    peak = peak_rss_mb()
    print(json.dumps({"n": n, "peak_rss_mb": peak, "before_translate_mb": base, "seconds": dt}))


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (CTranslate2 and DuckDB included)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def spread(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.0f}, min {min(xs):.0f}, max {max(xs):.0f} (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=320, help="sentences for (a) and (b)")
    ap.add_argument("--n-hf", type=int, default=24, help="sentences for (c) (a prefix of the same inputs)")
    ap.add_argument("--length", type=int, default=24, help="forced output length (min = max)")
    ap.add_argument("--repeats", type=int, default=5, help="alternating repeats of (a) and (b)")
    ap.add_argument("--batch-tokens", type=int, default=1024)
    ap.add_argument("--rss-sizes", default="2000,20000")
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--n-gpu", type=int, default=8192, help="sentences for the GPU figures")
    ap.add_argument("--gpu-only", action="store_true", help="only the GPU figures (needs CUDA)")
    ap.add_argument("--fast-only", action="store_true", help="only the fast-model whole-process case")
    ap.add_argument("--n-fast", type=int, default=20000, help="sentences of the fast-model case")
    ap.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.model, args.length)
        return
    if args.quick:
        args.n, args.n_hf, args.repeats, args.rss_sizes, args.n_gpu = 24, 8, 1, "200,2000", 256

    import ctranslate2

    from workbench.mt.models import open_model

    print(f"cores: {cores()}  load average {os.getloadavg()[0]:.1f}  ctranslate2 "
          f"{ctranslate2.__version__}  cache: {CACHE}")
    if args.fast_only:
        fast_case(args)
        return
    if args.gpu_only:
        hf_dir, ct2_dir = build_model(BASE, "marian-base")
        tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
        try:
            gpu_figures(args, hf_dir, ct2_dir, open_model(ct2_dir), args.length, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    # peak RSS first, in subprocesses, while this process is still small
    _, small = build_model(SMALL, "marian-small")
    peaks = {}
    for n in [] if args.skip_rss else [int(x) for x in args.rss_sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--rss-child", str(n), "--model", str(small),
                              "--length", "4"], capture_output=True, text=True, check=True)
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        peaks[n] = rec["peak_rss_mb"]
        print(f"peak RSS translating {n} sentences: {rec['peak_rss_mb']:.0f} MB "
              f"({rec['seconds']:.1f}s; {rec['before_translate_mb']:.0f} MB before translating)")
    if peaks:
        lo, hi = min(peaks), max(peaks)
        print(f"peak RSS {hi} / {lo} sentences = {peaks[hi] / peaks[lo]:.2f}x (target <= 1.5x)")
    t = time.perf_counter()
    hf_dir, ct2_dir = build_model(BASE, "marian-base")
    print(f"transformer-base model ready in {time.perf_counter() - t:.1f}s: {ct2_dir}")
    model = open_model(ct2_dir)
    texts = sentences(args.n)
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    L = args.length
    print(f"inputs: {args.n} sentences, outputs forced to {L} tokens, beam 4, int8, "
          f"max_batch_tokens {args.batch_tokens}")

    run_raw(ct2_dir, model, texts[:8], L, args.batch_tokens)  # warm-up (file cache)
    rates: dict[str, list[float]] = {"a": [], "b": []}
    cpu_rates: dict[str, list[float]] = {"a": [], "b": []}
    for r in range(args.repeats):
        line = []
        for which in ("ba" if r % 2 == 0 else "ab"):  # alternate the order against drift
            if which == "b":
                dt, cpu, tok = run_raw(ct2_dir, model, texts, L, args.batch_tokens)
            else:
                dt, cpu, tok = run_workbench(ct2_dir, texts, L, batch_tokens=args.batch_tokens, tmp=tmp)
            assert tok == args.n * L, (which, tok)
            rates[which].append(tok / dt)
            cpu_rates[which].append(tok / cpu)
            line.append(f"({which}) {tok / dt:.0f} tok/s wall, {tok / cpu:.0f} tok/cpu-s")
        print(f"  repeat {r + 1}: " + "   ".join(line) + f"   a/b {rates['a'][-1] / rates['b'][-1]:.3f}")
    a, b = statistics.median(rates["a"]), statistics.median(rates["b"])
    ratios = [x / y for x, y in zip(rates["a"], rates["b"], strict=True)]
    print(f"(a) workbench translate stage: {spread(rates['a'])} target tokens/s")
    print(f"(b) raw ctranslate2:           {spread(rates['b'])} target tokens/s")
    print(f"a/b = {a / b:.3f} from medians; median of per-repeat ratios {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f}); target >= 0.95")
    ca, cb = statistics.median(cpu_rates["a"]), statistics.median(cpu_rates["b"])
    print(f"per CPU-second (less sensitive to other load): a {ca:.0f}, b {cb:.0f}, a/b = {ca / cb:.3f}")
    ua, ub = (statistics.median(r / c for r, c in zip(rates[k], cpu_rates[k], strict=True)) / cores()
              for k in "ab")
    print(f"core use (CPU-seconds / wall / cores): a {ua:.1%}, b {ub:.1%} -- the stage orders its "
          "batches so that both workers stay busy to the end (workbench/translate/batching.py)")

    detok_cost(texts, args.n * L / a)  # the stage's seconds for these sentences (median rate)

    if not args.skip_hf:
        dt, tok = run_hf(hf_dir, model, texts[:args.n_hf], L)
        c = tok / dt
        print(f"(c) transformers generate fp32: {c:.0f} target tokens/s ({args.n_hf} sentences, {dt:.1f}s)")
        print(f"a/c = {a / c:.2f} (target >= 3.0)")

    try:
        gpu_figures(args, hf_dir, ct2_dir, model, L, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_RAW_SCRIPT = """
import sys, ctranslate2, sentencepiece as spm
d, src_file, out_file = sys.argv[1:4]
sp_s = spm.SentencePieceProcessor(model_file=d + "/source.spm")
sp_t = spm.SentencePieceProcessor(model_file=d + "/target.spm")
texts = open(src_file, encoding="utf-8").read().splitlines()
tr = ctranslate2.Translator(d, device="cpu", compute_type="int8", inter_threads=int(sys.argv[4]), intra_threads=1)
src = [p + ["</s>"] for p in sp_s.encode(texts, out_type=str)]
res = tr.translate_batch(src, max_batch_size=1024, batch_type="tokens", beam_size=1,
                         min_decoding_length=10, max_decoding_length=10, max_input_length=0,
                         return_scores=sys.argv[5:] == ["scores"])
with open(out_file, "w", encoding="utf-8") as f:
    for r in res:
        f.write(sp_t.decode(r.hypotheses[0]) + "\\n")
"""


def fast_case(args) -> None:
    """A model whose compute is cheap (d_model 64, 1+1 layers; a stand-in for a GPU, where the
    Python side sets the pace), greedy, 10 target tokens, ``--n-fast`` distinct sentences, whole
    process: ``workbench translate`` (CLI start to exit; the corpus ingested before, untimed)
    against a raw script that reads, tokenises, translates and writes the same sentences, in
    ``--repeats`` alternating runs. Two like-for-like pairs: ``--no-scores`` against the plain
    script, and the stage's default (it asks for scores) against the script with
    ``return_scores=True``. Prints the medians, the spread and the ratios (target >= 0.75)."""
    _, model_dir = build_model(SMALL, "marian-small")
    tmp = Path(tempfile.mkdtemp(prefix="wb-fast-"))
    try:
        texts = sentences(args.n_fast, seed=5)
        (tmp / "src.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        (tmp / "raw.py").write_text(_RAW_SCRIPT, encoding="utf-8")
        pre = tmp / "pre.duckdb"
        make_store(pre, texts)
        wb = [sys.executable, "-m", "workbench", "translate", "bench", "-m", str(model_dir), "--src-lang", "en",
              "--tgt-lang", "de", "--pair", "en-de", "--beam-size", "1", "--min-decoding-length", "10",
              "--max-decoding-length", "10", "--device", "cpu", "-q"]
        raw = [sys.executable, str(tmp / "raw.py"), str(model_dir), str(tmp / "src.txt"), str(tmp / "out.txt"),
               str(cores())]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # two like-for-like pairs: the raw script asks CTranslate2 for no scores, the stage by
        # default does (meta.mt_score, the cache's score; with a model this cheap their
        # log-softmax is a large share of the engine's own work); so the stage runs twice, with
        # --no-scores (against the plain raw script) and as it comes (against raw+scores)
        cases = ("raw", "wb-noscores", "raw+scores", "wb")
        times: dict[str, list[float]] = {k: [] for k in cases}
        cpus: dict[str, list[float]] = {k: [] for k in cases}
        for r in range(args.repeats):
            for which in (cases if r % 2 == 0 else cases[::-1]):
                cmd = {"raw": raw, "raw+scores": [*raw, "scores"]}.get(which)
                if cmd is None:
                    shutil.copy(pre, tmp / "w.duckdb")
                    cmd = [*wb, "--db", str(tmp / "w.duckdb")] + (["--no-scores"] if which == "wb-noscores" else [])
                c, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
                subprocess.run(cmd, check=True, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
                times[which].append(time.perf_counter() - t)
                c2 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus[which].append(c2.ru_utime + c2.ru_stime - c.ru_utime - c.ru_stime)
            print(f"  repeat {r + 1}: " + ", ".join(f"{k} {times[k][-1]:.2f}s ({cpus[k][-1]:.1f} cpu-s)" for k in cases),
                  flush=True)
        print(f"fast model, {args.n_fast} sentences, whole process, {args.repeats} alternating repeats "
              f"(load average {os.getloadavg()[0]:.1f} at the end):")
        for k, label in (("raw", "raw CTranslate2 script"), ("wb-noscores", "workbench translate --no-scores"),
                         ("raw+scores", "raw script, return_scores=True"), ("wb", "workbench translate")):
            print(f"  {label + ':':34s} median {statistics.median(times[k]):.2f}s "
                  f"({min(times[k]):.2f}-{max(times[k]):.2f}), {statistics.median(cpus[k]):.1f} cpu-s")
        for a, b, what in (("wb-noscores", "raw", "like for like, no scores (target >= 0.75, aim 0.9)"),
                           ("wb", "raw+scores", "like for like, with scores (the stage's default)"),
                           ("wb", "raw", "the stage's default against the plain raw script")):
            w, base = statistics.median(times[a]), statistics.median(times[b])
            paired = [x / y for x, y in zip(times[b], times[a], strict=True)]
            print(f"  {a} vs {b}: throughput ratio {base / w:.3f} from medians, median of paired ratios "
                  f"{statistics.median(paired):.3f} (range {min(paired):.3f}-{max(paired):.3f}), "
                  f"{(w - base) / args.n_fast * 1e6:.0f} us per sentence on top, CPU-seconds ratio "
                  f"{statistics.median(cpus[b]) / statistics.median(cpus[a]):.3f}: {what}")
        b, bs = statistics.median(times["raw"]), statistics.median(times["raw+scores"])
        print(f"  the scores alone cost the raw script {bs / b - 1:.0%}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def detok_cost(texts: list[str], stage_seconds: float) -> None:
    """Natural input (``TranslateOptions.detokenize``): what Moses-detokenising a tokenised
    sentence costs, against the stage's time per sentence measured above (same inputs)."""
    from sacremoses import MosesDetokenizer

    toks = [t.replace(",", " ,").replace(".", " .").split() for t in texts]  # as a CoNLL file has them
    md = MosesDetokenizer(lang="en")
    t0 = time.perf_counter()
    for _ in range(3):
        for t in toks:
            md.detokenize(t)
    per = (time.perf_counter() - t0) / (3 * len(toks))
    stage = stage_seconds / len(texts)
    print(f"natural input: detokenising costs {per * 1e6:.0f} us/sentence, {per / stage:.1%} of the "
          f"stage's {stage * 1e3:.1f} ms/sentence above (on by default; --no-detokenize)")


def gpu_figures(args, hf_dir: Path, ct2_dir: Path, model, L: int, tmp: Path) -> None:
    """On a CUDA device: (a) the stage and (b) raw CTranslate2, both int8_float16 with 8192-token
    batches, alternated ``--repeats`` times on ``--n-gpu`` sentences; (c) HF generate in float16
    (batch 64) on a prefix."""
    import ctranslate2

    if ctranslate2.get_cuda_device_count() == 0:
        print("GPU: no CUDA device visible, GPU figures skipped")
        return
    big = sentences(args.n_gpu, seed=2)
    print(f"GPU: {args.n_gpu} sentences, outputs forced to {L} tokens, beam 4, int8_float16, "
          "max_batch_tokens 8192")
    run_raw(ct2_dir, model, big[:256], L, 8192, device="cuda")  # warm-up (CUDA context, kernels)
    rates: dict[str, list[float]] = {"a": [], "b": []}
    for r in range(args.repeats):
        for which in ("ba" if r % 2 == 0 else "ab"):
            if which == "b":
                dt, _, tok = run_raw(ct2_dir, model, big, L, 8192, device="cuda")
            else:
                dt, _, tok = run_workbench(ct2_dir, big, L, device="cuda", batch_tokens=8192, tmp=tmp)
            assert tok == len(big) * L, (which, tok)
            rates[which].append(tok / dt)
        print(f"  GPU repeat {r + 1}: (b) {rates['b'][-1]:.0f} tok/s  (a) {rates['a'][-1]:.0f} tok/s  "
              f"a/b {rates['a'][-1] / rates['b'][-1]:.3f}")
    a, b = statistics.median(rates["a"]), statistics.median(rates["b"])
    print(f"GPU (a) workbench: {spread(rates['a'])} target tokens/s")
    print(f"GPU (b) raw ctranslate2: {spread(rates['b'])} target tokens/s")
    print(f"GPU a/b = {a / b:.3f} from medians")
    if not args.skip_hf:
        n = min(args.n_gpu, 2048)
        run_hf(hf_dir, model, big[:64], L, batch_size=64, device="cuda")  # warm-up
        dt, tok = run_hf(hf_dir, model, big[:n], L, batch_size=64, device="cuda")
        print(f"GPU (c) transformers generate fp16: {tok / dt:.0f} target tokens/s ({n} sentences, "
              f"{dt:.1f}s); a/c = {a / (tok / dt):.2f}")


if __name__ == "__main__":
    main()
