"""One explicit table from short ISO 639-1 codes to the codes of each model family.

NLLB-200 uses FLORES-200 codes (``deu_Latn``), OPUS-MT multi-target models ISO 639-3 codes
(``>>deu<<``); M2M-100 (``__de__``) and MADLAD-400 (``<2de>``) use the short code itself.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "short_code"]

#: short ISO 639-1 code -> (FLORES-200 code used by NLLB, ISO 639-3 code used by OPUS-MT).
#: M2M-100 (``__de__``) and MADLAD-400 (``<2de>``) use the short code itself.
LANGUAGES: dict[str, tuple[str, str]] = {
    "af": ("afr_Latn", "afr"), "am": ("amh_Ethi", "amh"), "ar": ("arb_Arab", "ara"),
    "az": ("azj_Latn", "aze"), "be": ("bel_Cyrl", "bel"), "bg": ("bul_Cyrl", "bul"),
    "bn": ("ben_Beng", "ben"), "bs": ("bos_Latn", "bos"), "ca": ("cat_Latn", "cat"),
    "cs": ("ces_Latn", "ces"), "cy": ("cym_Latn", "cym"), "da": ("dan_Latn", "dan"),
    "de": ("deu_Latn", "deu"), "el": ("ell_Grek", "ell"), "en": ("eng_Latn", "eng"),
    "es": ("spa_Latn", "spa"), "et": ("est_Latn", "est"), "eu": ("eus_Latn", "eus"),
    "fa": ("pes_Arab", "fas"), "fi": ("fin_Latn", "fin"), "fr": ("fra_Latn", "fra"),
    "ga": ("gle_Latn", "gle"), "gl": ("glg_Latn", "glg"), "gu": ("guj_Gujr", "guj"),
    "ha": ("hau_Latn", "hau"), "he": ("heb_Hebr", "heb"), "hi": ("hin_Deva", "hin"),
    "hr": ("hrv_Latn", "hrv"), "hu": ("hun_Latn", "hun"), "hy": ("hye_Armn", "hye"),
    "id": ("ind_Latn", "ind"), "ig": ("ibo_Latn", "ibo"), "is": ("isl_Latn", "isl"),
    "it": ("ita_Latn", "ita"), "ja": ("jpn_Jpan", "jpn"), "ka": ("kat_Geor", "kat"),
    "kk": ("kaz_Cyrl", "kaz"), "km": ("khm_Khmr", "khm"), "kn": ("kan_Knda", "kan"),
    "ko": ("kor_Hang", "kor"), "lt": ("lit_Latn", "lit"), "lv": ("lvs_Latn", "lav"),
    "mk": ("mkd_Cyrl", "mkd"), "ml": ("mal_Mlym", "mal"), "mn": ("khk_Cyrl", "mon"),
    "mr": ("mar_Deva", "mar"), "ms": ("zsm_Latn", "msa"), "mt": ("mlt_Latn", "mlt"),
    "my": ("mya_Mymr", "mya"), "ne": ("npi_Deva", "nep"), "nl": ("nld_Latn", "nld"),
    "no": ("nob_Latn", "nor"), "pa": ("pan_Guru", "pan"), "pl": ("pol_Latn", "pol"),
    "pt": ("por_Latn", "por"), "ro": ("ron_Latn", "ron"), "ru": ("rus_Cyrl", "rus"),
    "si": ("sin_Sinh", "sin"), "sk": ("slk_Latn", "slk"), "sl": ("slv_Latn", "slv"),
    "so": ("som_Latn", "som"), "sq": ("als_Latn", "sqi"), "sr": ("srp_Cyrl", "srp"),
    "sv": ("swe_Latn", "swe"), "sw": ("swh_Latn", "swa"), "ta": ("tam_Taml", "tam"),
    "te": ("tel_Telu", "tel"), "th": ("tha_Thai", "tha"), "tl": ("tgl_Latn", "tgl"),
    "tr": ("tur_Latn", "tur"), "uk": ("ukr_Cyrl", "ukr"), "ur": ("urd_Arab", "urd"),
    "uz": ("uzn_Latn", "uzb"), "vi": ("vie_Latn", "vie"), "xh": ("xho_Latn", "xho"),
    "yo": ("yor_Latn", "yor"), "zh": ("zho_Hans", "zho"), "zu": ("zul_Latn", "zul"),
}
_BY_ISO3 = {iso3: short for short, (_, iso3) in LANGUAGES.items()}
_BY_FLORES = {fl: short for short, (fl, _) in LANGUAGES.items()}


def short_code(code: str) -> str | None:
    """The short ISO code for a short, ISO 639-3 or FLORES-200 code (``None`` if unknown)."""
    if code in LANGUAGES:
        return code
    return _BY_FLORES.get(code) or _BY_ISO3.get(code)
