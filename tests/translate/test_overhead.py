"""What a translate run costs beyond the engine: it never imports pandas (pyarrow's first
``pa.array`` call does, ~0.4 s of CPU per process; ``bench/translate.py`` measures the rest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.mt import build_known_answer_model
from workbench.load import ingest

ROOT = Path(__file__).resolve().parents[2]


def test_a_translate_run_imports_no_pandas(store, tmp_path):
    model = build_known_answer_model(tmp_path / "known-answer-de")
    src = tmp_path / "en.jsonl"
    src.write_text("".join(json.dumps({"id": f"s{i}", "text": f"the house is {w} .", "spans": []}) + "\n"
                           for i, w in enumerate(["big", "old", "red"] * 5)), encoding="utf-8")
    ingest(src, name="news", lang="en", store=store)
    code = ("import sys\n"
            "from workbench.cli import run\n"
            "try:\n    run()\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print('pandas imported:', 'pandas' in sys.modules)")
    for name, extra in (("news.de", []), ("news.de-unscored", ["--no-scores"])):  # each one translates
        out = subprocess.run([sys.executable, "-c", code, "translate", "news", "-m", str(model), "--src-lang",
                              "en", "--tgt-lang", "de", "--beam-size", "1", "-q", "--no-check-language",
                              "--name", name, "--db", str(store.path), *extra],
                             capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT),
                             "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert out.returncode == 0, out.stderr
        assert "pandas imported: False" in out.stdout, out.stdout
    assert [v.ref for v in store.versions()] == ["news@1", "news.de@1", "news.de-unscored@1"]
