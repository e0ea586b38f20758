"""project-back takes projector options, and a model it cannot load (offline) is an error with the
fix, not 'cannot write: None'."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from workbench.cli import app

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["project-back", str(ROOT / "data" / "sample-de.txt"), str(ROOT / "data" / "sample-en.conll")]


def test_project_back_takes_options(tmp_path):
    out = tmp_path / "o.conll"
    r = CliRunner().invoke(app, [*ARGS, "-o", str(out), "-p", "align.eflomal.v1", "--option", "n_runs=2"])
    assert r.exit_code == 0 and "wrote 36 sentences" in r.output, r.output
    r = CliRunner().invoke(app, [*ARGS, "-o", str(out), "-p", "align.eflomal.v1", "--option", "nruns=2"])
    assert r.exit_code == 1 and "has no option nruns" in r.output


def test_an_encoder_that_cannot_be_loaded_offline_is_a_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    r = CliRunner().invoke(app, [*ARGS, "-o", str(tmp_path / "o.conll"), "-p", "align.simalign.v1",
                                 "--option", "model=nobody/no-such-encoder"])
    assert r.exit_code == 1 and "align.simalign.v1" in r.output and "cannot write" not in r.output
    assert "Traceback" not in r.output


def test_no_foreign_progress_bars(tmp_path):
    """The CLI prints its own progress; transformers' 'Loading weights' bars stay out of it."""
    import os
    import subprocess
    import sys

    import pytest

    pytest.importorskip("transformers", reason="SimAlign needs workbench[align]")
    from tests.fixtures.simalign import build_tiny_bert

    (tmp_path / "bert").mkdir()
    bert = build_tiny_bert(tmp_path / "bert")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-m", "workbench", *ARGS, "-o", str(tmp_path / "o.conll"),
                        "-p", "align.simalign.v1", "--option", f"model={bert}", "--option", "device=cpu"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Loading weights" not in r.stderr and "it/s" not in r.stderr
