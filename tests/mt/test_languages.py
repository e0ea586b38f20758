"""Language codes: every language a family's vocabulary has is addressable by ISO 639-1/639-3,
BCP-47 or the family's own code, and named by one normalised tag."""

from __future__ import annotations

import pytest

from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from workbench.core.errors import LanguageError
from workbench.mt.families import FAMILIES
from workbench.mt.languages import parse, short_code
from workbench.mt.models import open_model

#: the low-resource languages the tool is for, with their NLLB-200 (FLORES-200) tokens
LOW_RESOURCE = {"rw": "kin_Latn", "lg": "lug_Latn", "tw": "twi_Latn", "ee": "ewe_Latn", "wo": "wol_Latn",
                "ny": "nya_Latn", "sn": "sna_Latn", "qu": "quy_Latn", "ckb": "ckb_Arab"}


@pytest.mark.parametrize("code,tag", [
    ("de", "de"), ("deu", "de"), ("deu_Latn", "de"), ("DE", "de"), ("de-DE", "de-DE"),
    ("zh", "zh"), ("zh-Hans", "zh"), ("zho_Hans", "zh"), ("zh-Hant", "zh-Hant"), ("zho_Hant", "zh-Hant"),
    ("pt-BR", "pt-BR"), ("kin", "rw"), ("kin_Latn", "rw"), ("pcm", "pcm"), ("ckb_Arab", "ckb"),
    ("sr-Latn", "sr-Latn"),
])
def test_codes_are_normalised_to_one_tag(code, tag):
    assert short_code(code) == tag


@pytest.mark.parametrize("code", ["xx", "english", "deu_latn", "__de__", "<2de>", "", "und"])
def test_what_names_no_language_is_none(code):
    assert parse(code) is None


def test_every_nllb_language_is_addressable():
    vocab = {*LOW_RESOURCE.values(), "zho_Hans", "zho_Hant", "por_Latn", "eng_Latn", "arb_Arab", "</s>"}
    fam = FAMILIES["nllb.v1"](vocab, "nllb")
    for short, token in LOW_RESOURCE.items():
        assert fam.token(short) == token, short
    assert fam.token("zh") == "zho_Hans" and fam.token("zh-Hant") == "zho_Hant"
    assert fam.token("pt-BR") == "por_Latn" and fam.token("ar") == "arb_Arab"
    assert fam.token("kin_Latn") == "kin_Latn"
    assert set(fam.supported()) == {*LOW_RESOURCE, "zh", "zh-Hant", "pt", "en", "ar"}
    with pytest.raises(LanguageError, match="does not support 'ja'"):
        fam.token("ja")


def test_every_family_takes_bcp47_codes():
    m2m = FAMILIES["m2m100.v1"]({"__en__", "__zh__", "__pt__", "__ast__"}, "m2m")
    assert m2m.token("zh-Hant") == "__zh__" and m2m.token("pt-BR") == "__pt__" and m2m.token("ast") == "__ast__"
    marian = FAMILIES["marian.v1"]({">>kin<<", ">>zho_Hant<<", ">>zho<<", ">>por<<"}, "opus-mt-en-mul")
    assert marian.token("rw") == ">>kin<<" and marian.token("zh-Hant") == ">>zho_Hant<<"
    assert marian.token("zh") == ">>zho<<" and marian.token("pt-BR") == ">>por<<"
    madlad = FAMILIES["madlad.v1"]({"<2rw>", "<2zh>", "<2zh_Hant>", "<2pcm>"}, "madlad")
    assert madlad.token("rw") == "<2rw>" and madlad.token("zh-Hant") == "<2zh_Hant>"
    assert madlad.token("pcm") == "<2pcm>" and set(madlad.supported()) == {"rw", "zh", "zh-Hant", "pcm"}


def test_a_model_reports_the_languages_its_vocabulary_has(ct2_models):  # noqa: F811
    assert open_model(ct2_models["nllb"]).family.summary() == "NLLB-200, 4 languages"
    assert open_model(ct2_models["madlad"]).family.supported() == ["de", "en", "es", "fr"]
