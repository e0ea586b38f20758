"""Hugging Face datasets with configs: a Hub-layout directory (a workbench hf export, a cloned
dataset repository) with several configs is never read as its default one without a word, and
``--config``/``--revision`` reach ``load_dataset``; a Hub id offline is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.store.store import Store

DATA = Path(__file__).resolve().parents[2] / "data"
# no HF_HUB_OFFLINE here: huggingface_hub reads it once, at import, for the whole process (the
# Hub-id test sets it in a subprocess of its own); local directories need no network
ENV = {"COLUMNS": "200"}


def _run(*args: str):
    r = CliRunner().invoke(app, list(args), env=ENV)
    assert "Traceback" not in r.output
    return r


@pytest.fixture(scope="module")
def two_configs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hfcfg")
    db = str(d / "src.duckdb")
    assert _run("ingest", str(DATA / "sample-en.conll"), "--name", "en", "--lang", "en", "--db", db).exit_code == 0
    assert _run("ingest", str(DATA / "sample-de.conll"), "--name", "de", "--lang", "de", "--db", db).exit_code == 0
    r = _run("export", "en", "de", "-f", "hf", "-o", str(d / "hf"), "--db", db)
    assert r.exit_code == 0, r.output
    return d / "hf"


def test_several_configs_without_config_is_an_error_listing_them(two_configs, tmp_path) -> None:
    db = tmp_path / "wb.duckdb"
    r = _run("ingest", str(two_configs), "--name", "back", "--db", str(db))
    assert r.exit_code == 1
    assert "the dataset has 2 configs: de, en" in r.output and "--config de" in r.output
    assert not db.exists() or Store(db).versions() == []


def test_config_chooses_one_and_keeps_its_language(two_configs, tmp_path) -> None:
    db = tmp_path / "wb.duckdb"
    r = _run("ingest", str(two_configs), "--config", "de", "--name", "back", "--db", str(db))
    assert r.exit_code == 0, r.output
    [v] = Store(db).versions()
    assert v.lang == "de" and v.n_examples == 36
    ex = next(iter(Store(db).examples(v)))
    assert ex.lang == "de" and ex.id == "sample-001" and ex.tokens[0] == "Maria"
    en = _run("ingest", str(two_configs), "--config", "en", "--name", "back-en", "--db", str(db))
    assert en.exit_code == 0 and Store(db).resolve("back-en").lang == "en"
    assert Store(db).resolve("back-en").signature != v.signature  # the config is part of it


def test_an_unknown_config_lists_the_available_ones(two_configs, tmp_path) -> None:
    r = _run("ingest", str(two_configs), "--config", "xx", "--name", "b", "--db", str(tmp_path / "wb.duckdb"))
    assert r.exit_code == 1 and "no config 'xx'" in r.output and "'de', 'en'" in r.output


def test_a_hub_id_offline_is_a_clear_error(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "PYTHONPATH": str(DATA.parent), "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "workbench", "ingest", "wikiann", "--config", "sw", "--revision",
                        "main", "--name", "w", "--db", str(tmp_path / "wb.duckdb")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "error: wikiann: cannot load dataset" in r.stderr and "Hub" in r.stderr


def test_config_is_for_datasets_only(tmp_path) -> None:
    r = _run("ingest", str(DATA / "sample-en.conll"), "--config", "de", "--name", "x",
             "--db", str(tmp_path / "wb.duckdb"))
    assert r.exit_code == 2 and "--config is for HF datasets" in r.output


def test_an_export_of_other_refs_is_replaced_only_with_overwrite(two_configs, tmp_path) -> None:
    import shutil

    d = tmp_path / "hf"
    shutil.copytree(two_configs, d)
    db = str(two_configs.parent / "src.duckdb")
    r = _run("export", "de", "-f", "hf", "-o", str(d), "--db", db)
    assert r.exit_code == 1 and "would drop en (en@1)" in r.output and "--overwrite" in r.output
    assert sorted(p.name for p in (d / "data").iterdir()) == ["de", "en"]  # untouched
    assert _run("export", "en", "de", "-f", "hf", "-o", str(d), "--db", db).exit_code == 0  # the same refs
    assert _run("export", "de", "-f", "hf", "-o", str(d), "--db", db, "--overwrite").exit_code == 0
    assert sorted(p.name for p in (d / "data").iterdir()) == ["de"]
