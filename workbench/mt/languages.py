"""Language codes: what a user types (ISO 639-1 or 639-3, BCP-47 such as ``zh-Hant`` or ``pt-BR``,
FLORES-200 such as ``deu_Latn``) parsed into one :class:`Lang`, and named by one normalised tag.

NLLB-200 uses FLORES-200 codes (``deu_Latn``), OPUS-MT multi-target models ISO 639-3 codes
(``>>deu<<``); M2M-100 (``__de__``) and MADLAD-400 (``<2de>``) use the short code itself. Codes are
parsed with ``langcodes`` (every registered language); :data:`LANGUAGES` is the table of the
choices a parser cannot make: the individual language a family uses for a macrolanguage (``ar`` ->
``arb_Arab``, ``fa`` -> ``pes_Arab``, ``qu`` -> ``quy_Latn``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["LANGUAGES", "Lang", "parse", "short_code"]

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
    # macrolanguages and individual languages the families use for them
    "qu": ("quy_Latn", "que"), "ku": ("kmr_Latn", "kur"), "mg": ("plt_Latn", "mlg"),
    "om": ("gaz_Latn", "orm"), "ps": ("pbt_Arab", "pus"), "ay": ("ayr_Latn", "aym"),
    "kr": ("knc_Latn", "kau"), "yi": ("ydd_Hebr", "yid"), "gn": ("grn_Latn", "grn"),
}
_BY_ISO3 = {iso3: short for short, (_, iso3) in LANGUAGES.items()}
_BY_FLORES = {fl: short for short, (fl, _) in LANGUAGES.items()}
_FLORES_RE = re.compile(r"^([a-z]{3})_([A-Z][a-z]{3})$")


@dataclass(frozen=True)
class Lang:
    """A parsed language code.

    Attributes:
        tag: the normalised name (``de``, ``zh-Hant``, ``pt-BR``, ``pcm``): corpora are named by it.
        language: the language subtag (``de``, ``zh``, ``pcm``).
        iso3: its ISO 639-3 code (``deu``, ``zho``, ``pcm``).
        script: the script named by the code (``Hant``), or ``None`` for the language's usual one.
        likely_script: the script the language is written in by default (``Latn``, ``Hans``).
        common: in :data:`LANGUAGES` or with an ISO 639-1 code (a three-letter code without one, such
            as ``dee``, is more often a typo than a language the user means).
    """

    tag: str
    language: str
    iso3: str
    script: str | None
    likely_script: str
    common: bool


@lru_cache(maxsize=4096)
def parse(code: str) -> Lang | None:
    """The language ``code`` names (short, ISO 639-3, BCP-47 or FLORES-200), or ``None``."""
    import langcodes

    code = code.strip()
    if code in _BY_FLORES:
        code = _BY_FLORES[code]
    elif code in _BY_ISO3:
        code = _BY_ISO3[code]
    script = None
    m = _FLORES_RE.match(code)
    if m:
        code, script = m.group(1), m.group(2)
    elif "_" in code or not code or not langcodes.tag_is_valid(code):
        return None  # underscores belong to FLORES-200 codes only (``deu_Latn``)
    try:
        lang = langcodes.Language.get(code)
        likely = langcodes.Language.get(lang.language or "und").maximize().script or "Latn"
        iso3 = lang.to_alpha3()
    except (langcodes.LanguageTagError, LookupError, ValueError):
        return None
    if not lang.language or lang.language in ("und", "mul", "zxx", "mis"):
        return None
    script = script or lang.script
    if script == likely:
        script = None
    tag = lang.language + (f"-{script}" if script else "") + (f"-{lang.territory}" if lang.territory else "")
    if code in LANGUAGES and not script and not lang.territory:
        tag = code
    return Lang(tag, lang.language, iso3, script, likely, tag in LANGUAGES or len(lang.language) == 2)


def short_code(code: str) -> str | None:
    """The normalised tag for a code (``deu_Latn``, ``deu``, ``de-DE``... -> ``de``; ``zho_Hant``
    -> ``zh-Hant``), ``None`` if it names no language."""
    lang = parse(code)
    return lang.tag if lang else None
