"""Span-labelled records and tag-scheme conversion.

One canonical form: an :class:`Example` is its ``text`` plus character offsets of its tokens and
spans. Token strings are a view (``example.tokens``); tags are computed from spans
(:func:`spans_to_tags`) and parsed back (:func:`tags_to_spans`).
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from workbench.core.errors import InputError

__all__ = [
    "Span",
    "Example",
    "SpanOutcome",
    "SCHEMES",
    "tags_to_spans",
    "spans_to_tags",
    "tokenize",
    "RepairWarning",
    "cuts_character",
]

#: ``meta`` key of an example whose text is its tokens joined by spaces (no original sentence)
TEXT_FROM_TOKENS = "text_from_tokens"

SCHEMES = ("iob2", "iob1", "bioes")
#: C0 and C1 control characters (and DEL): never part of a label
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
_TOKEN_RE: re.Pattern[str] | None = None  # built on first use (:func:`_token_re`)
_MARKS = ""  # character class body of all combining marks (Mn, Mc, Me)


def _marks() -> str:
    """Ranges of combining marks, e.g. Devanagari vowel signs (Python's ``\\w`` lacks them)."""
    global _MARKS
    if not _MARKS:
        import unicodedata

        ranges, start = [], None
        for cp in [*range(0x20000), *range(0xE0100, 0xE01F0)]:
            mark = unicodedata.category(chr(cp))[0] == "M"
            if mark and start is None:
                start = cp
            elif not mark and start is not None:
                ranges.append((start, cp - 1))
                start = None
        if start is not None:
            ranges.append((start, 0xE01EF))
        _MARKS = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
    return _MARKS


def _token_re() -> re.Pattern[str]:
    global _TOKEN_RE
    if _TOKEN_RE is None:
        m = _marks()
        word = f"[\\w{m}]+"
        # words (with inner - ' ’ .), or one symbol with its marks, skin tone and ZWJ sequence
        _TOKEN_RE = re.compile(
            f"{word}(?:[-'’.]{word})*"
            "|[\\U0001f1e6-\\U0001f1ff]{2}"
            f"|[^\\w\\s{m}](?:[{m}\\U0001f3fb-\\U0001f3ff]|\\u200d[^\\w\\s])*"
            f"|[{m}]+"
        )
    return _TOKEN_RE


class RepairWarning(UserWarning):
    """Input was repaired (e.g. ``I-`` without ``B-``); rejected instead under ``strict``."""


@dataclass(frozen=True)
class Span:
    """A labelled span of an example.

    Attributes:
        start: character offset of the first character (inclusive).
        end: character offset after the last character (exclusive).
        label: entity / slot label without scheme prefix, e.g. ``"PER"``.
        token_start: index of the first token (inclusive); -1 when not token-aligned yet.
        token_end: index after the last token (exclusive); -1 when not token-aligned yet.
        score: confidence of a projected or predicted span; ``None`` for gold spans.
        source: index of the span in the source example this span was projected from;
            ``None`` for spans that were not projected.
    """

    start: int
    end: int
    label: str
    token_start: int = -1
    token_end: int = -1
    score: float | None = None
    source: int | None = None


@dataclass(frozen=True)
class SpanOutcome:
    """What happened to one source span during projection.

    Attributes:
        source: index of the span in the source example.
        label: its label.
        outcome: ``"projected"``, ``"fallback"`` (projected by a fallback method) or ``"dropped"``.
        reason: why, in words (always set for ``"dropped"`` and ``"fallback"``).
        projector: registered projector name that decided, e.g. ``"align.eflomal.v1"``.
        score: confidence of the projected span, when projected.
    """

    source: int
    label: str
    outcome: str
    reason: str = ""
    projector: str = ""
    score: float | None = None


@dataclass
class Example:
    """One sentence (or segment) with its tokens and labelled spans.

    Attributes:
        id: unique id within a version (kept across stages: a translation has its source's id).
        text: the sentence text.
        offsets: ``(start, end)`` character offsets of every token in ``text``.
        spans: labelled spans, sorted by start, non-overlapping, aligned to token boundaries.
        lang: language code of ``text`` (``"en"``, ``"de"``, a FLORES code, ...); ``""`` if unknown.
        split: dataset split (``"train"``, ``"validation"``, ``"test"``).
        meta: free JSON-serialisable metadata (CoNLL comments, MT scores, source text, ...).
        outcomes: per source span projection outcomes (empty for unprojected examples).
    """

    id: str
    text: str
    offsets: list[tuple[int, int]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    lang: str = ""
    split: str = "train"
    meta: dict[str, Any] = field(default_factory=dict)
    outcomes: list[SpanOutcome] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        """Token strings, a view over ``text`` and ``offsets``."""
        return [self.text[s:e] for s, e in self.offsets]

    def tags(self, scheme: str = "iob2") -> list[str]:
        """Tags of the tokens in ``scheme`` (``iob2``, ``iob1`` or ``bioes``)."""
        return spans_to_tags(
            [(s.token_start, s.token_end, s.label) for s in self.spans], len(self.offsets), scheme
        )

    @classmethod
    def from_tokens(
        cls,
        id: str,
        tokens: Sequence[str],
        tags: Sequence[str] | None = None,
        *,
        text: str | None = None,
        scheme: str = "iob2",
        strict: bool = False,
        where: str | None = None,
        **kwargs: Any,
    ) -> Example:
        """Build an example from tokens and tags.

        ``text`` is the original sentence when known (a CoNLL ``# text =`` comment): tokens are
        located in it in order; when a token is not found there, tokens are joined by single spaces.
        """
        where = where or f"example {id}"
        offsets = _locate(tokens, text) if text is not None else None
        if offsets is None:
            offsets, pos = [], 0
            for tok in tokens:
                offsets.append((pos, pos + len(tok)))
                pos += len(tok) + 1
            text = " ".join(tokens)
            # no original sentence: the text is made of the tokens ("( Reuters ) ... ."), which the
            # translate stage detokenises for the model (TranslateOptions.detokenize)
            kwargs["meta"] = {**(kwargs.get("meta") or {}), TEXT_FROM_TOKENS: True}
        assert text is not None
        spans: list[Span] = []
        if tags is not None:
            if len(tags) != len(tokens):
                raise InputError(
                    f"{len(tags)} tags for {len(tokens)} tokens",
                    where=where,
                    fix="give exactly one tag per token",
                )
            for ts, te, label in tags_to_spans(tags, scheme, strict=strict, where=where):
                spans.append(Span(offsets[ts][0], offsets[te - 1][1], label, ts, te))
        return cls(id=id, text=text, offsets=list(offsets), spans=spans, **kwargs)

    @classmethod
    def from_text(
        cls, id: str, text: str, spans: Sequence[tuple[int, int, str]] = (), **kwargs: Any
    ) -> Example:
        """Build an example from text and character-offset spans ``(start, end, label)``.

        The text is tokenised (:func:`tokenize`) and tokens are split at span boundaries, so
        every span covers whole tokens. Spans are validated (:meth:`validate`).
        """
        where = kwargs.pop("where", None) or f"example {id}"
        raw = sorted((int(s), int(e), str(lab)) for s, e, lab in spans)
        _check_char_spans(text, raw, where)
        cuts = {b for s, e, _ in raw for b in (s, e)}
        offsets = tokenize(text, cuts=cuts)
        # token starts and ends are both increasing: each span finds its tokens by bisection, so a
        # record with many spans costs O(spans log tokens), not O(spans x tokens)
        starts = [a for a, _ in offsets]
        ends = [b for _, b in offsets]
        out = []
        for s, e, lab in raw:
            # spans are trimmed to tokens: leading/trailing whitespace inside a span is dropped
            ts = bisect_right(ends, s)  # the first token that ends after s
            te = bisect_left(starts, e)  # one past the last token that starts before e
            if te <= ts:
                raise InputError(
                    f"span {s}-{e} {lab!r} covers no token (only whitespace?)",
                    where=where,
                    fix="remove the span or fix its offsets",
                )
            out.append(Span(offsets[ts][0], offsets[te - 1][1], lab, ts, te))
        return cls(id=id, text=text, offsets=offsets, spans=out, **kwargs)

    def validate(self, where: str | None = None) -> Example:
        """Check offsets and spans; raise :class:`InputError` naming the example on any problem."""
        where = where or f"example {self.id}"
        n = len(self.text)
        prev = 0
        for i, (s, e) in enumerate(self.offsets):
            if not (0 <= s < e <= n) or s < prev:
                raise InputError(
                    f"token {i} has offsets {s}-{e}, outside the text (length {n}) or out of order",
                    where=where,
                    fix="token offsets must be increasing, non-empty and inside the text",
                )
            prev = e
        _check_char_spans(self.text, [(s.start, s.end, s.label) for s in self.spans], where)
        for sp in self.spans:
            if not (0 <= sp.token_start < sp.token_end <= len(self.offsets)):
                raise InputError(
                    f"span {sp.start}-{sp.end} {sp.label!r} has token range "
                    f"{sp.token_start}-{sp.token_end} outside {len(self.offsets)} tokens",
                    where=where,
                    fix="align the span to whole tokens",
                )
            if (
                self.offsets[sp.token_start][0] != sp.start
                or self.offsets[sp.token_end - 1][1] != sp.end
            ):
                raise InputError(
                    f"span {sp.start}-{sp.end} {sp.label!r} does not match the boundaries of tokens "
                    f"{sp.token_start}-{sp.token_end}",
                    where=where,
                    fix="span character offsets must start and end on token boundaries",
                )
        return self

    def with_spans(self, spans: Sequence[Span]) -> Example:
        """A copy with other spans (sorted by start)."""
        return replace(self, spans=sorted(spans, key=lambda s: (s.start, s.end)))


def _check_char_spans(text: str, spans: Sequence[tuple[int, int, str]], where: str) -> None:
    n = len(text)
    prev_end, prev = -1, (0, 0, "")
    for s, e, lab in sorted(spans):
        if not (0 <= s < e <= n):
            raise InputError(
                f"span {s}-{e} {lab!r} is out of range for a text of {n} characters",
                where=where,
                fix="span offsets must satisfy 0 <= start < end <= len(text)",
            )
        if not lab:
            raise InputError(f"span {s}-{e} has an empty label", where=where, fix="give it a label")
        bad = _CONTROL_RE.search(lab)
        if bad:
            raise InputError(
                f"span {s}-{e} label {lab!r} holds the control character U+{ord(bad.group()):04X}",
                where=where,
                fix="labels are printable names such as PER; the file may be damaged or binary",
            )
        if s < prev_end:
            raise InputError(
                f"span {s}-{e} {lab!r} overlaps span {prev[0]}-{prev[1]} {prev[2]!r}",
                where=where,
                fix="keep one of the overlapping spans: nested or overlapping spans are not supported",
            )
        prev_end, prev = e, (s, e, lab)


def _locate(tokens: Sequence[str], text: str) -> list[tuple[int, int]] | None:
    """Offsets of ``tokens`` in ``text``, in order, separated only by whitespace; else None."""
    offsets, pos, n = [], 0, len(text)
    for tok in tokens:
        while pos < n and text[pos].isspace():
            pos += 1
        if not tok or not text.startswith(tok, pos):
            return None
        offsets.append((pos, pos + len(tok)))
        pos += len(tok)
    return offsets


def cuts_character(text: str, i: int) -> bool:
    """True when offset ``i`` (a code point index) falls inside one user-perceived character.

    Inside a surrogate pair, between ``\\r\\n``, before a combining mark (``e`` + U+0301,
    Devanagari vowel signs), around a zero-width joiner, before a variation selector, an emoji
    skin-tone modifier or tag character, and between the two regional indicators of a flag.
    """
    if not 0 < i < len(text):
        return False
    prev, cur = ord(text[i - 1]), ord(text[i])
    if 0xD800 <= prev <= 0xDBFF and 0xDC00 <= cur <= 0xDFFF:
        return True
    if (prev, cur) == (0x0D, 0x0A) or 0x200D in (prev, cur):
        return True
    if 0x1F3FB <= cur <= 0x1F3FF or 0xE0020 <= cur <= 0xE007F:
        return True
    if cur >= 0x300:
        import unicodedata

        if unicodedata.category(text[i])[0] == "M":
            return True
    if 0x1F1E6 <= cur <= 0x1F1FF and 0x1F1E6 <= prev <= 0x1F1FF:
        run = 0
        while i - run - 1 >= 0 and 0x1F1E6 <= ord(text[i - run - 1]) <= 0x1F1FF:
            run += 1
        return run % 2 == 1
    return False


def tokenize(text: str, cuts: set[int] | frozenset[int] = frozenset()) -> list[tuple[int, int]]:
    """Character offsets of word and punctuation tokens of ``text``.

    Tokens are additionally split at every offset in ``cuts`` (span boundaries). Characters of
    scripts written without spaces (Han, Hiragana, Katakana, Thai) become one token each.
    """
    out: list[tuple[int, int]] = []
    unspaced = _UNSPACED_RE.search(text) is not None  # most texts have none: skip the checks
    order = sorted(cuts)  # each token takes its cuts by bisection: linear in tokens + cuts
    for m in _token_re().finditer(text):
        s, e = m.span()
        if not cuts and not unspaced:
            out.append((s, e))
            continue
        bounds = [s, *order[bisect_right(order, s):bisect_left(order, e)], e]
        for a, b in zip(bounds, bounds[1:], strict=False):
            if unspaced and _has_unspaced(text[a:b]):
                out.extend(_split_unspaced(text, a, b))
            else:
                out.append((a, b))
    return out


def _is_unspaced(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= o <= 0x9FFF  # CJK
        or 0xF900 <= o <= 0xFAFF
        or 0x0E00 <= o <= 0x0E7F  # Thai
        or 0x20000 <= o <= 0x2FA1F
    )


#: the characters :func:`_is_unspaced` accepts, as one character class
_UNSPACED_RE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u0e00-\u0e7f\U00020000-\U0002fa1f]")


def _has_unspaced(s: str) -> bool:
    return _UNSPACED_RE.search(s) is not None


def _split_unspaced(text: str, a: int, b: int) -> list[tuple[int, int]]:
    out, start = [], a
    for i in range(a, b):
        if _is_unspaced(text[i]):
            if start < i:
                out.append((start, i))
            out.append((i, i + 1))
            start = i + 1
    if start < b:
        out.append((start, b))
    return out


def _split_tag(tag: str, where: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESLU":
        bad = _CONTROL_RE.search(tag)
        if bad:
            raise InputError(f"tag {tag!r} holds the control character U+{ord(bad.group()):04X}",
                             where=where, fix="labels are printable names such as PER")
        prefix = {"L": "E", "U": "S"}.get(tag[0], tag[0])
        return prefix, tag[2:]
    raise InputError(
        f"tag {tag!r} is not O or PREFIX-LABEL (PREFIX one of B, I, E, S)",
        where=where,
        fix="check the tag column (--tag-column) and the scheme (--scheme)",
    )


def tags_to_spans(
    tags: Sequence[str], scheme: str = "iob2", *, strict: bool = False, where: str = "tags"
) -> list[tuple[int, int, str]]:
    """Spans ``(token_start, token_end, label)`` from a tag sequence.

    Ill-formed sequences (``I-`` without ``B-``, ``I-X`` after ``B-Y``, a BIOES entity without its
    ``E-``) are repaired the usual way (seqeval): the offending tag starts a new entity, with a
    :class:`RepairWarning`; under ``strict`` they raise :class:`InputError`.
    """
    if scheme not in SCHEMES:
        raise InputError(f"unknown tag scheme {scheme!r}", where=where, fix=f"use one of {SCHEMES}")
    spans: list[tuple[int, int, str]] = []
    cur: list[Any] | None = None  # [start, end, label]

    def repair(i: int, msg: str) -> None:
        text = f"tag {i + 1} ({tags[i]!r}): {msg}"
        if strict:
            raise InputError(text, where=where, fix="fix the tags, or drop --strict to repair")
        warnings.warn(f"{where}: {text}; repaired", RepairWarning, stacklevel=3)

    for i, tag in enumerate(tags):
        p, lab = _split_tag(tag, where)
        if p == "O":
            if cur is not None and scheme == "bioes":
                repair(i - 1, "entity not closed with E-")
            cur = None
            continue
        continues = cur is not None and cur[2] == lab and cur[1] == i
        if scheme == "iob1":
            start = p == "B" or not continues
            if p not in "BI":
                raise InputError(f"tag {tag!r} is not IOB1", where=where, fix="use --scheme bioes")
        elif scheme == "iob2":
            if p not in "BI":
                raise InputError(f"tag {tag!r} is not IOB2", where=where, fix="use --scheme bioes")
            start = p == "B" or not continues
            if p == "I" and not continues:
                repair(i, "I- without a preceding B- of the same label")
        else:
            if p in "BS":
                if cur is not None:
                    repair(i - 1, "entity not closed with E-")
                start = True
            else:
                start = not continues
                if start:
                    repair(i, f"{p}- without a preceding B- of the same label")
        if start:
            cur = [i, i + 1, lab]
            spans.append((i, i + 1, lab))
        else:
            assert cur is not None
            cur[1] = i + 1
            spans[-1] = (cur[0], i + 1, lab)
        if scheme == "bioes" and p in "ES":
            cur = None
    if cur is not None and scheme == "bioes":
        repair(len(tags) - 1, "entity not closed with E-")
    return spans


def spans_to_tags(spans: Sequence[tuple[int, int, str]], n: int, scheme: str = "iob2") -> list[str]:
    """Tags for ``n`` tokens from spans ``(token_start, token_end, label)``."""
    if scheme not in SCHEMES:
        raise InputError(f"unknown tag scheme {scheme!r}", fix=f"use one of {SCHEMES}")
    tags = ["O"] * n
    prev_end, prev_label = -1, None
    for s, e, lab in sorted(spans):
        for i in range(s, e):
            tags[i] = f"I-{lab}"
        if scheme == "iob2":
            tags[s] = f"B-{lab}"
        elif scheme == "iob1":
            if prev_end == s and prev_label == lab:
                tags[s] = f"B-{lab}"
        else:
            if e - s == 1:
                tags[s] = f"S-{lab}"
            else:
                tags[s], tags[e - 1] = f"B-{lab}", f"E-{lab}"
        prev_end, prev_label = e, lab
    return tags
