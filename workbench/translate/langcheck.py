"""A single-pair model's output language, checked on a sample before anything is stored.

A multilingual model is steered by a language token the vocabulary is checked for; an OPUS-MT
pair model writes whatever language it was trained on, and the pair the workbench believes in
came from its files, its directory's name or ``--pair``, any of which can be wrong. So the first
outputs of such a run (cached or new: what would be stored) are identified with py3langid, the
identifier ``langid.v1`` uses (:mod:`workbench.core.langid`), and a run whose outputs are
clearly in another language is refused with a :class:`LanguageError` before its version is
written: German is never stored as ``.fr``.

The check is made to stay quiet unless the evidence is strong (a false refusal stops a correct
run; a missed one is still caught by ``langid.v1`` per sentence): see the thresholds below. A
target py3langid does not know is not checked. ``TranslateOptions.check_language=False``
(``--no-check-language``) turns it off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from workbench.core.errors import LanguageError
from workbench.core.langid import identifier_soon
from workbench.core.records import Example
from workbench.mt.languages import parse
from workbench.mt.models import Model

__all__ = ["LanguageCheck", "output_check"]

#: usable outputs identified: the first ones of the run. A wrong-language model shows itself in
#: any 64 sentences, and 64 classifications cost a few milliseconds
SAMPLE = 64
#: fewest usable outputs for a verdict: below it (a tiny corpus, names and numbers only) no check.
#: Even if each output of a correct model were misidentified as one same language with
#: probability 0.2 (short, name-heavy sentences), 12 of 16 would happen in 3 of 10^6 runs (0.3:
#: 3 of 10^4), and the target would still need to hold under 15%
MIN_SAMPLE = 16
#: share of the sample one other language must hold to refuse: py3langid names the language of
#: most sentences of four words or more (all 40 to 200 of the tests' German, though its
#: vocabulary is 30 words, many of them names); 0.75 leaves room for names, numbers and copies
MIN_SHARE = 0.75
#: most share the target may hold: a correct model's outputs are mostly identified as the target;
#: when 15% or more are, the picture is mixed (a partly off-target model, a code-mixed domain),
#: which is langid.v1's job per sentence, not a reason to refuse the run
MAX_TARGET_SHARE = 0.15
#: an output is usable when it has this many letters (py3langid is unreliable on shorter texts;
#: langid.v1 skips under 15 characters) ...
MIN_LETTERS = 20
#: ... and this many distinct words (names and titles, "New York City", and the repeated pieces
#: of a random model, "un un un un", are not evidence)
MIN_WORDS = 4
#: ... or, written without spaces (Chinese, Japanese, Thai), this many distinct letters
MIN_DISTINCT_LETTERS = 12

#: languages py3langid confuses with each other on genuine text: an output identified as one of
#: its target's group is no evidence against the target (nor the reverse)
_GROUPS = [{"no", "nb", "nn", "da"}, {"hr", "sr", "bs", "sh", "me"}, {"ms", "id"},
           {"zh", "yue", "wuu"}, {"ar", "ary", "arz"}, {"gl", "pt"}, {"ca", "oc"}, {"de", "lb"}]
_GROUP = {code: min(g) for g in _GROUPS for code in g}


def _group(code: str) -> str:
    return _GROUP.get(code, code)


def _base(code: str) -> str:
    """The language subtag of a code (``deu_Latn``, ``de-AT`` -> ``de``; ``zh-Hant`` -> ``zh``)."""
    lang = parse(code)
    return lang.language if lang is not None and lang.language else code.split("-")[0].split("_")[0].lower()


def usable(text: str) -> bool:
    """Whether ``text`` is long and varied enough for its language to be told."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < MIN_LETTERS:
        return False
    words = {w for w in text.split() if any(c.isalpha() for c in w)}
    return len(words) >= MIN_WORDS or len(set(letters)) >= MIN_DISTINCT_LETTERS


def output_check(model: Model, src_lang: str, tgt_lang: str, enabled: bool = True) -> LanguageCheck | None:
    """The check of a run into ``tgt_lang``, or ``None`` where none applies: turned off, or a
    model steered by a target language token (multilingual). A target py3langid does not know is
    found out once the identifier is loaded (in the background): then nothing is checked."""
    if not enabled or model.family.token(tgt_lang, "target") is not None:
        return None
    return LanguageCheck(model=model, src=_base(src_lang), target=_base(tgt_lang))


class LanguageCheck:
    """Identifies the first usable outputs of a run; :meth:`decide` refuses the run when they
    are clearly in another language than the target.

    The identifier loads in a background thread while the model translates: usable outputs are
    kept until it is ready (:meth:`see` never waits for it), and :meth:`decide` waits for it."""

    def __init__(self, *, model: Model, src: str, target: str, ident: Any = None):
        self.model, self.src, self.target = model, src, target
        self._ident = ident
        self._loading = None if ident is not None else identifier_soon(
            needed_by="the translate stage's language check")
        #: usable outputs waiting for the identifier
        self.pending: list[str] = []
        #: group of the language identified -> outputs. Each output counts for py3langid's first
        #: choice whatever its probability: on short sentences of a correct model that is often
        #: under 0.5 (a quarter of the known-answer model's German), and the agreement of the
        #: sample, not one sentence's confidence, is the evidence
        self.votes: Counter[str] = Counter()
        #: the codes identified, as py3langid gives them (the one to name in the message)
        self.codes: Counter[str] = Counter()
        self.n = 0
        self.decided = False
        #: False once the identifier turned out not to know the target (nothing to compare with:
        #: many low-resource languages)
        self.applies = True

    def _ready(self, wait: bool) -> Any:
        """The identifier, or ``None`` while it is still loading and ``wait`` is false."""
        if self._ident is None:
            if not wait and not self._loading.done():
                return None
            self._ident = self._loading.result()
            known = {_group(c) for c in self._ident.nb_classes}
            self.applies = _group(self.target) in known
        return self._ident

    def _classify(self, ident: Any) -> None:
        for text in self.pending:
            code, _p = ident.classify(text)
            self.votes[_group(code)] += 1
            self.codes[code] += 1
        self.pending.clear()

    def see(self, examples: Iterable[Example] | Any) -> None:
        """Take outputs into the sample; decide once it is full and the identifier is loaded."""
        if self.decided:
            return
        # the local engine yields Arrow tables of staged rows, the sharded run examples
        if self.n >= SAMPLE:
            texts: Iterable[str] = ()
        elif hasattr(examples, "column"):
            texts = examples.column("text").slice(0, 4 * SAMPLE).to_pylist()
        else:
            texts = (ex.text for ex in examples)
        for text in texts:
            if self.n >= SAMPLE:
                break
            if usable(text):
                self.pending.append(text)
                self.n += 1
        if self.n >= SAMPLE and self._ready(wait=False) is not None:
            self.decide()

    def decide(self) -> None:
        """Refuse (:class:`LanguageError`) when one other language holds ``MIN_SHARE`` of at least
        ``MIN_SAMPLE`` usable outputs and the target less than ``MAX_TARGET_SHARE``."""
        self.decided = True
        if self.n < MIN_SAMPLE:
            return
        ident = self._ready(wait=True)
        if not self.applies:
            return
        self._classify(ident)
        want = _group(self.target)
        others = [(n, code) for code, n in self.votes.items() if code != want]
        if not others:
            return
        n, group = max(others)
        other = max((c for c in self.codes if _group(c) == group), key=lambda c: self.codes[c])
        if n < MIN_SHARE * self.n or self.votes[want] >= MAX_TARGET_SHARE * self.n:
            return
        src = self.src
        hint = " (its source language: is it a model for the other direction?)" if group == _group(src) else ""
        raise LanguageError(
            f"the model {self.model.name} writes {other} ({n} of {self.n} sampled outputs), not "
            f"{self.target}{hint}; nothing was stored", where=str(self.model.path),
            fix=f"if it translates {src} -> {other}, pass --pair {src}-{other} --tgt-lang {other}; "
                f"else choose a model for {src}-{self.target} (e.g. Helsinki-NLP/opus-mt-{src}-{self.target}); "
                "--no-check-language (pipeline: check_language = false) stores its outputs anyway")

    def watch(self, chunks: Iterable[Any], on_refuse: Callable[[], None] | None = None) -> Iterator[Any]:
        """``chunks`` passed on unchanged, each seen first; the verdict comes before the stream
        ends, so a refused run's version is never written (the store writes a version only once
        all its examples are read). ``on_refuse()`` runs before the refusal is raised: the
        engine's flush, so the cache keeps what was translated (as after Ctrl-C); the inner
        stream is closed on the way out."""
        try:
            for chunk in chunks:
                self.see(chunk)
                yield chunk
            if not self.decided:
                self.decide()
        except LanguageError:
            if on_refuse is not None:
                on_refuse()
            raise
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
