"""Model families and their language tokens.

A *family* knows how a model of that kind expects languages to be marked (NLLB-200: ``eng_Latn``
source token and ``deu_Latn`` target prefix; M2M-100: ``__en__`` / ``__de__``; MADLAD-400 (T5):
``<2de>`` before the source; OPUS-MT (Marian): ``>>deu<<`` before the source for multi-target
models). Every code is checked against the model's vocabulary. Short ISO codes map to family codes
through one table, :data:`workbench.mt.languages.LANGUAGES`.
"""

from __future__ import annotations

import difflib
import re
from typing import ClassVar

from workbench.core.errors import LanguageError, ModelError
from workbench.mt.languages import LANGUAGES, Lang, parse, short_code

__all__ = ["FAMILIES", "Family", "detect_family", "pair_from_name", "parse_pair", "register_family"]


def _named(name: str):
    """Class decorator: the versioned name of a family (``nllb.v1``)."""

    def deco(cls: type[Family]) -> type[Family]:
        cls.name = name
        return cls

    return deco


class Family:
    """How one kind of model marks languages.

    Subclasses set ``token_re`` (what a language token of the vocabulary looks like) and
    implement :meth:`candidates` (a parsed language -> the tokens that could mark it) and
    :meth:`unwrap`, and may override :meth:`source` / :meth:`prefix`.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    token_re: ClassVar[re.Pattern[str]]
    model_types: ClassVar[tuple[str, ...]] = ()
    tokenizer_classes: ClassVar[tuple[str, ...]] = ()

    #: files a converter leaves next to a model of this family (``--copy_files``): evidence
    tokenizer_files: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, vocab: set[str], model_name: str = "model", pair: tuple[str, str] | None = None):
        self.vocab = vocab
        self.model_name = model_name
        #: (source, target) of a model that translates one pair only, when known
        self.pair = pair
        self.lang_tokens = sorted(t for t in vocab if self.token_re.match(t))

    # -- detection ---------------------------------------------------------------------------
    @classmethod
    def score(cls, vocab: set[str], model_type: str | None, tokenizer_class: str | None,
              files: frozenset[str] | set[str] = frozenset()) -> int:
        """How well a model matches this family (0: not at all): its tokenizer class, model type,
        language tokens in the vocabulary, and the tokenizer files beside it."""
        n = sum(1 for t in vocab if cls.token_re.match(t))
        s = 0
        if tokenizer_class and tokenizer_class.removesuffix("Fast") in cls.tokenizer_classes:
            s += 100
        if model_type and model_type in cls.model_types:
            s += 10
        if n >= 2:
            s += 20 + min(n, 50)
        if cls.tokenizer_files and cls.tokenizer_files <= set(files):
            s += 15
        return s

    def summary(self) -> str:
        """What the model translates, in words (``NLLB-200, 202 languages``)."""
        return f"{self.label}, {len(self.supported())} languages"

    # -- language tokens ---------------------------------------------------------------------
    def candidates(self, lang: Lang) -> list[str]:
        """The vocabulary tokens that could mark ``lang``, best first."""
        raise NotImplementedError

    def token(self, code: str, role: str = "target") -> str | None:
        """The vocabulary token for ``code`` (short, ISO 639-3, BCP-47, FLORES or native form).

        Raises :class:`LanguageError` with close matches when the code is unknown or the model
        does not support it.
        """
        if code in self.lang_tokens:
            return code
        lang = parse(code)
        if lang is not None:
            found = [t for t in self.candidates(lang) if t in self.vocab]
            if found:
                return found[0]
        if lang is not None and lang.common:
            why = f"the {self.label} model {self.model_name} does not support {code!r} " \
                  f"(token {self.candidates(lang)[0]!r} is not in its vocabulary)"
        else:
            why = f"unknown {role} language code {code!r} for the {self.label} model {self.model_name}"
        raise LanguageError(why, fix=self._suggest(code))

    def _suggest(self, code: str) -> str:
        supported = self.supported()
        close = difflib.get_close_matches(code, supported + self.lang_tokens, n=5, cutoff=0.4)
        head = f"close matches: {', '.join(close)}; " if close else ""
        return head + f"the model supports {len(supported)} languages, e.g. " \
                      f"{', '.join(supported[:12])} (short ISO codes or {self.label} codes)"

    def supported(self) -> list[str]:
        """Normalised tags of the languages the vocabulary has tokens for."""
        tags = {short_code(self.unwrap(t)) for t in self.lang_tokens}
        return sorted(t for t in tags if t)

    def unwrap(self, token: str) -> str:
        """The language code inside a language token (``__de__`` -> ``de``)."""
        return token

    # -- sequences ---------------------------------------------------------------------------
    def source(self, pieces: list[str], src_tok: str | None, tgt_tok: str | None) -> list[str]:
        """Source tokens as CTranslate2 receives them (``</s>`` appended)."""
        return pieces + ["</s>"]

    def prefix(self, tgt_tok: str | None) -> list[str] | None:
        """Target prefix forced at the start of the output (stripped from the output)."""
        return None

    @property
    def special_tokens(self) -> int:
        """Tokens the family adds to the source (counted against the input limit)."""
        return 2


@_named("nllb.v1")
class NLLB(Family):
    """NLLB-200: FLORES-200 codes; source token first, target token as prefix."""

    label = "NLLB-200"
    token_re = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
    model_types: ClassVar[tuple[str, ...]] = ("m2m_100", "nllb_moe")
    tokenizer_classes = ("NllbTokenizer",)

    def candidates(self, lang):
        out = []
        if lang.tag in LANGUAGES:  # the table's choice (a macrolanguage's individual language)
            out.append(LANGUAGES[lang.tag][0])
        elif lang.language in LANGUAGES and lang.script is None:
            out.append(LANGUAGES[lang.language][0])
        script = lang.script or lang.likely_script
        out.append(f"{lang.iso3}_{script}")
        # the language in another script the model has (one token per script in FLORES-200)
        out += sorted(t for t in self.lang_tokens if t.startswith(lang.iso3 + "_") and lang.script is None)
        return out

    def source(self, pieces, src_tok, tgt_tok):
        return [src_tok] + pieces + ["</s>"] if src_tok else pieces + ["</s>"]

    def prefix(self, tgt_tok):
        return [tgt_tok] if tgt_tok else None


@_named("m2m100.v1")
class M2M100(NLLB):
    """M2M-100: ``__de__`` tokens; source token first, target token as prefix."""

    label = "M2M-100"
    token_re = re.compile(r"^__[a-z]{2,3}__$")
    model_types: ClassVar[tuple[str, ...]] = ("m2m_100",)
    tokenizer_classes = ("M2M100Tokenizer",)

    def candidates(self, lang):
        return [f"__{lang.language}__", f"__{lang.iso3}__"]

    def unwrap(self, token):
        return token[2:-2]


@_named("madlad.v1")
class MADLAD(Family):
    """MADLAD-400 (T5): ``<2de>`` before the source; the source language is not marked."""

    label = "MADLAD-400"
    token_re = re.compile(r"^<2[a-zA-Z_\-]{2,12}>$")
    model_types = ("t5", "mt5")
    tokenizer_classes = ("T5Tokenizer",)
    tokenizer_files = frozenset({"spiece.model"})

    def candidates(self, lang):
        tagged = [f"<2{lang.language}_{lang.script}>"] if lang.script else []
        return [*tagged, f"<2{lang.tag}>", f"<2{lang.language}>"]

    def unwrap(self, token):
        return token[2:-1].replace("_", "-")

    def token(self, code, role="target"):
        if role == "source":  # not marked: any known code is fine
            if parse(code) is None and code not in self.lang_tokens:
                raise LanguageError(f"unknown source language code {code!r}",
                                    fix=self._suggest(code))
            return None
        return super().token(code, role)

    def source(self, pieces, src_tok, tgt_tok):
        return [tgt_tok] + pieces + ["</s>"]


#: a language pair in a model or directory name: opus-mt-en-de, opus-mt-tc-big-en-fr, opus-en-de-ct2
_PAIR_RE = re.compile(r"opus(?:-mt)?(?:-tc)?(?:-big|-base)?-([a-z]{2,3})-([a-z]{2,3})(?![a-zA-Z])")


def pair_from_name(name: str) -> tuple[str, str] | None:
    """``(source, target)`` named by an OPUS-MT model or directory name, if it names one."""
    m = _PAIR_RE.search(name)
    return (m.group(1), m.group(2)) if m else None


def parse_pair(text: str, where: str = "--pair") -> tuple[str, str]:
    """``en-de`` (or ``en:de``) as ``("en", "de")``; a :class:`LanguageError` otherwise."""
    parts = re.split(r"[-:>]+", text.strip())
    if len(parts) != 2 or not all(parts):
        raise LanguageError(f"bad language pair {text!r}", where=where,
                            fix="write SOURCE-TARGET, e.g. --pair en-de")
    return parts[0], parts[1]


@_named("marian.v1")
class Marian(Family):
    """OPUS-MT (Marian): one model per pair; multi-target models take ``>>deu<<`` on the source."""

    label = "OPUS-MT"
    token_re = re.compile(r"^>>[a-z]{2,3}(_[A-Za-z]+)?<<$")
    model_types = ("marian",)
    tokenizer_classes = ("MarianTokenizer",)
    tokenizer_files = frozenset({"source.spm", "target.spm"})  # a pair model has no language tokens

    def candidates(self, lang):
        iso3 = LANGUAGES[lang.tag][1] if lang.tag in LANGUAGES else lang.iso3
        scripted = [f">>{iso3}_{lang.script}<<"] if lang.script else []
        return [*scripted, f">>{iso3}<<", f">>{lang.language}<<"]

    def unwrap(self, token):
        return token[2:-2]

    @property
    def multi_target(self) -> bool:
        return bool(self.lang_tokens)

    def token(self, code, role="target"):
        if role == "source" or not self.multi_target:
            # one pair per model: the code is checked to be a language code, and against the
            # pair the model's files or name give (opus-mt-en-de), or --pair
            if short_code(code) is None and f">>{code}<<" not in self.lang_tokens:
                raise LanguageError(f"unknown {role} language code {code!r}", fix=self._suggest(code))
            if self.pair is None and not self.multi_target:
                raise LanguageError(
                    f"the OPUS-MT model {self.model_name} translates one language pair, and neither its "
                    "files nor its name say which", where=self.model_name,
                    fix="pass the pair: --pair en-de (in a pipeline: pair = \"en-de\" in the translate "
                        "table), or keep the model in a directory named after it (opus-mt-en-de)")
            if self.pair is not None:
                src, tgt = self.pair
                want = src if role == "source" else tgt
                if short_code(want) and short_code(code) not in (None, short_code(want)):
                    raise LanguageError(
                        f"the OPUS-MT model {self.model_name} translates {src} -> {tgt}, not {role} "
                        f"language {code!r}",
                        fix=f"use --{'src' if role == 'source' else 'tgt'}-lang {want} or another model, "
                            f"e.g. Helsinki-NLP/opus-mt-{src if role == 'target' else code}-"
                            f"{code if role == 'target' else tgt}")
            return None
        return super().token(code.strip("<>") if code.startswith(">>") else code, role)

    def summary(self) -> str:
        if self.multi_target:
            return super().summary()
        return f"{self.label}, {self.pair[0]} -> {self.pair[1]}" if self.pair else \
            f"{self.label}, one language pair (not named by its files: pass --pair)"

    def supported(self):
        return super().supported() if self.multi_target else list(LANGUAGES)

    def source(self, pieces, src_tok, tgt_tok):
        return ([tgt_tok] if tgt_tok else []) + pieces + ["</s>"]


#: versioned name -> family: adding a family is one class and one entry here
FAMILIES: dict[str, type[Family]] = {cls.name: cls for cls in (NLLB, M2M100, MADLAD, Marian)}


def register_family(name: str):
    """Class decorator: add a :class:`Family` (a plug-in's) to :data:`FAMILIES`."""

    def deco(cls: type[Family]) -> type[Family]:
        FAMILIES[name] = _named(name)(cls)
        return cls

    return deco


def detect_family(vocab: set[str], model_type: str | None = None,
                  tokenizer_class: str | None = None, where: str = "model",
                  files: frozenset[str] | set[str] = frozenset()) -> str:
    """The registered family name that best matches a model (``files``: the names of the files
    beside it, e.g. ``source.spm`` and ``target.spm`` of an OPUS-MT model)."""
    scores = {name: cls.score(vocab, model_type, tokenizer_class, files) for name, cls in FAMILIES.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] <= 0:
        raise ModelError(
            f"cannot tell the model family of {where} (model type {model_type!r}, tokenizer "
            f"{tokenizer_class!r}, no language tokens in the vocabulary)",
            fix=f"pass --family (one of {', '.join(FAMILIES)}), or convert with workbench models convert",
        )
    return best
