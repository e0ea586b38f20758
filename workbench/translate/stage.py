"""The translate stage over CTranslate2: streaming, token batching, cache and resume.

For each target language a new version ``{corpus}.{tgt}`` is written (stage ``translate``, parent
the source version). Each example keeps its source ``id`` and ``split``; ``meta`` holds
``src_text``, ``src_lang``, ``mt_score`` (sentence log-probability), ``mt_avg_logprob`` (per
target token) and, with ``token_logprobs=True``, ``mt_token_logprobs``.

How it runs:

* The source version is streamed in chunks (``read_chunk`` examples), so memory stays bounded.
* Texts already in the translation cache (table ``translate_cache``, keyed by model signature,
  decoding parameters, languages and source text) are not translated again; the rest are
  tokenised, cut into the batches CTranslate2 would make (longest first, ``max_batch_tokens``
  source tokens each) and submitted asynchronously; the last chunk batch by batch, most
  expensive first, ending in small batches so parallel workers finish together
  (:mod:`workbench.translate.batching`).
  The next chunk is tokenised and queued while the current one computes.
* Results go to the cache in short write transactions every ``flush_every`` sentences, so a
  killed run restarts where it stopped; the version itself is written in one transaction at the
  end (so a killed run leaves no partial version).
* Inputs longer than the model's limit are split at sentence boundaries (then clauses, words)
  and the parts' translations rejoined; ``meta["mt_split"]`` records the source and target
  character ranges of every part. With ``split_long=False`` they are an :class:`InputError`.
  Nothing is ever truncated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from workbench.core.errors import ConfigError
from workbench.core.records import TEXT_FROM_TOKENS, Example
from workbench.core.signature import Signature
from workbench.mt.device import WorkerResources, parallel_workers, resolve_device
from workbench.mt.languages import short_code
from workbench.mt.models import Model, load_model
from workbench.store.store import Store, Version
from workbench.translate.cache import TranslationCache
from workbench.translate.engine import Engine, load_translator
from workbench.translate.langcheck import output_check
from workbench.translate.options import Progress, TranslateOptions
from workbench.translate.sharded import translate_sharded

if TYPE_CHECKING:
    from workbench.executors.options import ExecutorOptions

__all__ = ["translate"]


def translate(
    ref: str | Version,
    *,
    model: str | Model,
    src_lang: str,
    tgt_langs: Sequence[str] | str,
    store: Store | None = None,
    options: TranslateOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    executor: ExecutorOptions | None = None,
) -> list[Version]:
    """Translate a stored version into each target language; one new version per language.

    ``model`` is a CTranslate2 directory, a converted Hugging Face id or a loaded
    :class:`~workbench.mt.models.Model`. A version made with the same signature under the same
    name is returned as is; otherwise translations come from the cache where present.
    ``executor`` (:class:`~workbench.executors.run.ExecutorOptions`) with ``executor="ray"``
    translates shards on Ray workers (the model directory must be readable at the same path
    by every worker); the version is the same as this process would make. ``None`` or
    ``"local"``: this process.
    """
    store = store or Store()
    options = options or TranslateOptions()
    tgts = [t.strip() for t in ([tgt_langs] if isinstance(tgt_langs, str) else tgt_langs) if t.strip()]
    if not tgts:
        raise ConfigError("no target language", fix="pass --tgt-lang de (or de,es,...)")
    if options.token_logprobs and not options.scores:
        raise ConfigError("per-token log-probs (--token-logprobs) are scores, and --no-scores turns scores off",
                          fix="drop one of --token-logprobs and --no-scores")
    source = store.resolve(ref)
    m = model if isinstance(model, Model) else load_model(model, family=options.family, pair=options.pair)
    if m.max_positions and options.max_decoding_length > m.max_positions:
        raise ConfigError(f"--max-decoding-length {options.max_decoding_length} is more than the "
                          f"{m.max_positions} positions of the model {m.name}",
                          fix=f"pass --max-decoding-length {m.max_positions} or less (long inputs are split "
                              "at sentence boundaries)")
    for t in tgts:  # check every code before any work
        m.family.token(t, "target")
    m.family.token(src_lang, "source")
    sharded = executor is not None and executor.validate().executor != "local"
    workers = (WorkerResources(executor.gpus_per_worker, executor.cpus_per_worker)
               if sharded and executor is not None else None)
    device, ct, inter, intra = resolve_device(options, workers=workers)
    model_key = f"{m.signature}|{m.family.name}|{ct}"
    translator = None
    out = []
    src_tag = short_code(src_lang) or src_lang
    for tgt in tgts:
        # named, signed and stored by the normalised tag, whichever code was typed (de, deu, deu_Latn)
        tag = short_code(tgt) or tgt
        sig = (Signature("translate").add("parent", source.ref).add("model", m.signature)
               .add("family", m.family.name).add("compute", ct).add("src", src_tag).add("tgt", tag)
               .add("split", options.split_long))
        for key, value in options.decoding().items():
            sig.add(key, value)
        name = (options.name or f"{source.corpus}.{{tgt}}").replace("{tgt}", tag)
        if len(tgts) > 1 and options.name and "{tgt}" not in options.name:
            name = f"{options.name}.{tag}"
        existing = store.find(sig.key())
        if existing is not None and existing.corpus == name:
            if progress:
                progress(Progress(tgt, existing.n_examples, existing.n_examples,
                                  cached=existing.n_examples, finished=True, version=existing.ref))
            out.append(existing)
            continue
        params = {**{k: v for k, v in asdict(options).items() if k not in ("name", "family")},
                  "model": m.name, "model_path": str(m.path), "family": m.family.name,
                  "device": device, "compute_type": ct, "inter_threads": inter,
                  "intra_threads": intra, "src_lang": src_lang, "tgt_lang": tgt}
        if sharded:
            out.append(translate_sharded(
                store=store, source=source, model=m, model_ref=str(m.path), src_lang=src_lang,
                tgt_lang=tgt, options=options, model_key=model_key, device=device, signature=sig,
                name=name, params=params, executor=executor, progress=progress))
            continue
        if translator is None:
            translator = load_translator(m, device, ct, options.device_index, inter, intra)
        engine = Engine(model=m, translator=translator, options=options, src_lang=src_lang,
                        tgt_lang=tgt, model_key=model_key, device=device,
                        workers=parallel_workers(device, inter, options.device_index),
                        cache=TranslationCache(store, model_key, options.decoding_key(), src_lang, tgt),
                        progress=progress, total=source.n_examples)
        chunks = engine.run(_source_chunks(store, source, options), source.n_examples)
        check = output_check(m, src_lang, tgt, options.check_language)
        if check is not None:  # a single-pair model: refused before its version is written
            chunks = check.watch(chunks, on_refuse=engine.flush)
        v = store.write_version(chunks, corpus=name, stage="translate", signature=sig,
                                parents=[source], params=params, lang=tag,
                                batch_size=options.read_chunk, on_commit=engine.commit, reuse=True)
        if progress:
            final = Progress(**asdict(engine.stats))
            final.elapsed, final.finished, final.version = time.monotonic() - engine.t0, True, v.ref
            progress(final)
        out.append(v)
    return out


#: what the engine reads of a source example: its text, split and meta (:meth:`Engine.input_text`
#: needs the offsets too, only for a text made of its tokens)
_SOURCE_FIELDS = ("split", "text", "meta")


def _source_chunks(store: Store, source: Version, options: TranslateOptions) -> Iterator[list[Example]]:
    """The source examples in chunks of ``read_chunk``, without the spans and outcomes the
    stage does not use (converting them cost more than the rest of the read). Once a chunk holds
    a text made of its tokens (a CoNLL file without ``# text``), it and the chunks after it are
    read with their offsets, which the detokeniser needs (such a corpus is made of them)."""
    fields: tuple[str, ...] = _SOURCE_FIELDS
    lo = 0
    while lo < source.n_examples:
        chunk = store.batch(source, lo, lo + options.read_chunk, fields=fields)
        if (options.detokenize and "offsets" not in fields
                and any(ex.meta.get(TEXT_FROM_TOKENS) for ex in chunk)):
            fields = (*_SOURCE_FIELDS, "offsets")
            chunk = store.batch(source, lo, lo + len(chunk), fields=fields)
        if not chunk:
            break
        lo += len(chunk)
        yield chunk
