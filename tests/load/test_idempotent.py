"""A stage whose input and signature are stored returns that version: ingest as well, a directory
hashed by content; two identical ingests at once end with one version."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from workbench.cli import app
from workbench.load import ingest
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_the_same_input_under_the_same_name_is_one_version(store, sample_conll):
    v = ingest(sample_conll, name="s", lang="en", store=store)
    assert ingest(sample_conll, name="s", lang="en", store=store) == v
    assert ingest(sample_conll, name="s", lang="EN", store=store) == v  # the same language, normalised
    assert ingest(sample_conll, name="s", lang="en", store=store, force=True).ref == "s@2"
    assert ingest(sample_conll, name="other", lang="en", store=store).ref == "other@1"


def test_the_cli_says_it_was_stored_already(store, sample_conll):
    args = ["ingest", str(sample_conll), "--name", "s", "--db", str(store.path)]
    assert "stored s@1" in CliRunner().invoke(app, args).output
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and "already stored s@1" in r.output and "--force" in r.output
    assert "stored s@2" in CliRunner().invoke(app, [*args, "--force"]).output


def test_a_dataset_directory_is_hashed_by_content(store, tmp_path):
    import datasets

    d = tmp_path / "ds"
    datasets.Dataset.from_dict({"tokens": [["Paris", "is", "old"]], "ner_tags": [["B-LOC", "O", "O"]]}).save_to_disk(str(d))
    v = ingest(d, name="d", store=store)
    for f in d.rglob("*"):  # the same content with new times: the same version
        if f.is_file():
            os.utime(f, (time.time() + 100, time.time() + 100))
    assert ingest(d, name="d", store=store) == v
    import shutil

    shutil.rmtree(d)
    datasets.Dataset.from_dict({"tokens": [["Lima", "is", "old"]], "ner_tags": [["B-LOC", "O", "O"]]}).save_to_disk(str(d))
    assert ingest(d, name="d", store=store).ref == "d@2"  # other content: a new version


def test_two_identical_ingests_at_once_make_one_version(tmp_path, sample_conll):
    big = tmp_path / "big.conll"
    with big.open("w") as f:
        for i in range(3000):
            f.write(f"# sent_id = b{i}\nMaria\tB-PER\nlives\tO\nin\tO\nLima\tB-LOC\n.\tO\n\n")
    db = tmp_path / "wb.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "workbench", "ingest", str(big), "--name", "big", "--db", str(db)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert [v.ref for v in Store(db).versions()] == ["big@1"]
