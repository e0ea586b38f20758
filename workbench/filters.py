"""Quality filters for translated, label-projected examples: a registry of versioned names.

Every filter is a small dataclass whose fields are its options (with documented defaults) and whose
:meth:`Filter.decide` returns one :class:`Decision` per item: kept or not, a short categorical
``reason`` (what the report groups by), a ``detail`` in words and the measured ``value``.

Filters read the stage conventions: a translated example has ``meta.src_text``, ``meta.src_lang``,
``meta.mt_score`` and ``meta.mt_avg_logprob``; a projected example has ``outcomes`` (one per source
span) and spans with ``score`` and ``source``; the source example (same id) comes with the item.
Filters that remember earlier examples (duplicates) are ``stateful``: the stage runs them after
the others and they only remember examples that every earlier filter kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.errors import ConfigError
from workbench.records import Example, tokenize

if TYPE_CHECKING:
    from workbench.store import Store, Version

__all__ = ["FILTERS", "Filter", "Decision", "Item", "FilterContext", "register", "get", "lang_base"]

#: name -> filter class; filled by :func:`register`.
FILTERS: dict[str, type[Filter]] = {}


def register(name: str):
    """Class decorator: register a filter under a versioned name such as ``"copy.v1"``."""

    def deco(cls: type[Filter]) -> type[Filter]:
        cls.name = name
        FILTERS[name] = cls
        return cls

    return deco


def get(name: str, **options: Any) -> Filter:
    """An instance of the registered filter ``name`` with ``options`` (field names)."""
    if name not in FILTERS:
        raise ConfigError(f"unknown filter {name!r}", fix=f"use one of: {', '.join(sorted(FILTERS))}")
    cls = FILTERS[name]
    known = {f.name for f in fields(cls)}
    bad = sorted(set(options) - known)
    if bad:
        raise ConfigError(f"filter {name} has no option {', '.join(bad)}",
                          fix=f"options of {name}: {', '.join(sorted(known)) or 'none'}")
    return cls(**options)


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


# Characters per unit of meaning relative to English: the expected length ratio of a pair is
# density[tgt] / density[src]. Rough figures from parallel corpora; unknown languages count as 1.
_DENSITY = {
    "zh": 0.30, "ja": 0.38, "ko": 0.48, "th": 0.95, "de": 1.15, "fr": 1.15, "es": 1.12, "it": 1.12,
    "pt": 1.10, "nl": 1.12, "ru": 1.10, "uk": 1.08, "pl": 1.08, "fi": 1.08, "el": 1.15, "ro": 1.12,
    "ar": 0.85, "he": 0.80, "fa": 0.92, "hi": 1.02, "tr": 1.02, "vi": 1.05, "id": 1.12, "en": 1.0,
}


def _words(text: str) -> list[str]:
    return [text[s:e].lower() for s, e in tokenize(text)]


def _is_punct(tok: str) -> bool:
    return all(unicodedata.category(c).startswith(("P", "S")) for c in tok)


def normalize_text(text: str) -> str:
    """Case-folded NFKC text with punctuation removed, digits as 0 and single spaces."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in t)
    t = re.sub(r"\d", "0", t)
    return " ".join(t.split())


# -- sentence-level filters --------------------------------------------------------------------


@register("length-ratio.v1")
@dataclass
class LengthRatio(Filter):
    """Character length of the translation over that of its source, within a range.

    The ratio is smoothed, ``(len(target) + smoothing) / (len(source) + smoothing)``, so that very
    short segments ("Agenda" -> "Ordine dei lavori") are not judged on a few characters.

    Attributes:
        min: lowest accepted ratio; ``None``: the language pair's expected ratio divided by ``slack``.
        max: highest accepted ratio; ``None``: the expected ratio times ``slack``.
        slack: factor around the expected ratio for the default bounds (2.0: half to twice).
        min_chars: sources shorter than this many characters are always kept (too noisy to judge).
        smoothing: characters added to both lengths before dividing.
    """

    min: float | None = None
    max: float | None = None
    slack: float = 2.0
    min_chars: int = 5
    smoothing: int = 10

    def bounds(self, src_lang: str, tgt_lang: str) -> tuple[float, float]:
        expected = _DENSITY.get(lang_base(tgt_lang), 1.0) / _DENSITY.get(lang_base(src_lang), 1.0)
        lo = self.min if self.min is not None else expected / self.slack
        hi = self.max if self.max is not None else expected * self.slack
        return lo, hi

    def decide_one(self, item: Item) -> Decision:
        src = item.src_text
        if src is None:
            return Decision(True, "no-source", "no source text (meta.src_text or parent example)")
        tgt = item.example.text
        if len(src.strip()) < self.min_chars:
            return Decision(True, "short-source", f"source shorter than {self.min_chars} characters")
        ratio = (len(tgt.strip()) + self.smoothing) / (len(src.strip()) + self.smoothing)
        lo, hi = self.bounds(item.src_lang, item.example.lang)
        if ratio < lo:
            return Decision(False, "too-short", f"length ratio {ratio:.2f} < {lo:.2f}", ratio)
        if ratio > hi:
            return Decision(False, "too-long", f"length ratio {ratio:.2f} > {hi:.2f}", ratio)
        return Decision(True, "ok", f"length ratio {ratio:.2f} in [{lo:.2f}, {hi:.2f}]", ratio)


@register("langid.v1")
@dataclass
class LangId(Filter):
    """The translation is in its language, by py3langid (its model ships inside the package).

    Attributes:
        expected: language code the text should be in; ``None``: the example's (or version's) lang.
        min_chars: texts shorter than this are kept unjudged (identification is unreliable).
        min_confidence: reject only when the detected language has at least this probability.
        candidates: restrict detection to these ISO 639-1 codes (comma-separated); ``None``: all 97.
    """

    expected: str | None = None
    min_chars: int = 15
    min_confidence: float = 0.5
    candidates: str | None = None
    _ident: Any = field(default=None, init=False, repr=False, compare=False)
    _default_lang: str = field(default="", init=False, repr=False, compare=False)
    _checked: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def prepare(self, ctx: FilterContext) -> None:
        self._default_lang = ctx.version.lang or ""
        self._identifier()
        self._check(lang_base(self.expected or self._default_lang), ctx.version.ref)

    def _check(self, want: str, where: str) -> None:
        if want and want not in self._identifier().labels:
            known = "the candidates" if self.candidates else "py3langid's 97 languages"
            raise ConfigError(f"langid.v1 cannot identify {want!r}: not among {known}", where=where,
                              fix="drop langid.v1 for this language, or fix langid.v1.expected / "
                                  "langid.v1.candidates")

    def _identifier(self) -> Any:
        if self._ident is None:
            try:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier
            except ImportError:
                raise ConfigError("langid.v1 needs the py3langid package",
                                  fix="pip install py3langid") from None
            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            if self.candidates:
                langs = [lang_base(c) for c in self.candidates.split(",") if c.strip()]
                try:
                    ident.set_languages(langs)
                except ValueError as exc:
                    raise ConfigError(f"langid.v1.candidates: {exc}",
                                      fix="give ISO 639-1 codes such as en,de") from None
            self._ident = ident
        return self._ident

    def decide_one(self, item: Item) -> Decision:
        want = lang_base(self.expected or item.example.lang or self._default_lang)
        if not want:
            raise ConfigError("langid.v1: the expected language is unknown",
                              where=f"example {item.example.id}",
                              fix="set --option langid.v1.expected=CODE or store a lang")
        if want not in self._checked:
            self._check(want, f"example {item.example.id}")
            self._checked.add(want)
        text = item.example.text
        if len(text.strip()) < self.min_chars:
            return Decision(True, "short-text", f"shorter than {self.min_chars} characters")
        got, p = self._identifier().classify(text)
        p = float(p)
        if got != want and p >= self.min_confidence:
            return Decision(False, "wrong-language", f"detected {got} (p={p:.2f}), expected {want}", p)
        return Decision(True, "ok", f"detected {got} (p={p:.2f})", p)


@register("copy.v1")
@dataclass
class Copy(Filter):
    """The translation is not an (almost) unchanged copy of its source.

    Attributes:
        max_similarity: reject when the normalised texts are at least this similar (difflib ratio).
        min_tokens: sources with fewer word tokens are kept (names and dates stay the same).
    """

    max_similarity: float = 0.9
    min_tokens: int = 4

    def decide_one(self, item: Item) -> Decision:
        src = item.src_text
        if src is None:
            return Decision(True, "no-source", "no source text")
        a, b = normalize_text(src), normalize_text(item.example.text)
        if len([w for w in _words(src) if not _is_punct(w)]) < self.min_tokens:
            return Decision(True, "short-source", f"source has fewer than {self.min_tokens} words")
        import difflib

        sim = 1.0 if a == b else difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        if sim >= self.max_similarity:
            return Decision(False, "copy", f"similarity to source {sim:.2f} >= {self.max_similarity}", sim)
        return Decision(True, "ok", f"similarity to source {sim:.2f}", sim)


def _max_run(tokens: list[str], max_n: int) -> tuple[int, str]:
    """Longest back-to-back repetition of an n-gram (n <= max_n): (count, the n-gram)."""
    best, what = 1, ""
    for n in range(1, max_n + 1):
        for start in range(n):
            run, prev = 1, None
            for i in range(start, len(tokens) - n + 1, n):
                g = tuple(tokens[i:i + n])
                if g == prev and not all(_is_punct(t) for t in g):
                    run += 1
                    if run > best:
                        best, what = run, " ".join(g)
                else:
                    run = 1
                prev = g
    return best, what


@register("repeat-ngram.v1")
@dataclass
class RepeatNgram(Filter):
    """No hallucination loops: an n-gram repeated back to back more often than in the source.

    Attributes:
        max_n: longest n-gram (in word tokens) checked for repetition.
        max_repeats: reject when an n-gram occurs this many times in a row or more...
        allow_source: ...unless the source repeats something as often (e.g. "ha ha ha").
    """

    max_n: int = 4
    max_repeats: int = 3
    allow_source: bool = True

    def decide_one(self, item: Item) -> Decision:
        run, gram = _max_run(_words(item.example.text), self.max_n)
        if run >= self.max_repeats:
            src = item.src_text
            if self.allow_source and src is not None and _max_run(_words(src), self.max_n)[0] >= run:
                return Decision(True, "source-repeats", f"{gram!r} x{run}, as in the source", run)
            return Decision(False, "repetition", f"{gram!r} repeated {run} times in a row", run)
        return Decision(True, "ok", f"longest repetition x{run}", run)


@register("mt-score.v1")
@dataclass
class MtScore(Filter):
    """Translation model confidence above a threshold or a percentile of the version.

    Attributes:
        score: meta field to read: ``mt_avg_logprob`` (mean per token) or ``mt_score`` (sum).
        min: lowest accepted value (natural log-probability); used when ``percentile`` is unset.
        percentile: reject the lowest ``percentile`` percent of the input version instead.
    """

    score: str = "mt_avg_logprob"
    min: float = -2.0
    percentile: float | None = None
    _threshold: float | None = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def prepare(self, ctx: FilterContext) -> None:
        if self.score not in ("mt_avg_logprob", "mt_score"):
            raise ConfigError(f"mt-score.v1.score is {self.score!r}", fix="use mt_avg_logprob or mt_score")
        with ctx.store.connect() as con:
            n, q = con.execute(
                f"SELECT count(x), quantile_cont(x, ?) FROM (SELECT TRY_CAST(json_extract(meta, "
                f"'$.{self.score}') AS DOUBLE) AS x FROM examples WHERE version_id = ?)",
                [min(max((self.percentile or 0.0) / 100.0, 0.0), 1.0), ctx.version.id],
            ).fetchone()  # type: ignore[misc]
        if n == 0 and ctx.version.n_examples:
            raise ConfigError(
                f"mt-score.v1: no example of {ctx.version.ref} has meta.{self.score}",
                fix="filter a version made by `workbench translate` (or one derived from it)")
        if self.percentile is not None:
            if not 0 <= self.percentile <= 100:
                raise ConfigError(f"mt-score.v1.percentile is {self.percentile}", fix="give 0..100")
            self._threshold = float(q) if q is not None else float("-inf")
        else:
            self._threshold = self.min

    def decide_one(self, item: Item) -> Decision:
        v = item.example.meta.get(self.score)
        if v is None:
            return Decision(True, "no-score", f"no meta.{self.score}")
        v = float(v)
        t = self._threshold if self._threshold is not None else self.min
        if v < t:
            return Decision(False, "low-score", f"{self.score} {v:.3f} < {t:.3f}", v)
        return Decision(True, "ok", f"{self.score} {v:.3f}", v)


# -- projection filters ------------------------------------------------------------------------


def _needs_projection(name: str, ctx: FilterContext) -> None:
    if not any(v.stage == "project" for v in ctx.lineage):
        raise ConfigError(f"{name} needs a projected version; {ctx.version.ref} has no 'project' "
                          "stage in its lineage", fix="run `workbench project` first, then filter")


@register("projection-complete.v1")
@dataclass
class ProjectionComplete(Filter):
    """Every source span was projected and the target has the same multiset of labels.

    Attributes:
        allow_fallback: count spans projected by a fallback method as projected.
        max_dropped: number of dropped source spans tolerated.
        same_labels: also require the target labels to equal the source labels (as a multiset).
    """

    allow_fallback: bool = True
    max_dropped: int = 0
    same_labels: bool = True

    def prepare(self, ctx: FilterContext) -> None:
        _needs_projection(self.name, ctx)

    def decide_one(self, item: Item) -> Decision:
        ex = item.example
        src_labels = ([s.label for s in item.source.spans] if item.source is not None
                      else [o.label for o in ex.outcomes])
        n_src = len(src_labels)
        ok_kinds = ("projected", "fallback") if self.allow_fallback else ("projected",)
        done = sum(1 for o in ex.outcomes if o.outcome in ok_kinds)
        missing = n_src - done
        frac = done / n_src if n_src else 1.0
        if missing > self.max_dropped:
            why = Counter(o.reason or o.outcome for o in ex.outcomes if o.outcome not in ok_kinds)
            text = "; ".join(f"{r} x{c}" for r, c in why.most_common(3)) or "no outcomes"
            return Decision(False, "spans-lost", f"{missing} of {n_src} source spans not projected "
                            f"({text})", frac)
        if self.same_labels and Counter(src_labels) != Counter(s.label for s in ex.spans):
            diff = (Counter(src_labels) - Counter(s.label for s in ex.spans)) + \
                   (Counter(s.label for s in ex.spans) - Counter(src_labels))
            return Decision(False, "label-mismatch",
                            f"labels differ from the source: {dict(diff)}", frac)
        return Decision(True, "ok", f"{done} of {n_src} source spans projected", frac)


@register("span-confidence.v1")
@dataclass
class SpanConfidence(Filter):
    """Every projected span has at least a minimum confidence (spans without a score pass).

    Attributes:
        min_score: lowest accepted span ``score`` (projectors score in 0..1).
    """

    min_score: float = 0.5

    def prepare(self, ctx: FilterContext) -> None:
        _needs_projection(self.name, ctx)

    def decide_one(self, item: Item) -> Decision:
        scores = [s.score for s in item.example.spans if s.score is not None]
        if not scores:
            return Decision(True, "no-scores", "no scored spans")
        low = min(scores)
        if low < self.min_score:
            n = sum(1 for s in scores if s < self.min_score)
            return Decision(False, "low-confidence", f"{n} span(s) below {self.min_score} "
                            f"(lowest {low:.2f})", low)
        return Decision(True, "ok", f"lowest span score {low:.2f}", low)


@register("span-length.v1")
@dataclass
class SpanLength(Filter):
    """Each projected span's length in tokens is plausible against its source span.

    A target span of ``t`` tokens from a source span of ``s`` tokens passes when
    ``s / max_ratio - slack <= t <= s * max_ratio + slack``.

    Attributes:
        max_ratio: largest accepted length factor either way.
        slack: tokens allowed beyond the factor (short names may gain words: "EU" -> "Europäische Union").
    """

    max_ratio: float = 2.5
    slack: int = 2

    def prepare(self, ctx: FilterContext) -> None:
        _needs_projection(self.name, ctx)

    def decide_one(self, item: Item) -> Decision:
        if item.source is None:
            return Decision(True, "no-source", "no source example")
        worst, bad = 1.0, []
        for sp in item.example.spans:
            if sp.source is None or not 0 <= sp.source < len(item.source.spans):
                continue
            src = item.source.spans[sp.source]
            s, t = src.token_end - src.token_start, sp.token_end - sp.token_start
            if s <= 0 or t <= 0:
                continue
            worst = max(worst, t / s, s / t)
            if not (s / self.max_ratio - self.slack <= t <= s * self.max_ratio + self.slack):
                bad.append(f"{sp.label} {s}->{t} tokens")
        if bad:
            return Decision(False, "implausible-length", "; ".join(bad[:3]), worst)
        return Decision(True, "ok", f"worst length factor {worst:.2f}", worst)


# -- duplicates (stateful) ---------------------------------------------------------------------


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _dup_key(item: Item, normalize: bool, with_source: bool) -> str:
    t = item.example.text
    if with_source:
        t = (item.src_text or "") + "\0" + t
    return normalize_text(t) if normalize else t


@register("duplicate.v1")
@dataclass
class Duplicate(Filter):
    """Exact duplicates of an earlier kept example are rejected (the first occurrence is kept).

    Memory: one 8-byte hash per kept example (about 70 bytes in a Python set).

    Attributes:
        normalize: compare case-folded text without punctuation (digits as 0) instead of exact text.
        with_source: compare (source text, translation) pairs instead of translations alone.
    """

    stateful: ClassVar[bool] = True
    normalize: bool = False
    with_source: bool = False
    _seen: dict[int, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        out = []
        for i, it in enumerate(items):
            h = _h64(_dup_key(it, self.normalize, self.with_source))
            first = self._seen.get(h)
            if first is not None:
                out.append(Decision(False, "duplicate", f"same text as {first}", 1.0))
                continue
            out.append(Decision(True, "ok", "first occurrence", 0.0))
            if alive is None or alive[i]:
                self._seen[h] = it.example.id
        return out


def _shingles(text: str, k: int) -> set[str]:
    t = normalize_text(text)
    if len(t) <= k:
        return {t}
    return {t[i:i + k] for i in range(len(t) - k + 1)}


_MERSENNE = (1 << 61) - 1


@register("near-duplicate.v1")
@dataclass
class NearDuplicate(Filter):
    """Near duplicates of an earlier kept example (MinHash over character shingles, LSH bands).

    Candidates share a band of their MinHash signatures; a candidate is a near duplicate when the
    signatures estimate a Jaccard similarity of at least ``threshold``. Memory: the signature
    (``num_perm`` x 8 bytes) and ``bands`` index entries per kept example, about 1 KB.

    Attributes:
        threshold: estimated Jaccard similarity of shingle sets at or above which to reject.
        shingle: shingle length in characters of the normalised text.
        num_perm: MinHash permutations (more: better estimates, more memory).
        bands: LSH bands (``num_perm`` must be a multiple); more bands find less similar pairs.
        seed: seed of the hash permutations.
    """

    stateful: ClassVar[bool] = True
    threshold: float = 0.8
    shingle: int = 5
    num_perm: int = 64
    bands: int = 16
    seed: int = 1
    _index: dict[int, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _sigs: list[Any] = field(default_factory=list, init=False, repr=False, compare=False)
    _ids: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    _ab: Any = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def prepare(self, ctx: FilterContext) -> None:
        if self.num_perm % self.bands:
            raise ConfigError(f"near-duplicate.v1: num_perm {self.num_perm} is not a multiple of "
                              f"bands {self.bands}", fix="e.g. num_perm=64 bands=16")

    def signature(self, text: str) -> Any:
        import numpy as np

        if self._ab is None:
            rng = np.random.default_rng(self.seed)
            self._ab = (rng.integers(1, _MERSENNE, self.num_perm, dtype=np.uint64),
                        rng.integers(0, _MERSENNE, self.num_perm, dtype=np.uint64))
        a, b = self._ab
        hs = np.fromiter((_h64(s) & 0xFFFFFFFF for s in _shingles(text, self.shingle)),
                         dtype=np.uint64)
        # (a*h + b) mod p with uint64 wrap-around, as in datasketch's MinHash
        with np.errstate(over="ignore"):
            vals = ((a[:, None] * hs[None, :] + b[:, None]) % np.uint64(_MERSENNE)) & np.uint64(0xFFFFFFFF)
        return vals.min(axis=1)

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        out = []
        r = self.num_perm // self.bands
        for i, it in enumerate(items):
            sig = self.signature(it.example.text)
            keys = [_h64(f"{band}:{sig[band * r:(band + 1) * r].tobytes().hex()}")
                    for band in range(self.bands)]
            best, best_j = 0.0, -1
            for k in keys:
                j = self._index.get(k)
                if j is not None and j != best_j:
                    sim = float((self._sigs[j] == sig).mean())
                    if sim > best:
                        best, best_j = sim, j
            if best_j >= 0 and best >= self.threshold:
                out.append(Decision(False, "near-duplicate",
                                    f"~{best:.2f} similar to {self._ids[best_j]}", best))
                continue
            out.append(Decision(True, "ok", f"closest ~{best:.2f}", best))
            if alive is None or alive[i]:
                j = len(self._sigs)
                self._sigs.append(sig)
                self._ids.append(it.example.id)
                for k in keys:
                    self._index.setdefault(k, j)
        return out


# -- optional QE model ---------------------------------------------------------------------------


@register("cometkiwi.v1")
@dataclass
class CometKiwi(Filter):
    """Reference-free quality estimation with a COMET QE model (needs ``unbabel-comet`` installed
    by the user, the model in the Hugging Face cache, and preferably a GPU).

    Attributes:
        model: Hugging Face model name or local checkpoint path.
        min_score: lowest accepted QE score (0..1).
        batch_size: sentences per model call.
        gpus: GPUs to use (0: CPU); ``None``: one if CUDA is available, else none.
    """

    model: str = "Unbabel/wmt22-cometkiwi-da"
    min_score: float = 0.5
    batch_size: int = 32
    gpus: int | None = None
    _model: Any = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def prepare(self, ctx: FilterContext) -> None:
        try:
            import comet  # noqa: F401
        except ImportError:
            raise ConfigError(
                "cometkiwi.v1 needs the unbabel-comet package, which is not installed",
                fix="pip install unbabel-comet (and accept the model's licence on the Hugging Face "
                    "Hub), or leave cometkiwi.v1 out of --filters") from None
        from pathlib import Path

        from comet import download_model, load_from_checkpoint

        path = self.model if Path(self.model).exists() else download_model(self.model)
        self._model = load_from_checkpoint(path)

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        data = [{"src": it.src_text or "", "mt": it.example.text} for it in items]
        gpus = self.gpus
        if gpus is None:
            import torch

            gpus = 1 if torch.cuda.is_available() else 0
        scores = self._model.predict(data, batch_size=self.batch_size, gpus=gpus).scores
        return [Decision(bool(s >= self.min_score), "ok" if s >= self.min_score else "low-qe",
                         f"QE {s:.3f}", float(s)) for s in scores]
