"""Shard workers for :mod:`workbench.executors.run`.

:class:`CT2GreedyWorker` is a generic CTranslate2 translate worker (whitespace or SentencePiece
tokens in, greedy or beam search out) producing examples by the translate stage's conventions:
same ``id`` and ``split`` as the source, ``text`` = the translation, ``offsets`` =
:func:`workbench.core.records.tokenize`, no spans, ``meta`` with ``src_text``, ``src_lang``,
``mt_score`` (sum of token log-probs) and ``mt_avg_logprob``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.errors import ModelError
from workbench.core.records import Example, tokenize
from workbench.executors.options import worker_context

__all__ = ["CT2GreedyWorker"]


@dataclass
class CT2GreedyWorker:
    """Translate a shard with one CTranslate2 ``Translator`` (loaded once per worker).

    Attributes:
        model_dir: CTranslate2 model directory.
        tgt_lang: language code of the output examples.
        sp_model: SentencePiece model for source and target; ``None`` splits on whitespace.
        target_prefix: tokens forced at the start of every target (e.g. an NLLB language token).
        beam_size: 1 is greedy decoding (deterministic).
        max_batch_size: sentences per CTranslate2 call (the shard is split into such batches).
        max_decoding_length: longest output in tokens.
        compute_type: CTranslate2 compute type (``"default"``, ``"int8"``, ``"float32"``...).
        threads: compute threads; ``None`` uses the CPUs the executor gave this worker.
        device: ``"auto"`` uses CUDA when the executor gave this worker a GPU.
    """

    model_dir: str
    tgt_lang: str
    sp_model: str | None = None
    target_prefix: tuple[str, ...] = ()
    beam_size: int = 1
    max_batch_size: int = 32
    max_decoding_length: int = 256
    compute_type: str = "default"
    threads: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        import ctranslate2

        ctx = worker_context()
        device = ctx.device if self.device == "auto" else self.device
        try:
            self._translator = ctranslate2.Translator(
                str(self.model_dir), device=device, compute_type=self.compute_type,
                inter_threads=1, intra_threads=self.threads or ctx.threads,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load CTranslate2 model: {exc}", where=str(self.model_dir),
                             fix="pass a directory written by ctranslate2 (model.bin, vocab)") from None
        self._sp: Any = None
        if self.sp_model:
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor(model_file=str(self.sp_model))

    def _encode(self, text: str) -> list[str]:
        return self._sp.encode(text, out_type=str) if self._sp else text.split()

    def _decode(self, tokens: list[str]) -> str:
        return self._sp.decode_pieces(tokens) if self._sp else " ".join(tokens)

    def __call__(self, batch: list[Example]) -> list[Example]:
        src = [self._encode(ex.text) for ex in batch]
        prefix = [list(self.target_prefix)] * len(src) if self.target_prefix else None
        results = self._translator.translate_batch(
            src, target_prefix=prefix, beam_size=self.beam_size, max_batch_size=self.max_batch_size,
            max_decoding_length=self.max_decoding_length, return_scores=True,
        )
        out = []
        for ex, res in zip(batch, results, strict=True):
            hyp = res.hypotheses[0][len(self.target_prefix):]
            text = self._decode(hyp)
            score = float(res.scores[0]) if res.scores else 0.0
            out.append(Example(
                id=ex.id, text=text, offsets=tokenize(text), spans=[], lang=self.tgt_lang,
                split=ex.split,
                meta={"src_text": ex.text, "src_lang": ex.lang, "mt_score": score,
                      "mt_avg_logprob": score / max(1, len(hyp))},
            ))
        return out
