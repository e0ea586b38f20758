"""ingest checks what it is told before it stores anything: the language code, and that the corpus
name is not one another stage writes to."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.core.errors import LanguageError, StoreError
from workbench.load import ingest
from workbench.translate import attach

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("code", ["english", "xx", "e n"])
def test_an_unknown_language_code_is_refused(store, sample_conll, code):
    with pytest.raises(LanguageError, match="unknown language code"):
        ingest(sample_conll, name="s", lang=code, store=store)
    assert store.versions() == []


@pytest.mark.parametrize("code,tag", [("EN", "en"), ("eng", "en"), ("en", "en"), ("pcm", "pcm"), ("zh-Hant", "zh-Hant")])
def test_a_language_code_is_stored_normalised(store, sample_conll, code, tag):
    v = ingest(sample_conll, name="s", lang=code, store=store)
    assert v.lang == tag and next(store.examples(v)).lang == tag


def test_ingest_never_appends_to_a_corpus_another_stage_made(store, sample_conll):
    src = ingest(sample_conll, name="s", lang="en", store=store)
    attach(src, ROOT / "data" / "sample-de.txt", tgt_lang="de", store=store)
    with pytest.raises(StoreError, match=r"made by the translate stage \(s.de@1\)") as ei:
        ingest(sample_conll, name="s.de", lang="en", store=store)
    assert "another --name" in ei.value.fix
    assert [v.ref for v in store.versions()] == ["s@1", "s.de@1"]


def test_the_cli_says_so_without_a_traceback(store, sample_conll):
    r = CliRunner().invoke(app, ["ingest", str(sample_conll), "--name", "s", "--lang", "english",
                                 "--db", str(store.path)], env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "unknown language code 'english'" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_re_ingested_export_keeps_its_language(store, sample_conll, tmp_path, suffix):
    from workbench.export import export

    src = ingest(sample_conll, name="s", lang="en", store=store)
    de = attach(src, ROOT / "data" / "sample-de.txt", tgt_lang="de", store=store)
    out = tmp_path / f"de{suffix}"
    export(de, out, store=store)
    again = ingest(out, name="again", store=store)  # no --lang: the examples carry it
    assert again.lang == "de" and next(store.examples(again)).lang == "de"
    assert ingest(sample_conll, name="plain", store=store).lang is None  # CoNLL carries none
