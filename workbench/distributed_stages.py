"""Shard workers for the translate and project stages (for ``--executor ray``).

They run the stages' own code inside a worker, without the store: :class:`TranslateWorker` builds
the translator exactly as :func:`workbench.translate.translate` does and returns the same
examples (the driver consults and fills the translation cache around the run);
:class:`ProjectWorker` runs a registered projector on ``(source, translation)`` pairs and returns
the same examples as :func:`workbench.project.project`. Imports of those stages are lazy.

Note for statistical aligners (``align.eflomal.*``): they estimate their model from the pairs of
one call, so a shard is their batch. Use ``shard_size`` equal to the local ``batch_size``
(50,000 by default) to get the same version as the local run; smaller shards scale out more but
give each aligner less text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from workbench.distributed import worker_context
from workbench.records import Example

__all__ = ["ProjectWorker", "TranslateWorker", "project_sharded", "stage_executors",
           "translate_sharded"]


@dataclass
class TranslateWorker:
    """Translate shards with the translate stage's code (one model load per worker).

    Attributes:
        model: CTranslate2 directory or converted model id, as :func:`translate` accepts.
        src_lang / tgt_lang: language codes.
        options: :class:`workbench.translate.TranslateOptions`; device and threads left on
            ``auto``/0 follow the resources the executor gave this worker.
    """

    model: str
    src_lang: str
    tgt_lang: str
    options: Any = None

    def __post_init__(self) -> None:
        from workbench import translate as T
        from workbench.models import load_model

        ctx = worker_context()
        o = self.options or T.TranslateOptions()
        if o.device == "auto":
            o = replace(o, device=ctx.device, device_index=[0])  # Ray sets CUDA_VISIBLE_DEVICES
        if o.device != "cuda" and not o.inter_threads and not o.intra_threads:
            o = replace(o, inter_threads=ctx.threads, intra_threads=1)
        m = load_model(self.model)
        device, ct, inter, intra = T.resolve_device(o)
        translator = T._load_translator(m, device, ct, o.device_index, inter, intra)

        class _NoCacheRun(T._Run):  # the driver owns the cache (DuckDB): workers never touch it
            def _lookup(self, keys: list[str]) -> dict[str, dict[str, Any]]:
                return {}

            def _flush(self, con: Any = None) -> None:
                for r in self.pending_rows:
                    self.inflight.pop(r["key"], None)
                self.pending_rows = []
                if hasattr(self, "pending_index"):
                    self.pending_index = {}

        self.model_key = f"{m.signature}|{m.family.name}|{ct}"  # as translate() keys its cache
        self._run = _NoCacheRun(
            store=None, source=_Sized(0), model=m, translator=translator, options=o,
            src_lang=self.src_lang, tgt_lang=self.tgt_lang, model_key=self.model_key,
            progress=None, device=device,
            workers=T.parallel_workers(device, inter, o.device_index))

    def __call__(self, batch: list[Example]) -> list[Example]:
        chunk = self._run._prepare(batch)
        out = self._run._finish(chunk)
        self._run._flush()
        return out


@dataclass(frozen=True)
class _Sized:
    n_examples: int


@dataclass
class ProjectWorker:
    """Project shards of ``(source example, translated example)`` pairs with a registered
    projector (built once per worker), as the project stage does.

    Attributes:
        projector: registered name (default: the project stage's default).
        options: projector options.
        extra: unlabelled parallel text for statistical aligners.
    """

    projector: str | None = None
    options: dict[str, Any] | None = None
    extra: list[tuple[list[str], list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from workbench.project import make_projector

        self._proj = make_projector(self.projector, self.options, self.extra)

    def __call__(self, batch: list[tuple[Example, Example]]) -> list[Example]:
        from workbench.project import ProjectReport, _apply, _pairs_and_projections

        srcs = [s for s, _ in batch]
        tgts = [t for _, t in batch]
        projs = _pairs_and_projections(self._proj, srcs, tgts)
        report = ProjectReport()  # the driver counts outcomes from the stored version
        return [_apply(t, s, p, self._proj.name, report)
                for t, s, p in zip(tgts, srcs, projs, strict=True)]


# -- the driver side: translate() and project() with an executor --------------------------------
def remote_device(options: Any, executor: Any) -> tuple[str, str, int, int]:
    """(device, compute_type, inter_threads, intra_threads) the workers will use, decided on the
    driver without looking for a GPU here (the driver of a GPU cluster often has none); the
    same choices :class:`TranslateWorker` makes from its :class:`WorkerContext`."""
    from workbench.errors import ConfigError

    device = options.device
    if device == "auto":
        device = "cuda" if executor.gpus_per_worker > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}", fix="use auto, cpu or cuda")
    if device == "cuda" and executor.gpus_per_worker <= 0:
        raise ConfigError("device cuda with --executor ray needs GPUs for the workers",
                          where="executor options", fix="pass --gpus-per-worker 1 (or --device auto)")
    ct = options.compute_type
    if ct == "auto":
        ct = "int8" if device == "cpu" else "int8_float16"
    inter, intra = options.inter_threads, options.intra_threads
    if device != "cuda" and not inter and not intra:
        inter, intra = max(1, int(executor.cpus_per_worker)), 1
    return device, ct, inter or 1, intra or 1


def _staging_options(store: Any, executor: Any) -> Any:
    from workbench.distributed import ExecutorOptions

    if executor.staging is None:
        return ExecutorOptions(**{**asdict(executor), "staging": str(store.path.parent / ".wb-shards")})
    return executor


def translate_sharded(*, store: Any, source: Any, model: Any, model_ref: str, src_lang: str,
                      tgt_lang: str, options: Any, model_key: str, device: str, signature: Any,
                      name: str, params: dict[str, Any], executor: Any,
                      progress: Any = None) -> Any:
    """One target language of :func:`workbench.translate.translate` on shards (``executor``).

    The translation cache is consulted on the driver before a shard is dispatched (cached
    sentences never reach a worker; a shard cached entirely is staged here and loads no model)
    and filled from the staged shards as they finish, in short write transactions, the last
    rows inside the version's transaction. So a crashed run resumes with the shards that are
    neither staged nor cached, and a repeated run is served from the cache. The version's
    content equals the local executor's.
    """
    import functools
    import time

    from workbench import mtcache
    from workbench import translate as T
    from workbench.distributed import Staging, run_stage
    from workbench.languages import short_code
    from workbench.store import examples_from_arrow

    opts = _staging_options(store, executor)
    staging = Staging(opts.staging, signature.key())
    helper = T._Run(store=store, source=source, model=model, translator=None, options=options,
                    src_lang=src_lang, tgt_lang=tgt_lang, model_key=model_key, progress=progress,
                    device=device)
    src_code = short_code(src_lang) or src_lang
    tgt_code = short_code(tgt_lang) or tgt_lang
    cache_args = dict(model=model_key, params=helper.params_key, src_lang=src_lang,
                      tgt_lang=tgt_lang)
    stats = helper.stats
    from_cache: set[str] = set()  # keys served by the cache: not written back
    pending: dict[str, dict[str, Any]] = {}
    last_flush = [time.monotonic()]

    def key(text: str) -> str:
        return mtcache.key(model_key, helper.params_key, src_code, tgt_code, text)

    def lookup(items: list[Example]) -> list[Example | None]:
        keys = [key(ex.text) for ex in items]
        rows = mtcache.lookup(store, keys)
        out = [helper._example(ex, rows[k]) if k in rows else None
               for ex, k in zip(items, keys, strict=True)]
        from_cache.update(rows)
        n_known = sum(x is not None for x in out)
        stats.cached += n_known
        stats.translated += len(items) - n_known  # sentences dispatched to workers
        return out

    def flush(con: Any = None) -> None:
        if pending:
            rows = list(pending.values())
            if con is None:
                mtcache.write(store, rows, **cache_args)
            else:
                mtcache.insert(con, rows, **cache_args)
            pending.clear()
        last_flush[0] = time.monotonic()

    def on_shard(shard: Any, n_rows: int) -> None:
        for ex in examples_from_arrow(staging.read(shard.id)):
            k = key(ex.meta["src_text"])
            if k not in from_cache and k not in pending:
                pending[k] = _cache_row(k, ex)
        if (len(pending) >= options.flush_every
                or time.monotonic() - last_flush[0] >= options.flush_seconds):
            flush()
        stats.done += n_rows
        helper._report(force=True)

    factory = functools.partial(TranslateWorker, model_ref, src_lang, tgt_lang, options)
    v = run_stage(store, store.examples(source), factory, corpus=name, stage="translate",
                     signature=signature, parents=[source],
                     params={**params, "executor": opts.as_params()}, lang=tgt_lang,
                     options=opts, reuse=False, on_shard=on_shard,
                     on_commit=lambda con, _vid: flush(con), lookup=lookup)
    if progress:
        final = T.Progress(**asdict(stats))
        final.elapsed, final.finished, final.version = time.monotonic() - helper.t0, True, v.ref
        final.done = v.n_examples
        progress(final)
    return v


def _cache_row(key: str, ex: Example) -> dict[str, Any]:
    """A translation cache row from a translated example (the inverse of ``_Run._example``)."""
    import json

    m = ex.meta
    score, avg = m["mt_score"], m["mt_avg_logprob"]
    split = m.get("mt_split")
    return {"key": key, "src_text": m["src_text"], "text": ex.text, "score": score,
            "avg_logprob": avg,
            # not in the example: recovered from score / mean (both rounded to 1e-6)
            "n_tokens": round(score / avg) if avg else None,
            "token_logprobs": m.get("mt_token_logprobs"),
            "split": json.dumps(split) if split is not None else None}


def project_sharded(*, store: Any, version: Any, source: Any, projector: str | None,
                    options: dict[str, Any] | None, extra: Any, signature: Any,
                    params: dict[str, Any], executor: Any, report: Any) -> Any:
    """:func:`workbench.project.project` on shards of ``(source, translation)`` pairs; the
    report is counted from the stored version's outcomes."""
    import functools

    from workbench.distributed import run_stage
    from workbench.errors import InputError

    src_by_id = {ex.id: ex for ex in store.examples(source)}

    def pairs() -> Any:
        for t in store.examples(version):
            s = src_by_id.get(t.id)
            if s is None:
                raise InputError(f"no source example with id {t.id!r} in {source.ref}",
                                 where=version.ref,
                                 fix="project a translation of the source version (same example ids)")
            yield (s, t)

    opts = _staging_options(store, executor)
    factory = functools.partial(ProjectWorker, projector, options,
                                [(list(a), list(b)) for a, b in extra])
    out = run_stage(store, pairs(), factory, corpus=version.corpus, stage="project",
                    signature=signature, parents=[version, source],
                    params={**params, "executor": opts.as_params()}, lang=version.lang,
                    options=opts, reuse=False)
    for ex in store.examples(out):
        report.examples += 1
        for o in ex.outcomes:
            report.add(o.outcome, o.reason or "")
    return out


def stage_executors(common: dict[str, Any], stages: dict[str, dict[str, Any]], out_dir: Any,
                    where: str) -> dict[str, Any]:
    """ExecutorOptions per stage: ``[executor]`` updated by ``[STAGE.executor]`` (popped from
    the stage's table); a relative local ``staging`` directory is relative to ``out_dir``."""
    from pathlib import Path

    from workbench.distributed import ExecutorOptions
    from workbench.errors import ConfigError

    found: dict[str, Any] = {}
    for stage in ("translate", "project"):
        own = stages[stage].pop("executor", None) or {}
        if not isinstance(own, dict):
            raise ConfigError(f"[{stage}] executor must be a table", where=where,
                              fix=f'write [{stage}.executor] with executor = "ray", workers = 2, ...')
        merged = {**common, **own}
        if not merged:
            continue
        opts = ExecutorOptions.from_mapping(merged, where=f"{where} [{stage}.executor]")
        if opts.staging and "://" not in opts.staging and not Path(opts.staging).is_absolute():
            opts.staging = str(Path(out_dir) / opts.staging)
        found[stage] = opts
    return found
