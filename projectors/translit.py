"""Transliteration as lexical evidence: a Latin-script name against a token of another script.

Tokens in Cyrillic, Greek, Han... are romanised with ``anyascii`` (the ``[align]`` extra; without
it nothing matches) and spellings are folded on both sides ("Обама" -> "obama", "奧巴馬" ->
"aobama" -> "obama"), then compared by a sequence-match ratio.
"""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

__all__ = ["translit_similarity"]


def _fold(tok: str) -> str:
    t = unicodedata.normalize("NFKD", tok.casefold())
    return "".join(c for c in t if not unicodedata.combining(c))


try:  # the [align] extra; without it transliteration is off
    from anyascii import anyascii as _anyascii
except ImportError:  # pragma: no cover - depends on the environment
    _anyascii = None

# spelling differences between English and romanised Cyrillic / pinyin, folded away
_SKELETON = (("dzh", "j"), ("sch", "sh"), ("ph", "f"), ("ck", "k"), ("c", "k"), ("q", "k"),
             ("w", "v"), ("x", "ks"), ("y", "i"), ("h", ""))


def _skeleton(word: str) -> str:
    w = "".join(c for c in word if c.isalpha())
    for a, b in _SKELETON:
        w = w.replace(a, b)
    return "".join(c for k, c in enumerate(w) if k == 0 or c != w[k - 1])


@lru_cache(maxsize=1 << 16)
def _romanised(tok: str) -> str:
    """A token of a non-Latin script romanised and folded (``""`` for Latin-script tokens)."""
    if _anyascii is None or not any(c.isalpha() and not c.isascii() and not unicodedata.name(
            c, "").startswith("LATIN") for c in tok):
        return ""
    return _skeleton(_anyascii(tok).lower())


# pinyin spellings of transliterated names, folded towards the English ones (爾 er ~ l, 奧 ao ~ o)
_PINYIN = (("er", "l"), ("ao", "o"), ("uo", "o"), ("ie", "e"), ("ei", "e"), ("ai", "a"), ("ou", "o"))
_CONSONANTS = str.maketrans({"r": "l", "v": "f", "b": "p", "d": "t", "g": "k", "z": "s"})


def _consonants(w: str) -> str:
    return "".join(c for c in w if c not in "aeiou").translate(_CONSONANTS)


@lru_cache(maxsize=1 << 16)
def _latin_skeleton(a: str) -> str:
    return _skeleton(_fold(a))


def _ratio(a: str, b: str, at_least: float) -> float:
    """``SequenceMatcher(a, b).ratio()``, or 0 when its cheap upper bound is below ``at_least``
    (callers only use ratios of at least that much, so the result is the same)."""
    sm = SequenceMatcher(None, a, b, autojunk=False)
    if sm.real_quick_ratio() < at_least or sm.quick_ratio() < at_least:
        return 0.0
    return sm.ratio()


def translit_similarity(a: str, b: str) -> float:
    """How well a (Latin-script) name matches a token of another script once romanised: 0, or
    in [0.75, 0.85] when their folded spellings agree (a sequence-match ratio of at least 0.7 on
    the letters, or on the consonants, voicing and l/r folded, for pinyin's added vowels)."""
    rb = _romanised(b)
    if not rb:
        return 0.0
    sa = _latin_skeleton(a)
    if len(sa) < 3 or len(rb) < 3:
        return 0.0
    ratio = _ratio(sa, rb, 0.7)
    if any(unicodedata.name(c, "").startswith("CJK") for c in b):
        for x, y in _PINYIN:
            rb = rb.replace(x, y)
        ca, cb = _consonants(sa), _consonants(rb)
        if len(ca) >= 2 and len(cb) >= 2 and _ratio(sa, rb, 0.5) >= 0.5:
            ratio = max(ratio, _ratio(ca, cb, 0.75) - 0.05)
    return 0.0 if ratio < 0.7 else round(0.75 + (ratio - 0.7) / 3, 4)
