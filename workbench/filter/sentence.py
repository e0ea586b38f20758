"""Sentence-level filters: length ratio, language, copies, repetition loops, MT score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import ConfigError
from workbench.core.langid import identifier
from workbench.filter.base import (
    Decision,
    Filter,
    FilterContext,
    Item,
    is_punct,
    lang_base,
    named,
    normalize_text,
    word_tokens,
)

# Characters per unit of meaning relative to English: the expected length ratio of a pair is
# density[tgt] / density[src]. Rough figures from parallel corpora; unknown languages count as 1.
_DENSITY = {
    "zh": 0.30, "ja": 0.38, "ko": 0.48, "th": 0.95, "de": 1.15, "fr": 1.15, "es": 1.12, "it": 1.12,
    "pt": 1.10, "nl": 1.12, "ru": 1.10, "uk": 1.08, "pl": 1.08, "fi": 1.08, "el": 1.15, "ro": 1.12,
    "ar": 0.85, "he": 0.80, "fa": 0.92, "hi": 1.02, "tr": 1.02, "vi": 1.05, "id": 1.12, "en": 1.0,
}


# -- sentence-level filters --------------------------------------------------------------------


@named("length-ratio.v1")
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


@named("langid.v1")
@dataclass
class LangId(Filter):
    """The translation is in its language, by py3langid (its model ships inside the package).

    Attributes:
        expected: language code the text should be in; ``None``: the example's (or version's) lang.
        min_chars: texts shorter than this are kept unjudged (identification is unreliable).
        min_confidence: reject only when the detected language has at least this probability.
        candidates: restrict detection to these ISO 639-1 codes (comma-separated); ``None``: all py3langid knows.
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
            known = "the candidates" if self.candidates else f"py3langid's {len(self._identifier().nb_classes)} languages"
            raise ConfigError(f"langid.v1 cannot identify {want!r}: not among {known}", where=where,
                              fix="drop langid.v1 for this language, or fix langid.v1.expected / "
                                  "langid.v1.candidates")

    def _identifier(self) -> Any:
        if self._ident is None:
            langs = ([lang_base(c) for c in self.candidates.split(",") if c.strip()]
                     if self.candidates else None)
            try:
                self._ident = identifier(langs, needed_by="langid.v1")
            except ValueError as exc:
                raise ConfigError(f"langid.v1.candidates: {exc}",
                                  fix="give ISO 639-1 codes such as en,de") from None
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


@named("copy.v1")
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
        if len([w for w in word_tokens(src) if not is_punct(w)]) < self.min_tokens:
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
                if g == prev and not all(is_punct(t) for t in g):
                    run += 1
                    if run > best:
                        best, what = run, " ".join(g)
                else:
                    run = 1
                prev = g
    return best, what


@named("repeat-ngram.v1")
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
        run, gram = _max_run(word_tokens(item.example.text), self.max_n)
        if run >= self.max_repeats:
            src = item.src_text
            if self.allow_source and src is not None and _max_run(word_tokens(src), self.max_n)[0] >= run:
                return Decision(True, "source-repeats", f"{gram!r} x{run}, as in the source", run)
            return Decision(False, "repetition", f"{gram!r} repeated {run} times in a row", run)
        return Decision(True, "ok", f"longest repetition x{run}", run)


@named("mt-score.v1")
@dataclass
class MtScore(Filter):
    """Translation model confidence above a threshold or a percentile of the version.

    Attributes:
        score: meta field to read: ``mt_avg_logprob`` (mean per token) or ``mt_score`` (sum);
            after ``markers.v1`` its ``*_clean`` twin (the score of the plain translation).
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
                f"SELECT count(x), quantile_cont(x, ?) FROM (SELECT TRY_CAST(coalesce(json_extract(meta, "
                f"'$.{self.score}'), json_extract(meta, '$.{self.score}_clean')) AS DOUBLE) AS x "
                f"FROM examples WHERE version_id = ?)",
                [min(max((self.percentile or 0.0) / 100.0, 0.0), 1.0), ctx.version.id],
            ).fetchone()  # type: ignore[misc]
        if n == 0 and ctx.version.n_examples:
            raise ConfigError(
                f"mt-score.v1: no example of {ctx.version.ref} has meta.{self.score}",
                fix="filter a version made by `workbench translate` (or one derived from it), "
                    "translated with scores (without --no-scores)")
        if self.percentile is not None:
            if not 0 <= self.percentile <= 100:
                raise ConfigError(f"mt-score.v1.percentile is {self.percentile}", fix="give 0..100")
            self._threshold = float(q) if q is not None else float("-inf")
        else:
            self._threshold = self.min

    def decide_one(self, item: Item) -> Decision:
        meta = item.example.meta
        v = meta.get(self.score)
        if v is None and meta.get(f"{self.score}_clean") is not None:
            # markers.v1 replaced the translation: its model's score of the plain translation of
            # the same source is what there is (the marked one is not scored)
            v = meta[f"{self.score}_clean"]
        if v is None:
            return Decision(True, "no-score", f"no meta.{self.score}")
        v = float(v)
        t = self._threshold if self._threshold is not None else self.min
        if v < t:
            return Decision(False, "low-score", f"{self.score} {v:.3f} < {t:.3f}", v)
        return Decision(True, "ok", f"{self.score} {v:.3f}", v)


