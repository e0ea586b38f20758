"""Model families, language tokens, conversion and the model cache, on tiny converted models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import LanguageError, ModelError
from workbench.mt.families import FAMILIES, detect_family
from workbench.mt.languages import LANGUAGES
from workbench.mt.models import convert, list_models, load_model, open_model

EXPECTED = {"marian": "marian.v1", "marian-pair": "marian.v1", "m2m100": "m2m100.v1",
            "nllb": "nllb.v1", "madlad": "madlad.v1"}


def test_language_table_has_one_row_per_short_code():
    assert LANGUAGES["de"] == ("deu_Latn", "deu")
    assert all(len(fl) == 8 and fl[3] == "_" for fl, _ in LANGUAGES.values())
    assert len({iso3 for _, iso3 in LANGUAGES.values()}) == len(LANGUAGES)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_convert_writes_family_tokenizer_files_and_limit(ct2_models, kind):  # noqa: F811
    path = ct2_models[kind]
    info = json.loads((path / "workbench.json").read_text())
    assert info["family"] == EXPECTED[kind]
    assert info["quantization"] == "int8"
    assert (path / "model.bin").exists() and (path / "hf_config.json").exists()
    assert any((path / f).exists() for f in ("source.spm", "sentencepiece.bpe.model", "spiece.model"))
    m = open_model(path)
    assert m.family.name == EXPECTED[kind]
    assert m.max_input_length == (512 if kind == "madlad" else 64)


@pytest.mark.parametrize("kind", ["marian", "m2m100", "nllb", "madlad"])
def test_family_detected_without_workbench_json(ct2_models, tmp_path, kind):  # noqa: F811
    copy = tmp_path / "m"
    shutil.copytree(ct2_models[kind], copy)
    (copy / "workbench.json").unlink()
    assert open_model(copy).family.name == EXPECTED[kind]


def test_nllb_and_m2m_share_an_architecture_but_not_tokens():
    nllb = {"eng_Latn", "deu_Latn", "spa_Latn", "<s>", "</s>"}
    m2m = {"__en__", "__de__", "__es__", "<s>", "</s>"}
    assert detect_family(nllb, "m2m_100") == "nllb.v1"
    assert detect_family(m2m, "m2m_100") == "m2m100.v1"
    assert detect_family({"a", "b"}, None, "NllbTokenizerFast") == "nllb.v1"
    with pytest.raises(ModelError, match="cannot tell the model family"):
        detect_family({"a", "b"}, "bert")


@pytest.mark.parametrize("kind,src,tgt,want_src,want_tgt", [
    ("nllb", "en", "de", "eng_Latn", "deu_Latn"),
    ("nllb", "eng_Latn", "spa_Latn", "eng_Latn", "spa_Latn"),
    ("m2m100", "en", "de", "__en__", "__de__"),
    ("madlad", "en", "de", None, "<2de>"),
    ("marian", "en", "de", None, ">>deu<<"),
    ("marian", "en", "spa", None, ">>spa<<"),
    ("marian-pair", "en", "de", None, None),
])
def test_language_tokens_resolve_against_the_vocabulary(ct2_models, kind, src, tgt, want_src,  # noqa: F811
                                                       want_tgt):
    fam = open_model(ct2_models[kind]).family
    assert fam.token(src, "source") == want_src
    assert fam.token(tgt, "target") == want_tgt
    if want_tgt is not None:
        assert want_tgt in fam.vocab


@pytest.mark.parametrize("kind,bad,suggestion", [
    ("nllb", "deu_latn", "deu_Latn"),
    ("m2m100", "__dee__", "de"),
    ("madlad", "<2dee>", "<2de>"),
    ("marian", "dee", "de"),
])
def test_unknown_code_is_a_language_error_with_close_matches(ct2_models, kind, bad, suggestion):  # noqa: F811
    fam = open_model(ct2_models[kind]).family
    with pytest.raises(LanguageError, match="unknown target language") as ei:
        fam.token(bad, "target")
    assert suggestion in ei.value.fix


@pytest.mark.parametrize("kind", ["nllb", "m2m100", "madlad", "marian"])
def test_known_but_unsupported_language_names_the_missing_token(ct2_models, kind):  # noqa: F811
    fam = open_model(ct2_models[kind]).family
    with pytest.raises(LanguageError, match="does not support 'ja'") as ei:
        fam.token("ja", "target")
    assert "supports" in ei.value.fix and "de" in ei.value.fix


def test_sequences_follow_each_family_convention(ct2_models):  # noqa: F811
    pcs = ["▁a", "b"]
    nllb = open_model(ct2_models["nllb"]).family
    assert nllb.source(pcs, "eng_Latn", "deu_Latn") == ["eng_Latn", "▁a", "b", "</s>"]
    assert nllb.prefix("deu_Latn") == ["deu_Latn"]
    madlad = open_model(ct2_models["madlad"]).family
    assert madlad.source(pcs, None, "<2de>") == ["<2de>", "▁a", "b", "</s>"]
    assert madlad.prefix("<2de>") is None
    marian = open_model(ct2_models["marian"]).family
    assert marian.source(pcs, None, ">>deu<<") == [">>deu<<", "▁a", "b", "</s>"]
    assert open_model(ct2_models["marian-pair"]).family.source(pcs, None, None) == ["▁a", "b", "</s>"]


def test_registry_is_filled_by_the_decorator():
    assert set(FAMILIES) >= {"nllb.v1", "m2m100.v1", "madlad.v1", "marian.v1"}


def test_load_model_by_id_from_the_cache_and_list(ct2_models, model_home, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WORKBENCH_HOME", str(model_home))
    m = load_model("tiny-nllb")
    assert m.path == ct2_models["nllb"] and m.name == "tiny-nllb"
    names = {i.name: i for i in list_models()}
    assert "tiny-nllb-ct2-int8" in names and names["tiny-nllb-ct2-int8"].family == "nllb.v1"
    assert names["tiny-nllb-ct2-int8"].size_mb > 0


def test_unknown_model_id_says_how_to_convert(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="workbench models convert"):
        load_model("nobody/no-such-model")


def test_hf_directory_is_not_a_ct2_model(hf_models):  # noqa: F811
    with pytest.raises(ModelError, match="convert it first"):
        load_model(hf_models["nllb"])


def test_convert_is_cached_and_content_hash_is_stable(ct2_models, hf_models, model_home):  # noqa: F811
    again = convert(hf_models["nllb"], quantization="int8", home=model_home)
    assert again == ct2_models["nllb"]
    a = open_model(again).content_hash()
    assert a == open_model(again).content_hash() and len(a) == 12
    assert a != open_model(ct2_models["m2m100"]).content_hash()


def test_models_cli_convert_and_list(hf_models, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from workbench.cli import app

    env = {"WORKBENCH_HOME": str(tmp_path), "COLUMNS": "250"}
    r = CliRunner().invoke(app, ["models", "convert", str(hf_models["m2m100"])], env=env)
    assert r.exit_code == 0, r.output
    assert "M2M-100" in r.output
    r = CliRunner().invoke(app, ["models", "list"], env=env)
    assert r.exit_code == 0 and "tiny-m2m100-ct2-int8" in r.output and "m2m100.v1" in r.output


def _offline_hub(monkeypatch, cache: Path) -> None:
    import huggingface_hub.constants as C

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(C, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(cache))


def test_convert_by_id_from_the_hf_cache_offline(hf_models, tmp_path, monkeypatch):  # noqa: F811
    """Everything after the download runs offline: an id already in the HF cache converts."""
    cache = tmp_path / "hub"
    repo = cache / "models--tiny--m2m"
    rev = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(hf_models["m2m100"], repo / "snapshots" / rev)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    _offline_hub(monkeypatch, cache)
    out = convert("tiny/m2m", home=tmp_path / "home")
    assert out.name == "tiny--m2m-ct2-int8"
    info = json.loads((out / "workbench.json").read_text())
    assert info["source"] == "tiny/m2m" and info["family"] == "m2m100.v1"
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    assert load_model("tiny/m2m").path == out


def test_convert_of_an_uncached_id_fails_at_the_download(tmp_path, monkeypatch):
    _offline_hub(monkeypatch, tmp_path / "hub")
    with pytest.raises(ModelError, match="cannot download 'nobody/no-such-model'") as ei:
        convert("nobody/no-such-model", home=tmp_path / "home")
    assert "HF_HUB_OFFLINE" in ei.value.fix


def test_opus_pair_model_checks_the_pair_in_its_name(ct2_models):  # noqa: F811
    m = open_model(ct2_models["marian-pair"], name="Helsinki-NLP/opus-mt-en-de")
    assert m.family.token("de") is None and m.family.token("en", "source") is None
    with pytest.raises(LanguageError, match="translates en -> de, not target language 'es'") as ei:
        m.family.token("es")
    assert "opus-mt-en-es" in ei.value.fix
    with pytest.raises(LanguageError, match="not source language 'fr'"):
        m.family.token("fr", "source")
