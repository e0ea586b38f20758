"""The GPU check, prepared: run it whenever a CUDA device is at hand (``just gpu``).

In one go (sized for under 8 minutes on one GPU), it runs the CUDA tests (``pytest -m gpu``:
translate on CUDA against the CPU run of the same model, SimAlign on CUDA, device checks), then
measures the translate stage against raw CTranslate2 on the same inputs in the same run, with
each GPU compute type (``int8_float16``, ``float16``), for a transformer-base model and for a
model whose compute is cheap (there the Python side sets the pace: the fast-model ratio), and
with two ``device_index`` replicas when there are two GPUs. It prints one table; copy it into the
README with the hardware named.

``--device cpu`` runs the same code on the CPU with the CPU compute types (``int8``,
``float32``), which is how the script itself is tested where no GPU is (``--quick``: small sizes).
Without a CUDA device and without ``--device cpu`` it says so and measures nothing.

Usage: python bench/gpu.py [--quick] [--device cuda|cpu] [--n 8192] [--repeats 3] [--skip-tests]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import translate as tb  # noqa: E402  (bench/translate.py: models, inputs, the two runners)


def cuda_devices() -> int:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    except Exception:  # noqa: BLE001 - no CUDA build or driver
        return 0


def run_tests() -> list[str]:
    """``pytest -m gpu``: one row with its outcome."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:randomly",
                        str(ROOT / "tests")], cwd=ROOT, capture_output=True, text=True)
    last = (r.stdout.strip().splitlines() or ["no output"])[-1]
    return ["pytest -m gpu", last, "", "", f"{time.perf_counter() - t:.0f}s", "ok" if r.returncode == 0 else "FAILED"]


def compare(model_dir: Path, model, texts: list[str], length: int, *, device: str, compute: str,
            repeats: int, batch_tokens: int, tmp: Path, device_index: list[int] | None = None) -> dict:
    """The stage (a) and raw CTranslate2 (b) alternated ``repeats`` times: medians and spread."""
    rates: dict[str, list[float]] = {"a": [], "b": []}
    tb.run_raw(model_dir, model, texts[:64], length, batch_tokens, device=device, compute_type=compute)  # warm-up
    for r in range(repeats):
        for which in ("ba" if r % 2 == 0 else "ab"):
            if which == "b":
                dt, _, tok = tb.run_raw(model_dir, model, texts, length, batch_tokens, device=device,
                                        compute_type=compute)
            else:
                dt, _, tok = tb.run_workbench(model_dir, texts, length, device=device, batch_tokens=batch_tokens,
                                              tmp=tmp, compute_type=compute, device_index=device_index)
            assert tok == len(texts) * length, (which, tok)
            rates[which].append(tok / dt)
    a, b = statistics.median(rates["a"]), statistics.median(rates["b"])
    return {"a": a, "b": b, "sent_a": a / length, "spread": f"{min(rates['a']):.0f}-{max(rates['a']):.0f}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--n", type=int, default=8192, help="sentences per measurement")
    ap.add_argument("--length", type=int, default=24, help="forced output length (min = max)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes, the fast model only (a smoke run)")
    ap.add_argument("--skip-tests", action="store_true", help="do not run pytest -m gpu first")
    args = ap.parse_args()
    gpus = cuda_devices()
    if args.device == "cuda" and gpus == 0:
        print("no CUDA device visible: nothing measured (on a GPU machine: just gpu; to test this "
              "script on the CPU: python bench/gpu.py --device cpu --quick)")
        return
    if args.quick:
        args.n, args.repeats, args.length = min(args.n, 256), 1, min(args.length, 8)
    computes = ["int8_float16", "float16"] if args.device == "cuda" else ["int8", "float32"]
    batch_tokens = 8192 if args.device == "cuda" else 1024
    import ctranslate2

    hardware = (f"{gpus} CUDA device(s)" if args.device == "cuda" else f"CPU, {tb.cores()} cores")
    print(f"{hardware}; ctranslate2 {ctranslate2.__version__}; {args.n} sentences, outputs forced to "
          f"{args.length} tokens, beam 4, {batch_tokens}-token batches, {args.repeats} alternating repeats")
    rows: list[list[str]] = []
    t0 = time.perf_counter()
    if not args.skip_tests and args.device == "cuda":
        rows.append(run_tests())
    texts = tb.sentences(args.n, seed=3)
    tmp = Path(tempfile.mkdtemp(prefix="wb-gpu-"))
    models = [("fast (d64, 1+1 layers)", tb.SMALL, "small")]
    if not args.quick:
        models.insert(0, ("transformer-base", tb.BASE, "base"))
    try:
        for label, size, name in models:
            _, ct2_dir = tb.build_model(size, name)
            from workbench.mt.models import open_model

            model = open_model(ct2_dir)
            for ct in computes:
                r = compare(ct2_dir, model, texts, args.length, device=args.device, compute=ct,
                            repeats=args.repeats, batch_tokens=batch_tokens, tmp=tmp)
                rows.append([f"{label}, {ct}", f"{r['sent_a']:.0f} sent/s", f"{r['a']:.0f} tok/s ({r['spread']})",
                             f"raw {r['b']:.0f} tok/s", f"a/b {r['a'] / r['b']:.3f}", ""])
            if args.device == "cuda" and gpus >= 2:
                r = compare(ct2_dir, model, texts, args.length, device="cuda", compute=computes[0],
                            repeats=args.repeats, batch_tokens=batch_tokens, tmp=tmp, device_index=[0, 1])
                rows.append([f"{label}, {computes[0]}, 2 replicas", f"{r['sent_a']:.0f} sent/s",
                             f"{r['a']:.0f} tok/s", "", "", ""])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    print()
    print("| case | stage | stage tokens/s (range) | raw CTranslate2 | ratio | tests |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    print(f"\n{time.perf_counter() - t0:.0f}s in all (target: under 8 minutes on one GPU)")


if __name__ == "__main__":
    main()
