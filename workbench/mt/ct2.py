"""CTranslate2 + sentencepiece adapter for the MT-guided projectors (``markers.v1``,
``constrained.v1``): implements ``projectors.mtbase.Translator`` and ``Scorer``.

A thin wrapper: ``ctranslate2.Translator.translate_batch`` / ``score_batch`` with sentencepiece
models for the source and target side. Language-token conventions are piece lists
(``source_prefix``, ``source_suffix``, ``target_prefix``). :func:`load_mt` (and
:meth:`CT2Model.from_model`) derive them from the model's family in :mod:`workbench.mt.models` (one
source of truth for language tokens, the one the translate stage uses: e.g. NLLB
``["eng_Latn"] + pieces + ["</s>"]`` with target prefix ``["deu_Latn"]``); the constructor takes
them explicitly for models without family metadata.

CTranslate2 maps pieces missing from its vocabulary to ``<unk>`` silently; :meth:`CT2Model.unknown`
tells which strings would, so projectors can refuse markers the model cannot write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelError

__all__ = ["CT2Model", "find_spm", "load_mt"]

_SPM_NAMES = {
    "source": ("source.spm", "source.model", "spm.model", "sentencepiece.bpe.model", "sentencepiece.model",
               "spiece.model"),
    "target": ("target.spm", "target.model", "spm.model", "sentencepiece.bpe.model", "sentencepiece.model",
               "spiece.model"),
}


def find_spm(model_dir: str | Path, side: str) -> Path:
    """The sentencepiece model of ``side`` (``source``/``target``) inside ``model_dir``."""
    d = Path(model_dir)
    for name in _SPM_NAMES[side]:
        if (d / name).is_file():
            return d / name
    raise ModelError(f"no sentencepiece model for the {side} side", where=str(d),
                     fix=f"put one of {', '.join(_SPM_NAMES[side])} in the model directory or pass "
                         f"sp_{side}=PATH")


def _read_vocab(model_dir: Path, side: str) -> set[str]:
    for name in (f"{side}_vocabulary", "shared_vocabulary"):
        for ext in (".json", ".txt"):
            p = model_dir / (name + ext)
            if p.is_file():
                if ext == ".json":
                    return set(json.loads(p.read_text(encoding="utf-8")))
                return set(p.read_text(encoding="utf-8").split("\n")) - {""}
    raise ModelError(f"no {side} vocabulary file", where=str(model_dir),
                     fix="point to a CTranslate2 model directory (ct2-transformers-converter output)")


#: languages written without spaces between words
_NO_SPACE = frozenset({"zh", "ja", "th", "my", "km", "lo"})


class CT2Model:
    """A CTranslate2 translation model with its sentencepiece models.

    Args:
        model_dir: CTranslate2 model directory.
        sp_source / sp_target: sentencepiece model files (default: found in ``model_dir``).
        device / compute_type / inter_threads / intra_threads: as ``ctranslate2.Translator``
            (defaults ``cpu``, ``default``, 1, 0).
        beam_size: beam for :meth:`translate` (default 4).
        max_decoding_length: cap on generated pieces; 0 (default): derived per batch from its
            longest source (4 per source piece, plus 16), at most the model's positions.
        joiner: what joins the translations of the parts of a text split at sentence boundaries
            because it is longer than the model's input (default a space).
        max_batch_size: examples per engine batch (default 32).
        source_prefix / source_suffix / target_prefix: language tokens (default none).
    """

    def __init__(self, model_dir: str | Path, *, sp_source: str | Path | None = None,
                 sp_target: str | Path | None = None, device: str = "cpu", compute_type: str = "default",
                 inter_threads: int = 1, intra_threads: int = 0, beam_size: int = 4,
                 max_decoding_length: int = 0, max_batch_size: int = 32,
                 source_prefix: Sequence[str] = (), source_suffix: Sequence[str] = (),
                 target_prefix: Sequence[str] = (), joiner: str = " "):
        import ctranslate2
        import sentencepiece as spm

        self.model_dir = Path(model_dir)
        if not (self.model_dir / "model.bin").is_file():
            raise ModelError("not a CTranslate2 model (no model.bin)", where=str(self.model_dir),
                             fix="convert it first (workbench models convert, or ct2-transformers-converter)")
        try:
            self.engine = ctranslate2.Translator(str(self.model_dir), device=device, compute_type=compute_type,
                                                 inter_threads=inter_threads, intra_threads=intra_threads)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"CTranslate2 cannot load the model: {exc}", where=str(self.model_dir),
                             fix="check the directory and the device / compute type") from None
        self.sp_src = spm.SentencePieceProcessor(model_file=str(sp_source or find_spm(model_dir, "source")))
        self.sp_tgt = spm.SentencePieceProcessor(model_file=str(sp_target or find_spm(model_dir, "target")))
        self.src_vocab = _read_vocab(self.model_dir, "source")
        self.tgt_vocab = _read_vocab(self.model_dir, "target")
        self.beam_size = beam_size
        self.max_decoding_length = max_decoding_length
        self.max_batch_size = max_batch_size
        self.joiner = joiner
        from workbench.mt.models import position_table

        #: the most positions the model encodes (None: relative positions, no fixed limit)
        self.positions = position_table(self.model_dir)
        self.source_prefix, self.source_suffix = list(source_prefix), list(source_suffix)
        self.target_prefix = list(target_prefix)
        #: model identity from :meth:`from_model` (name@content hash, family, languages), else None
        self.identity: dict[str, Any] | None = None
        #: pieces read or scored so far that the model only knows as <unk> (CTranslate2 does not say)
        self.unknown_pieces = 0
        #: parts translated so far whose output reached the decoding limit without ending, even
        #: after cutting them again (their translation misses its end)
        self.truncated = 0
        for tok in self.source_prefix + self.source_suffix:
            if tok not in self.src_vocab:
                raise ModelError(f"language token {tok!r} is not in the source vocabulary",
                                 where=str(self.model_dir), fix="check the language code for this model family")
        for tok in self.target_prefix:
            if tok not in self.tgt_vocab:
                raise ModelError(f"language token {tok!r} is not in the target vocabulary",
                                 where=str(self.model_dir), fix="check the language code for this model family")

    @classmethod
    def from_model(cls, model: Any, *, src_lang: str, tgt_lang: str, **kwargs: Any) -> CT2Model:
        """The adapter over a loaded :class:`workbench.mt.models.Model`, with the language tokens
        its family puts around the source and before the target (as the translate stage does).

        Raises :class:`~workbench.core.errors.LanguageError` when the model does not know a language.
        """
        fam = model.family
        src_tok = fam.token(src_lang, "source")
        tgt_tok = fam.token(tgt_lang, "target")
        slot = "\x00"  # where the sentence pieces go in the family's layout
        layout = fam.source([slot], src_tok, tgt_tok)
        i = layout.index(slot)
        from workbench.mt.languages import parse

        tag = parse(tgt_lang)
        if tag is not None and tag.language in _NO_SPACE:  # parts of a split text join without a space
            kwargs.setdefault("joiner", "")
        out = cls(model.path, source_prefix=layout[:i], source_suffix=layout[i + 1:],
                  target_prefix=fam.prefix(tgt_tok) or (), **kwargs)
        out.identity = {"model": model.signature, "family": fam.name, "src": src_lang, "tgt": tgt_lang,
                        "compute": kwargs.get("compute_type", "default")}
        return out

    def signature(self) -> dict[str, Any]:
        """Model identity and decoding: ``name@content hash``, family and languages when built by
        :meth:`from_model`; otherwise directory name + a hash of model.bin's size and head."""
        import hashlib

        if self.identity is not None:
            return {**self.identity, "beam": self.beam_size, "maxlen": self.max_decoding_length}

        mb = self.model_dir / "model.bin"
        h = hashlib.sha256(str(mb.stat().st_size).encode())
        with mb.open("rb") as fh:
            h.update(fh.read(1 << 20))
        return {"model": f"{self.model_dir.name}@{h.hexdigest()[:10]}", "beam": self.beam_size,
                "src_prefix": "+".join(self.source_prefix), "tgt_prefix": "+".join(self.target_prefix)}

    # -- tokenisation ----------------------------------------------------------------------------
    def tokenize_source(self, texts: Sequence[str]) -> list[list[str]]:
        out = [self.source_prefix + p + self.source_suffix for p in self.sp_src.encode(list(texts), out_type=str)]
        self.unknown_pieces += sum(p not in self.src_vocab for ps in out for p in ps)
        return out

    def tokenize_target(self, texts: Sequence[str]) -> list[Any]:
        from projectors.mtbase import Pieces

        out = []
        for text in texts:
            proto = self.sp_tgt.encode(text, out_type="proto")
            b2c = _byte_to_char(text)
            out.append(Pieces([p.piece for p in proto.pieces],
                              [(b2c[p.begin], b2c[p.end]) for p in proto.pieces]))
            self.unknown_pieces += sum(p.piece not in self.tgt_vocab for p in proto.pieces)
        return out

    def unknown(self, strings: Sequence[str]) -> list[str]:
        """Strings that the source or target side would turn into ``<unk>``."""
        bad = []
        for s in strings:
            src = self.sp_src.encode(s, out_type=str)
            tgt = self.sp_tgt.encode(s, out_type=str)
            src_ids = self.sp_src.encode(s)
            tgt_ids = self.sp_tgt.encode(s)
            if (any(p not in self.src_vocab for p in src) or any(p not in self.tgt_vocab for p in tgt)
                    or self.sp_src.unk_id() in src_ids or self.sp_tgt.unk_id() in tgt_ids):
                bad.append(s)
        return bad

    # -- translation and scoring ---------------------------------------------------------------
    def cap(self, src_len: int) -> int:
        """The decoding limit for sources of up to ``src_len`` pieces (see ``max_decoding_length``)."""
        if self.max_decoding_length:
            return self.max_decoding_length
        return min(self.positions or 1024, 4 * src_len + 16)

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translations of ``texts``; a text longer than the model's input is translated in parts
        cut at sentence (then clause, then word) boundaries and joined with ``joiner``, as the
        translate stage does, so no input meets the end of the position table. A part whose
        output reaches the derived decoding limit without ending is cut in two and translated
        again (see :meth:`_translate_parts`)."""
        if not texts:
            return []
        from workbench.core.segment import split_ranges

        budget = (self.positions or 0) - len(self.source_prefix) - len(self.source_suffix) - 1
        if self.max_decoding_length:  # a cap on the output: parts short enough to end under it
            budget = min(budget, self.max_decoding_length // 2) if budget > 0 else self.max_decoding_length // 2
        parts: list[tuple[int, str]] = []  # (text index, part)
        for i, text in enumerate(texts):
            # a text has at least as many characters as pieces (bar one): only a long one is encoded
            # here to measure it (tokenize_source below encodes every part once)
            if budget > 0 and len(text) >= budget and len(self.sp_src.encode(text)) > budget:
                for a, b in split_ranges(text, lambda t: len(self.sp_src.encode(t)) <= budget):
                    if text[a:b].strip():
                        parts.append((i, text[a:b]))
            else:
                parts.append((i, text))
        out: list[list[str]] = [[] for _ in texts]
        for (i, _), t in zip(parts, self._translate_parts([t for _, t in parts]), strict=True):
            out[i].append(t)
        return [self.joiner.join(x) for x in out]

    def _translate_parts(self, parts: list[str], depth: int = 0) -> list[str]:
        """One translation per part. A part whose output reached the derived decoding limit
        without ``</s>`` is cut in two (sentence, clause or word boundary) and each half
        translated again, up to ``RESPLIT_DEPTH`` times, as the translate stage does: the limit
        is at most the model's positions, so a model whose output is longer than its input
        (one word to three) would otherwise lose the end of a long part silently (and with it
        the markers of markers.v1). What still cannot end is counted in :attr:`truncated`; a
        ``max_decoding_length`` the caller gives is a cap and is not retried."""
        from workbench.core.segment import RESPLIT_DEPTH, split_ranges

        src = self.tokenize_source(parts)
        res: list[str] = [""] * len(parts)
        cut: list[int] = []
        n = len(self.target_prefix)
        order = sorted(range(len(src)), key=lambda j: len(src[j]))  # batches of similar length
        step = max(self.max_batch_size, 1)
        for lo in range(0, len(order), step):
            idx = order[lo:lo + step]
            batch = [src[j] for j in idx]
            prefix = [list(self.target_prefix)] * len(batch) if self.target_prefix else None
            cap = self.cap(max(map(len, batch)))
            out = self.engine.translate_batch(batch, target_prefix=prefix, beam_size=self.beam_size,
                                              max_decoding_length=cap, max_batch_size=self.max_batch_size)
            for j, r in zip(idx, out, strict=True):
                hyp = r.hypotheses[0]
                res[j] = self.sp_tgt.decode(hyp[n:])
                if len(hyp) >= cap:  # reached the limit: no </s>
                    cut.append(j)
        halves: list[str] = []
        owner: list[int] = []
        for j in cut:
            text = parts[j]
            half = max(1, (len(src[j]) - len(self.source_prefix) - len(self.source_suffix) + 1) // 2)
            hs = [] if self.max_decoding_length or depth >= RESPLIT_DEPTH else [
                text[a:b] for a, b in split_ranges(text, lambda t, h=half: len(self.sp_src.encode(t)) <= h)
                if text[a:b].strip()]
            if len(hs) < 2:  # a cap the caller chose, cut often enough, or one word: keep it
                self.truncated += 1
                continue
            halves += hs
            owner += [j] * len(hs)
        if halves:
            again: dict[int, list[str]] = {}
            for j, t in zip(owner, self._translate_parts(halves, depth + 1), strict=True):
                again.setdefault(j, []).append(t)
            for j, ts in again.items():
                res[j] = self.joiner.join(ts)
        return res

    def score(self, sources: Sequence[list[str]], targets: Sequence[list[str]]) -> list[list[float]]:
        """Per-piece log-probs of each target (plus ``</s>`` last), language prefix excluded."""
        if not sources:
            return []
        n = len(self.target_prefix)
        tgts = [self.target_prefix + list(t) for t in targets]
        res = self.engine.score_batch([list(s) for s in sources], tgts, max_batch_size=self.max_batch_size)
        return [list(r.log_probs[n:]) for r in res]


def load_mt(model: Any, *, src_lang: str, tgt_lang: str, family: str | None = None,
            pair: str | None = None, **kwargs: Any) -> CT2Model:
    """A :class:`CT2Model` for ``src_lang -> tgt_lang`` from a CTranslate2 directory, a converted
    model id (:func:`workbench.mt.models.load_model`) or a loaded ``Model``; ``family`` overrides
    the family recorded in the directory (``workbench.json``) or detected from its files, ``pair``
    (``en-de``) the language pair of a single-pair model.
    ``kwargs`` go to :class:`CT2Model` (device, compute_type, beam_size, ...)."""
    from workbench.mt.models import Model, load_model

    m = model if isinstance(model, Model) else load_model(model, family=family, pair=pair)
    return CT2Model.from_model(m, src_lang=src_lang, tgt_lang=tgt_lang, **kwargs)


def _byte_to_char(text: str) -> list[int]:
    """Map byte offsets of the UTF-8 encoding to character offsets (one entry per byte + end)."""
    out = []
    for i, ch in enumerate(text):
        out.extend([i] * len(ch.encode("utf-8")))
    out.append(len(text))
    return out
