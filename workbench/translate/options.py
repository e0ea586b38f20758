"""Options and progress reports of the translate stage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Progress", "TranslateOptions"]


@dataclass
class TranslateOptions:
    """Options of the translate stage (decoding parameters go into the signature and cache key).

    Attributes:
        device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``.
        device_index: GPU ids; one model replica per GPU.
        compute_type: ``auto`` (int8 on CPU, int8_float16 on GPU) or a CTranslate2 compute type.
        beam_size: beam width (1 = greedy).
        max_batch_tokens: tokens per batch (padding included); 0 = 1024 on CPU, 8192 on GPU.
        max_decoding_length: most target pieces per part of a sentence; 0 (default): derived
            per batch from its longest source part (4 per source piece, plus 16), at most the
            model's positions; a part that reaches that limit without ending is cut in two and
            translated again (up to three times). A number: a cap for every part. What still
            cannot end is flagged ``meta.mt_truncated`` and counted.
        min_decoding_length: fewest target tokens.
        length_penalty: exponent of the length normalisation in beam search.
        repetition_penalty: > 1 penalises repeated tokens.
        no_repeat_ngram_size: forbid repeating n-grams of this size (0: off).
        inter_threads: parallel batches; 0 = auto (CPU: one per core up to 4 cores, e.g. 2x1 on
            2 cores, faster than 1x2 there: see ``bench/translate.py``; GPU: one per device).
        intra_threads: threads per batch; 0 = auto.
        split_long: split inputs over the model limit at sentence boundaries (else an error).
        token_logprobs: also store per-token log-probs (costs one extra scoring pass per sentence).
        scores: store each translation's log-probability (``meta.mt_score``, ``mt_avg_logprob``,
            which the ``mt-score.v1`` filter and the report's histogram read). Off: CTranslate2
            is not asked for them. That only saves time with greedy decoding (``beam_size`` 1),
            where the scores cost a log-softmax over the target vocabulary at every step (a
            share of the engine's work that grows as the model's compute shrinks, e.g. on a GPU:
            ``bench/translate.py`` measures it); beam search computes them anyway. In the
            signature and cache key when off.
        detokenize: natural input: an example whose text is its tokens joined by spaces (a CoNLL
            file without ``# text``: "( Reuters ) ... the lamb .") is sent to the model as the
            Moses-detokenised sentence ("(Reuters) ... the lamb."), which models were trained on;
            the stored source example is unchanged, the model's input is kept in
            ``meta['mt_input']``. Off: the joined tokens, as before.
        read_chunk: source examples read, sorted and queued at a time (bounds memory).
        flush_every: sentences between cache writes; with ``flush_seconds``, bounds what a
            killed run loses (each write is a short transaction).
        flush_seconds: most seconds between cache writes while sentences are pending (what a
            killed run loses at most, besides the batches in flight).
        name: output corpus name; default ``{source corpus}.{tgt}`` (``{tgt}`` is substituted).
        family: the model family (``marian.v1``, ``nllb.v1``, ...) when its files cannot tell.
        pair: the language pair of a single-pair model (``en-de``) when its files cannot tell.
        check_language: a single-pair model's first outputs (up to 64 of four words or more) are
            identified with py3langid, and the run is refused when they are clearly in another
            language than the target (``the model writes de (52 of 60 sampled outputs), not fr``),
            before anything is stored; see :mod:`workbench.translate.langcheck`. Off: stored as
            they come. Not in the signature or cache key: it never changes what is stored, only
            whether a run is let through.
    """

    device: str = "auto"
    device_index: list[int] = field(default_factory=lambda: [0])
    compute_type: str = "auto"
    beam_size: int = 4
    max_batch_tokens: int = 0
    max_decoding_length: int = 0
    min_decoding_length: int = 1
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    inter_threads: int = 0
    intra_threads: int = 0
    split_long: bool = True
    token_logprobs: bool = False
    scores: bool = True
    detokenize: bool = True
    read_chunk: int = 2000
    flush_every: int = 2000
    flush_seconds: float = 2.0
    name: str | None = None
    family: str | None = None
    pair: str | None = None
    check_language: bool = True

    def decoding(self) -> dict[str, Any]:
        """The parameters that change the output (signature and cache key)."""
        out: dict[str, Any] = {
            "beam": self.beam_size, "maxlen": self.max_decoding_length,
            "minlen": self.min_decoding_length, "lp": self.length_penalty,
            "rp": self.repetition_penalty, "nrng": self.no_repeat_ngram_size}
        if self.token_logprobs:
            out["tlp"] = True
        if not self.scores:  # recorded only when off, so versions made before keep their signature
            out["scores"] = False
        out["detok"] = self.detokenize
        return out

    def decoding_key(self) -> str:
        """:meth:`decoding` as the translation cache records it (with ``split_long`` off, apart:
        a translation made of split parts must not serve a run that refuses to split)."""
        out = self.decoding()
        # the cache key holds the model's input text itself, which detokenising changes: the
        # same input is the same translation either way
        out.pop("detok")
        if not self.split_long:
            out["split"] = False
        return json.dumps(out, sort_keys=True)


@dataclass
class Progress:
    """A progress report (passed to the ``progress`` callback; the CLI renders it)."""

    tgt_lang: str
    total: int
    done: int = 0
    cached: int = 0
    translated: int = 0
    split: int = 0
    #: parts cut in two and translated again after reaching their decoding limit
    resplit: int = 0
    truncated: int = 0
    src_tokens: int = 0
    tgt_tokens: int = 0
    elapsed: float = 0.0
    finished: bool = False
    version: str | None = None

    @property
    def sentences_per_s(self) -> float:
        return self.translated / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tgt_tokens / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.done == 0 or self.elapsed <= 0:
            return None
        return (self.total - self.done) * self.elapsed / self.done
