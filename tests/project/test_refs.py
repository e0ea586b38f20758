"""Stage-aware refs: ``project NAME`` projects the translation, not a version already projected or
filtered (whose spans would be projected onto their own text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.core.errors import StoreError
from workbench.filter import filter_version
from workbench.load import ingest
from workbench.project import project
from workbench.translate import attach

ROOT = Path(__file__).resolve().parents[2]
FAST = {"n_runs": 1}


@pytest.fixture
def filtered(store, sample_conll):
    src = ingest(sample_conll, name="s", lang="en", store=store)
    tv = attach(src, ROOT / "data" / "sample-de.txt", tgt_lang="de", store=store)
    pv = project(tv, store=store, options=FAST)
    fv = filter_version(pv, filters=["projection-complete.v1"], store=store).version
    return src, tv, pv, fv


def test_a_corpus_name_means_its_translation(store, filtered):
    src, tv, pv, fv = filtered
    assert store.resolve("s.de") == fv  # the newest version of the corpus is the filtered one
    again = project("s.de", store=store, options=FAST)
    assert again == pv  # the translation projected with the same signature: the stored version


def test_a_projected_or_filtered_version_is_refused_naming_the_translation(store, filtered):
    src, tv, pv, fv = filtered
    for ref in (pv.ref, fv.ref):
        with pytest.raises(StoreError, match=f"the translation it descends from, {tv.ref}") as ei:
            project(ref, store=store, options=FAST)
        assert f"project {tv.ref}" in ei.value.fix
    assert len(store.versions()) == 4


def test_the_cli_translate_of_a_translation_warns(store, filtered):
    r = CliRunner().invoke(app, ["translate", "s.de@1", "-m", "no-such-model", "--src-lang", "de",
                                 "--tgt-lang", "fr", "--db", str(store.path)], env={"COLUMNS": "200"})
    assert "warning: s.de@1 is a translate version" in r.output
