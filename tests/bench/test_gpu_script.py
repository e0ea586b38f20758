"""``just gpu`` (bench/gpu.py) is ready for a CUDA device: without one it says so and measures
nothing; ``--device cpu --quick`` runs the same code on the CPU and prints the table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_BENCH_CACHE": str(tmp_path / "cache"),
           "WORKBENCH_HOME": str(tmp_path / "models")}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), *args], capture_output=True,
                          text=True, env=env, timeout=600, cwd=ROOT)


def test_without_cuda_it_says_so(tmp_path) -> None:
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("a CUDA device is here: just gpu measures it")
    r = _run(tmp_path=tmp_path)
    assert r.returncode == 0 and "no CUDA device visible: nothing measured" in r.stdout


def test_the_same_code_runs_on_the_cpu(tmp_path) -> None:
    pytest.importorskip("transformers", reason="building the bench model needs workbench[convert]")
    pytest.importorskip("torch", reason="building the bench model needs workbench[convert]")
    r = _run("--device", "cpu", "--quick", "--n", "64", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    table = [ln for ln in r.stdout.splitlines() if ln.startswith("| ")]
    assert table[0].startswith("| case | stage") and len(table) == 2 + 2  # header, rule, int8, float32
    assert "fast (d64, 1+1 layers), int8" in table[2] and "a/b " in table[2]
    assert "fast (d64, 1+1 layers), float32" in table[3]
