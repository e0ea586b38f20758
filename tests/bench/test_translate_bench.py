"""``bench/translate.py --fast-only`` runs its four commands (raw, --no-scores, raw with scores,
the default) and prints the like-for-like ratios; a small smoke run (timings are the bench's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_fast_case_prints_both_like_for_like_ratios(tmp_path) -> None:
    pytest.importorskip("transformers", reason="building the bench model needs workbench[convert]")
    pytest.importorskip("torch", reason="building the bench model needs workbench[convert]")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_BENCH_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "translate.py"), "--fast-only", "--n-fast", "300",
                        "--repeats", "1"], capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for label in ("raw CTranslate2 script:", "workbench translate --no-scores:", "raw script, return_scores=True:",
                  "workbench translate:"):
        assert re.search(re.escape(label) + r"\s+median \d+\.\d\ds", r.stdout), label
    for pair in ("wb-noscores vs raw", "wb vs raw+scores", "wb vs raw"):
        assert re.search(re.escape(pair) + r": throughput ratio \d\.\d{3} from medians", r.stdout), pair
