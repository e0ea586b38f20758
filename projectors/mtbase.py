"""What MT-guided projectors need from a translation model, and small text helpers they share.

``projectors`` never imports ``workbench``: the model is passed in as an object that has the
methods below (``workbench.mt.CT2Model`` implements both protocols over CTranslate2 and
sentencepiece). Everything is text or model pieces, so any engine can be plugged in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from projectors.spans import is_unspaced

__all__ = [
    "Translator",
    "Scorer",
    "Pieces",
    "VocabularyError",
    "tokenize",
    "locate_tokens",
    "source_view",
    "target_view",
    "model_signature",
]


class VocabularyError(ValueError):
    """A marker (or another string the projector must emit) is not in the model's vocabulary."""


@dataclass
class Pieces:
    """A text split into model pieces.

    Attributes:
        pieces: model tokens (e.g. sentencepiece pieces), without ``</s>``.
        offsets: ``(start, end)`` character offsets of each piece in the text; a piece that is
            only a whitespace marker (``▁``) covers the whitespace before the next piece.
    """

    pieces: list[str]
    offsets: list[tuple[int, int]]


@runtime_checkable
class Translator(Protocol):
    """Translates sentences (text in, text out), e.g. English -> German."""

    def translate(self, texts: Sequence[str]) -> list[str]:
        """One translation per input text, in order."""
        ...

    def unknown(self, strings: Sequence[str]) -> list[str]:
        """The strings among ``strings`` that the model cannot read or write without ``<unk>``."""
        ...


@runtime_checkable
class Scorer(Protocol):
    """Forced-decoding scores: log-probabilities of given target pieces given a source text."""

    def tokenize_source(self, texts: Sequence[str]) -> list[list[str]]:
        """Source pieces of each text (as the model reads them)."""
        ...

    def tokenize_target(self, texts: Sequence[str]) -> list[Pieces]:
        """Target pieces of each text, with character offsets."""
        ...

    def score(self, sources: Sequence[list[str]], targets: Sequence[list[str]]) -> list[list[float]]:
        """Per-piece log-probs of each target given its source: ``len(target) + 1`` values, the
        last one for the end of sentence (``</s>``)."""
        ...

    def unknown(self, strings: Sequence[str]) -> list[str]:
        """As :meth:`Translator.unknown`."""
        ...


# Same token pattern as ``workbench.core.records.tokenize`` (kept in sync by tests/projectors/test_markers.py).
_TOKEN_RE = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str, cuts: set[int] | frozenset[int] = frozenset()) -> list[tuple[int, int]]:
    """Character offsets of word and punctuation tokens, split at every offset in ``cuts``
    (identical to ``workbench.core.records.tokenize``)."""
    out: list[tuple[int, int]] = []
    for m in _TOKEN_RE.finditer(text):
        s, e = m.span()
        bounds = [s] + sorted(c for c in cuts if s < c < e) + [e]
        for a, b in zip(bounds, bounds[1:], strict=False):
            if any(is_unspaced(c) for c in text[a:b]):
                start = a
                for i in range(a, b):
                    if is_unspaced(text[i]):
                        if start < i:
                            out.append((start, i))
                        out.append((i, i + 1))
                        start = i + 1
                if start < b:
                    out.append((start, b))
            else:
                out.append((a, b))
    return out


def locate_tokens(tokens: Sequence[str], text: str | None) -> tuple[str, list[tuple[int, int]]]:
    """``(text, offsets)`` of ``tokens``: found in order in ``text`` when given and possible,
    otherwise the tokens joined by single spaces."""
    if text is not None:
        offsets, pos = [], 0
        for tok in tokens:
            i = text.find(tok, pos)
            if i < 0 or text[pos:i].strip():
                break
            offsets.append((i, i + len(tok)))
            pos = i + len(tok)
        else:
            return text, offsets
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return " ".join(tokens), offsets


def source_view(pair) -> tuple[str, list[tuple[int, int, str]]]:
    """Source text and its spans as character offsets ``(start, end, label)``."""
    if pair.src_text is not None and pair.src_offsets is not None:
        text, offs = pair.src_text, list(pair.src_offsets)
    else:
        text, offs = locate_tokens(pair.src_tokens, pair.src_text)
    return text, [(offs[s][0], offs[e - 1][1], lab) for s, e, lab in pair.spans]


def target_view(pair) -> tuple[str, list[tuple[int, int]]]:
    """Target text and the character offsets of ``pair.tgt_tokens`` in it."""
    if pair.tgt_text is not None and pair.tgt_offsets is not None:
        return pair.tgt_text, list(pair.tgt_offsets)
    return locate_tokens(pair.tgt_tokens, pair.tgt_text)


def model_signature(model: object) -> str | None:
    """``model.signature()`` rendered as ``k=v,...`` when the model object has one."""
    sig = getattr(model, "signature", None)
    if not callable(sig):
        return None
    return ",".join(f"{k}={v}" for k, v in sorted(dict(sig()).items()))
