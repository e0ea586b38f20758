"""Model directories as a user's converter leaves them: ``ct2-transformers-converter --model HF
--output_dir D --copy_files <tokenizer files>`` (``config.json``, ``model.bin``,
``shared_vocabulary.json`` and the SentencePiece files; no workbench metadata) translate with no
extra file or flag; a single-pair model whose files do not name its pair is refused until told."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.translate import MAX_POSITIONS, ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import LanguageError
from workbench.mt.models import convert, list_models, load_model, open_model

ROOT = Path(__file__).resolve().parents[2]
COPY = {"marian": ["source.spm", "target.spm"], "marian-pair": ["source.spm", "target.spm"],
        "m2m100": ["sentencepiece.bpe.model"], "nllb": ["sentencepiece.bpe.model"],
        "madlad": ["spiece.model"]}
FAMILY = {"marian": "marian.v1", "marian-pair": "marian.v1", "m2m100": "m2m100.v1", "nllb": "nllb.v1",
          "madlad": "madlad.v1"}
TARGET = {"marian": "de", "marian-pair": "de", "m2m100": "de", "nllb": "de", "madlad": "de"}
OPTS = dict(max_decoding_length=6, beam_size=1, read_chunk=8)


def _converter() -> str:
    exe = Path(sys.executable).parent / "ct2-transformers-converter"
    if not exe.exists():
        pytest.skip("ct2-transformers-converter not installed (pip install ctranslate2)")
    return str(exe)


@pytest.fixture(scope="module")
def converted(hf_models, tmp_path_factory):  # noqa: F811
    """Each tiny Hugging Face model converted by the converter command itself, into a directory
    whose name says nothing (``out-<kind>``)."""
    root = tmp_path_factory.mktemp("converted")
    out = {}
    for kind, files in COPY.items():
        d = root / f"out-{kind}"
        r = subprocess.run([_converter(), "--model", str(hf_models[kind]), "--output_dir", str(d),
                            "--quantization", "int8", "--copy_files", *files],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert not (d / "workbench.json").exists() and not (d / "hf_config.json").exists()
        out[kind] = d
    return out


@pytest.mark.parametrize("kind", list(COPY))
def test_the_family_and_the_input_limit_come_from_the_directory(converted, kind):
    m = open_model(converted[kind])
    assert m.family.name == FAMILY[kind]
    # the position table of model.bin; T5 (MADLAD) has relative positions and no table
    want = 1024 if kind == "madlad" else MAX_POSITIONS
    assert m.max_input_length == want


@pytest.mark.parametrize("kind", ["marian", "m2m100", "nllb", "madlad"])
def test_a_converted_directory_translates_with_no_extra_file_or_flag(converted, ct2_models, kind, store):  # noqa: F811
    """... and translates exactly as the same model converted by ``workbench models convert``."""
    from workbench.load import ingest
    from workbench.translate import TranslateOptions, translate

    src = ingest(ROOT / "data" / "sample-en.conll", name="s", lang="en", store=store)
    (v,) = translate(src, model=str(converted[kind]), src_lang="en", tgt_langs=TARGET[kind], store=store,
                     options=TranslateOptions(**OPTS))
    (w,) = translate(src, model=str(ct2_models[kind]), src_lang="en", tgt_langs=TARGET[kind], store=store,
                     options=TranslateOptions(**OPTS, name="ours.{tgt}"))
    assert v.n_examples == src.n_examples and v.corpus == "s.de"
    assert [ex.text for ex in store.examples(v)] == [ex.text for ex in store.examples(w)]


def test_a_pair_model_is_refused_until_its_pair_is_known(converted, store):
    from workbench.load import ingest
    from workbench.translate import TranslateOptions, translate

    src = ingest(ROOT / "data" / "sample-en.conll", name="s", lang="en", store=store)
    model = str(converted["marian-pair"])
    with pytest.raises(LanguageError, match="translates one language pair") as ei:
        translate(src, model=model, src_lang="en", tgt_langs="fr", store=store, options=TranslateOptions(**OPTS))
    assert "--pair en-de" in ei.value.fix
    with pytest.raises(LanguageError, match="translates en -> de, not target language 'fr'"):
        translate(src, model=model, src_lang="en", tgt_langs="fr", store=store,
                  options=TranslateOptions(**OPTS, pair="en-de"))
    assert [x.ref for x in store.versions()] == ["s@1"]  # nothing stored as .fr
    (v,) = translate(src, model=model, src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(**OPTS, pair="en-de"))
    assert v.corpus == "s.de"
    assert open_model(converted["marian-pair"], pair="en-de").family.summary() == "OPUS-MT, en -> de"


def test_a_pair_in_the_directory_name_is_read(converted, tmp_path):
    import shutil

    d = tmp_path / "opus-mt-en-de-ct2"
    shutil.copytree(converted["marian-pair"], d)
    fam = open_model(d).family
    assert fam.pair == ("en", "de") and fam.token("de") is None
    with pytest.raises(LanguageError, match="not target language 'fr'"):
        fam.token("fr")


def test_the_cli_takes_pair_and_family(converted, store):
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.load import ingest

    ingest(ROOT / "data" / "sample-en.conll", name="s", lang="en", store=store)
    base = ["translate", "s", "-m", str(converted["marian-pair"]), "--src-lang", "en", "--tgt-lang", "de",
            "--max-decoding-length", "6", "--beam-size", "1", "--quiet", "--db", str(store.path)]
    r = CliRunner().invoke(app, base, env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "--pair en-de" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, [*base, "--pair", "en-de", "--family", "marian.v1"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert [v.ref for v in store.versions()] == ["s@1", "s.de@1"]


def test_models_list_names_are_accepted_and_convert_describes_a_ct2_directory(converted, hf_models,  # noqa: F811
                                                                              tmp_path):
    from typer.testing import CliRunner

    from workbench.cli import app

    home = tmp_path / "home"
    convert(hf_models["marian-pair"], home=home)
    (info,) = list_models(home)
    m = load_model(info.name, home=home)  # the name column of `models list`
    assert m.path == info.path and m.family.summary() == "OPUS-MT, en -> de"  # tiny-opus-en-de
    r = CliRunner().invoke(app, ["models", "convert", str(converted["marian"])], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "is a CTranslate2 model already" in r.output and "OPUS-MT" in r.output
