"""Base classes, registry and text helpers of the quality filters (see :mod:`workbench.filter.registry`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.core.records import Example, tokenize

if TYPE_CHECKING:
    from workbench.store.store import Store, Version

__all__ = ["Filter", "Decision", "Item", "FilterContext", "named", "lang_base", "normalize_text"]


def named(name: str):
    """Class decorator: the versioned name of a filter, such as ``"copy.v1"`` (the table of
    names is :data:`workbench.filter.registry.FILTERS`)."""

    def deco(cls: type[Filter]) -> type[Filter]:
        cls.name = name
        return cls

    return deco




@dataclass(frozen=True)
class Decision:
    """One filter's verdict on one example.

    Attributes:
        kept: whether this filter keeps the example.
        reason: short categorical reason, e.g. ``"too-long"`` or ``"ok"``.
        detail: the reason in words, with the numbers.
        value: the measured value the decision was based on (``None`` when nothing was measured).
    """

    kept: bool
    reason: str = "ok"
    detail: str = ""
    value: float | None = None


@dataclass
class Item:
    """An example to judge with its source-language example (same id), when there is one."""

    example: Example
    source: Example | None = None

    @property
    def src_text(self) -> str | None:
        t = self.example.meta.get("src_text")
        if t is None and self.source is not None:
            t = self.source.text
        return t

    @property
    def src_lang(self) -> str:
        return self.example.meta.get("src_lang") or (self.source.lang if self.source else "") or ""


@dataclass
class FilterContext:
    """What :meth:`Filter.prepare` may look at: the store, the input version and its source."""

    store: Store
    version: Version
    source: Version | None
    lineage: list[Version] = field(default_factory=list)  # input version and its first parents


class Filter:
    """Base class: subclasses are dataclasses registered with :func:`register`."""

    name: ClassVar[str] = ""
    #: stateful filters remember examples; the stage runs them after stateless ones.
    stateful: ClassVar[bool] = False

    def prepare(self, ctx: FilterContext) -> None:
        """Check the input and compute corpus-level thresholds before the first batch."""

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        """One decision per item. ``alive[i]`` says whether earlier filters kept item ``i``."""
        return [self.decide_one(it) for it in items]

    def decide_one(self, item: Item) -> Decision:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The options as a dict (they go into the version's signature)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


# -- languages ---------------------------------------------------------------------------------

_ISO3 = {
    "eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it",
    "por": "pt", "nld": "nl", "dut": "nl", "rus": "ru", "ukr": "uk", "pol": "pl", "ces": "cs",
    "ron": "ro", "rum": "ro", "hun": "hu", "fin": "fi", "swe": "sv", "dan": "da", "nob": "nb",
    "nno": "nn", "ell": "el", "tur": "tr", "ara": "ar", "arb": "ar", "heb": "he", "hin": "hi",
    "ben": "bn", "urd": "ur", "pes": "fa", "fas": "fa", "zho": "zh", "cmn": "zh", "jpn": "ja",
    "kor": "ko", "vie": "vi", "tha": "th", "ind": "id", "msa": "ms", "zsm": "ms", "swh": "sw",
    "swa": "sw", "bul": "bg", "hrv": "hr", "srp": "sr", "slk": "sk", "slv": "sl", "est": "et",
    "lvs": "lv", "lav": "lv", "lit": "lt", "cat": "ca", "eus": "eu", "glg": "gl", "tam": "ta",
    "tel": "te", "mar": "mr", "afr": "af", "isl": "is", "gle": "ga", "cym": "cy",
}


def lang_base(code: str | None) -> str:
    """``"deu_Latn"`` / ``"de-AT"`` / ``"deu"`` -> ``"de"``; ``""`` for an empty code."""
    if not code:
        return ""
    base = re.split(r"[_\-]", code.strip())[0].lower()
    return _ISO3.get(base, base)




def word_tokens(text: str) -> list[str]:
    return [text[s:e].lower() for s, e in tokenize(text)]


def is_punct(tok: str) -> bool:
    return all(unicodedata.category(c).startswith(("P", "S")) for c in tok)


def normalize_text(text: str) -> str:
    """Case-folded NFKC text with punctuation removed, digits as 0 and single spaces."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in t)
    t = re.sub(r"\d", "0", t)
    return " ".join(t.split())
