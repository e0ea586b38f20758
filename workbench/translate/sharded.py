"""The translate stage on shards (``--executor ray``): the driver's side and the shard worker.

:class:`TranslateWorker` runs the same :class:`~workbench.translate.engine.Engine` as the local
stage, with no cache (the driver owns the store): it returns the same examples. The driver
(:func:`translate_sharded`) consults the translation cache before a shard is dispatched and fills
it from the shards as they finish.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from workbench.core.arrow import examples_from_arrow
from workbench.core.errors import LanguageError
from workbench.core.records import Example
from workbench.executors.options import worker_context
from workbench.executors.run import run_stage
from workbench.executors.staging import Staging
from workbench.mt.device import parallel_workers, resolve_device
from workbench.mt.models import Model, load_model
from workbench.translate.cache import TranslationCache, retry_at
from workbench.translate.engine import Engine, load_translator
from workbench.translate.langcheck import output_check
from workbench.translate.options import Progress, TranslateOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from workbench.core.signature import Signature
    from workbench.executors.options import ExecutorOptions
    from workbench.executors.shards import Shard
    from workbench.store.store import Store, Version

__all__ = ["TranslateWorker", "translate_sharded"]


@dataclass
class TranslateWorker:
    """Translate shards with the translate stage's engine (one model load per worker).

    Attributes:
        model: CTranslate2 directory or converted model id, as :func:`translate` accepts.
        src_lang / tgt_lang: language codes.
        options: :class:`~workbench.translate.options.TranslateOptions`; device and threads left
            on ``auto``/0 follow the resources the executor gave this worker.
    """

    model: str
    src_lang: str
    tgt_lang: str
    options: TranslateOptions | None = None

    def __post_init__(self) -> None:
        ctx = worker_context()
        o = self.options or TranslateOptions()
        if o.device == "auto":
            o = replace(o, device=ctx.device, device_index=[0])  # Ray sets CUDA_VISIBLE_DEVICES
        if o.device != "cuda" and not o.inter_threads and not o.intra_threads:
            o = replace(o, inter_threads=ctx.threads, intra_threads=1)
        m = load_model(self.model, family=o.family, pair=o.pair)
        device, ct, inter, intra = resolve_device(o)
        translator = load_translator(m, device, ct, o.device_index, inter, intra)
        self.model_key = f"{m.signature}|{m.family.name}|{ct}"  # as translate() keys its cache
        # no cache: the driver looks sentences up before dispatch and writes what comes back
        self._engine = Engine(model=m, translator=translator, options=o, src_lang=self.src_lang,
                              tgt_lang=self.tgt_lang, model_key=self.model_key, device=device,
                              workers=parallel_workers(device, inter, o.device_index))

    def __call__(self, batch: list[Example]) -> list[Example]:
        return self._engine.translate(batch)


def translate_sharded(*, store: Store, source: Version, model: Model, model_ref: str, src_lang: str,
                      tgt_lang: str, options: TranslateOptions, model_key: str, device: str,
                      signature: Signature, name: str, params: dict[str, Any],
                      executor: ExecutorOptions,
                      progress: Callable[[Progress], None] | None = None) -> Version:
    """One target language of :func:`workbench.translate.stage.translate` on shards (``executor``).

    The translation cache is consulted on the driver before a shard is dispatched (cached
    sentences never reach a worker; a shard cached entirely is staged here and loads no model)
    and filled from the staged shards as they finish, in short write transactions, the last
    rows inside the version's transaction. So a crashed run resumes with the shards that are
    neither staged nor cached, and a repeated run is served from the cache. The version's
    content equals the local executor's.
    """
    opts = executor.staged_beside(store.path)
    staging = Staging(opts.staging, signature.key())
    cache = TranslationCache(store, model_key, options.decoding_key(), src_lang, tgt_lang)
    # the engine without a translator: cache keys, examples from cache rows, progress reports
    helper = Engine(model=model, translator=None, options=options, src_lang=src_lang,
                    tgt_lang=tgt_lang, model_key=model_key, device=device, cache=cache,
                    progress=progress, total=source.n_examples)
    stats = helper.stats
    from_cache: set[str] = set()  # keys served by the cache: not written back
    pending: dict[str, dict[str, Any]] = {}
    last_flush = [time.monotonic()]

    def lookup(items: list[Example]) -> list[Example | None]:
        given = [helper.input_text(ex) for ex in items]
        keys = [helper.key(t) for t in given]
        rows = cache.lookup(keys)
        out = [helper.example(ex, rows[k], g) if k in rows else None
               for ex, k, g in zip(items, keys, given, strict=True)]
        from_cache.update(rows)
        n_known = sum(x is not None for x in out)
        stats.cached += n_known
        stats.translated += len(items) - n_known  # sentences dispatched to workers
        return out

    def flush(con: Any = None) -> None:
        if pending:
            rows = list(pending.values())
            if con is not None:
                cache.insert(con, rows)
            elif not cache.write(rows):  # the lock is held: keep them, retry soon
                last_flush[0] = retry_at(options.flush_seconds)
                return
            pending.clear()
        last_flush[0] = time.monotonic()

    check = output_check(model, src_lang, tgt_lang, options.check_language)

    def on_shard(shard: Shard, n_rows: int) -> None:
        staged = list(examples_from_arrow(staging.read(shard.id)))
        for ex in staged:
            k = helper.key(ex.meta.get("mt_input", ex.meta["src_text"]))
            if k not in from_cache and k not in pending:
                pending[k] = _cache_row(k, ex)
        if (len(pending) >= options.flush_every
                or time.monotonic() - last_flush[0] >= options.flush_seconds):
            flush()
        stats.done += n_rows
        if check is not None:  # a single-pair model: refused before the version is written
            try:
                check.see(staged)
                if not check.decided and stats.done >= source.n_examples:
                    check.decide()
            except LanguageError:
                flush()  # the cache keeps what was translated, as the local run's does
                raise
        helper.report(force=True)

    factory = functools.partial(TranslateWorker, model_ref, src_lang, tgt_lang, options)
    v = run_stage(store, store.examples(source), factory, corpus=name, stage="translate",
                  signature=signature, parents=[source],
                  params={**params, "executor": opts.as_params()}, lang=helper.lang,
                  options=opts, reuse=False, on_shard=on_shard,
                  on_commit=lambda con, _vid: flush(con), lookup=lookup)
    if progress:
        final = Progress(**asdict(stats))
        final.elapsed, final.finished, final.version = time.monotonic() - helper.t0, True, v.ref
        final.done = v.n_examples
        progress(final)
    return v


def _cache_row(key: str, ex: Example) -> dict[str, Any]:
    """A translation cache row from a translated example (the inverse of ``Engine.example``)."""
    m = ex.meta
    score, avg = m.get("mt_score"), m.get("mt_avg_logprob")  # absent with scores off
    split = dict(m["mt_split"]) if m.get("mt_split") else None
    if m.get("mt_truncated"):
        split = {**(split or {}), "truncated": True}
    return {"key": key, "src_text": m.get("mt_input", m["src_text"]), "text": ex.text, "score": score,
            "avg_logprob": avg,
            # not in the example: recovered from score / mean (both rounded to 1e-6)
            "n_tokens": round(score / avg) if avg else None,
            "token_logprobs": m.get("mt_token_logprobs"),
            "split": json.dumps(split) if split else None}
