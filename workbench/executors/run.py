"""Sharded execution of a stage, in this process or on a Ray cluster.

The unit of work is a :class:`Shard`: ``shard_size`` consecutive input examples with a
deterministic id (its position plus a hash of the stage key and of the examples), so the same
inputs always make the same shards. A :class:`ShardWorker` (built once per worker process: one
model load per actor) maps the examples of a shard to output examples; the executor writes them
as Parquet (:data:`workbench.store.store.EXAMPLE_SCHEMA`) to a *staging* location -- a local directory
or any URL ``pyarrow.fs`` understands (``s3://bucket/prefix``, ``gs://...``) -- and then a small
``.done`` marker. Workers never touch DuckDB: the driver alone commits the staged shards, in
shard order, into the store in one transaction (:func:`run_stage`).

* Resume: shards whose marker exists (and whose Parquet size matches it) are skipped, so a
  cancelled or crashed run redoes only the missing shards.
* Failures (Ray): a worker process that dies is restarted (``max_restarts``) and its shard is
  retried (``max_task_retries``); files are written under a temporary name and moved into place
  (local) or written by one atomic PUT (object storage), so a retried shard never leaves
  duplicates. A shard that keeps failing raises :class:`ShardError` naming it and its examples.
* Nothing imports ``ray`` unless ``executor="ray"`` (``pip install 'workbench[ray]'``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core.arrow import examples_from_arrow, examples_to_arrow
from workbench.core.errors import ConfigError
from workbench.core.records import Example
from workbench.executors.options import ExecutorOptions, WorkerContext
from workbench.executors.shards import (
    Shard,
    ShardError,
    ShardResult,
    ShardWorker,
    _encode,
    _Payload,
    _plan,
    _ShardRunner,
    shard_failed,
)
from workbench.executors.staging import Staging

if TYPE_CHECKING:
    from workbench.core.signature import Signature
    from workbench.store.store import Store, Version

__all__ = ["ShardedRun", "run_sharded", "run_stage"]


# -- driver ------------------------------------------------------------------------------------
@dataclass
class ShardedRun:
    """Result of :func:`run_sharded`: every shard staged; commit with :meth:`batches`."""

    staging: Staging
    shards: list[Shard] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    worker_pids: set[int] = field(default_factory=set)
    seconds: float = 0.0
    looked_up: int = 0  # outputs found by ``lookup`` instead of computed
    #: per executed shard: (worker seconds, seconds since the start when the driver saw it done)
    timeline: list[tuple[float, float]] = field(default_factory=list)

    @property
    def n_examples(self) -> int:
        return sum(self.rows[s.id] for s in self.shards)

    def batches(self) -> Iterator[list[Example]]:
        """Output examples shard by shard, in shard (= input) order, read from staging."""
        for s in self.shards:
            try:
                tbl = self.staging.read(s.id)
            except (OSError, FileNotFoundError) as exc:
                raise ShardError(f"staged shard {s.id} is gone ({exc})", shard_id=s.id,
                                 example_ids=s.example_ids, where=self.staging.url(),
                                 fix="rerun the stage: missing shards are recomputed") from None
            if tbl.num_rows != self.rows[s.id]:
                raise ShardError(f"staged shard {s.id} has {tbl.num_rows} rows, its marker says "
                                 f"{self.rows[s.id]}", shard_id=s.id, example_ids=s.example_ids,
                                 where=self.staging.url(), fix="delete the shard files and rerun")
            for rb in tbl.to_batches(max_chunksize=2000):
                yield examples_from_arrow(rb)

    def cleanup(self) -> None:
        """Delete this run's shard files."""
        self.staging.remove()


def run_sharded(
    source: Iterable[Any],
    worker_factory: Callable[[], ShardWorker],
    *,
    key: str,
    options: ExecutorOptions | None = None,
    check_ids: bool = True,
    on_shard: Callable[[Shard, int], None] | None = None,
    lookup: Callable[[list[Any]], Sequence[Example | None]] | None = None,
    **overrides: Any,
) -> ShardedRun:
    """Run ``worker_factory()`` workers over the shards of ``source``; stage every shard.

    Args:
        source: examples, tuples of examples, lists of them, or Arrow tables (EXAMPLE_SCHEMA).
        worker_factory: picklable zero-argument callable returning a :class:`ShardWorker`.
        key: the stage's signature key: shards of different stages or parameters never mix.
        options: :class:`ExecutorOptions`; keyword ``overrides`` (``executor="ray"``,
            ``workers=2``, ``staging="s3://..."``, ...) replace its fields.
        check_ids: require output ids == input ids per shard (no example lost or duplicated).
        on_shard: ``on_shard(shard, rows)`` after each shard is staged or found staged.
        lookup: ``lookup(items)`` -> the known output (e.g. from a translation cache) or
            ``None`` per input, called on the driver before a shard is dispatched; only the
            unknown inputs go to a worker, and a shard known entirely is staged on the driver.

    Returns a :class:`ShardedRun`; nothing is written to the store (see :func:`run_stage`).
    Raises :class:`ShardError` when a shard fails ``max_retries + 1`` times.
    """
    opts = ExecutorOptions(**{**asdict(options or ExecutorOptions()), **overrides}).validate()
    staging = Staging(opts.staging or ".wb-shards", key)
    run = ShardedRun(staging)
    done = staging.completed()
    t0 = time.perf_counter()

    def todo() -> Iterator[tuple[Shard, _Payload]]:
        for shard, items in _plan(source, key, opts.shard_size):
            run.shards.append(shard)
            if shard.id in done:
                run.rows[shard.id] = done[shard.id]
                run.skipped.append(shard.id)
                if on_shard:
                    on_shard(shard, done[shard.id])
                continue
            found = list(lookup(items)) if lookup else [None] * len(items)
            if len(found) != len(items):
                raise ConfigError(f"lookup returned {len(found)} results for {len(items)} inputs",
                                  where="run_sharded lookup", fix="return one result (or None) "
                                  "per input, in order")
            at = [i for i, ex in enumerate(found) if ex is not None]
            run.looked_up += len(at)
            if len(at) == len(items):  # everything known: stage it here, dispatch nothing
                t = time.perf_counter()
                rows = staging.write(shard.id, examples_to_arrow(found))  # type: ignore[arg-type]
                finished(shard, ShardResult(shard.id, rows, os.getpid(), time.perf_counter() - t))
                continue
            todo_items = [it for it, ex in zip(items, found, strict=True) if ex is None]
            known = examples_to_arrow([found[i] for i in at]) if at else None  # type: ignore[misc]
            yield shard, _Payload(_encode(todo_items), known, at)

    def finished(shard: Shard, res: ShardResult) -> None:
        run.rows[shard.id] = res.rows
        run.executed.append(shard.id)
        run.worker_pids.add(res.pid)
        run.timeline.append((res.seconds, time.perf_counter() - t0))
        if on_shard:
            on_shard(shard, res.rows)

    if opts.executor == "local":
        _run_local(todo(), worker_factory, staging, opts, check_ids, finished)
    else:
        from workbench.executors.ray import run_ray

        run_ray(todo(), worker_factory, staging, opts, check_ids, finished)
    run.seconds = time.perf_counter() - t0
    return run


def _run_local(todo: Iterator[tuple[Shard, _Payload]], factory: Callable[[], ShardWorker],
               staging: Staging, opts: ExecutorOptions, check_ids: bool,
               finished: Callable[[Shard, ShardResult], None]) -> None:
    runner: _ShardRunner | None = None
    for shard, payload in todo:
        if runner is None:  # build the worker (load the model) only when there is work
            ctx = WorkerContext("local", opts.cpus_per_worker * opts.workers, opts.gpus_per_worker)
            runner = _ShardRunner(factory, staging, ctx, check_ids)
        last: BaseException | None = None
        for _ in range(opts.max_retries + 1):
            try:
                res = runner.run(shard, payload)
                break
            except ShardError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then reported with the shard
                last = exc
        else:
            raise shard_failed(shard, opts.max_retries + 1, last, staging)
        finished(shard, res)


def run_stage(
    store: Store,
    source: Iterable[Any],
    worker_factory: Callable[[], ShardWorker],
    *,
    corpus: str,
    stage: str,
    signature: Signature,
    parents: Sequence[Version | int] = (),
    params: dict[str, Any] | None = None,
    lang: str | None = None,
    options: ExecutorOptions | None = None,
    reuse: bool = True,
    on_shard: Callable[[Shard, int], None] | None = None,
    on_commit: Callable[[Any, int], None] | None = None,
    lookup: Callable[[list[Any]], Sequence[Example | None]] | None = None,
) -> Version:
    """Run a stage sharded and commit it as one new version (the driver is the only writer).

    With ``reuse`` a version already made with the same signature is returned as is. Staging
    defaults to ``.wb-shards`` beside the store; it is deleted after the commit unless
    ``options.keep_staging``. ``lookup`` and ``on_shard`` are passed to :func:`run_sharded`;
    ``on_commit(con, version_id)`` runs inside the version's transaction (e.g. to fill a cache
    from the new version's rows).
    """
    if reuse and (found := store.find(signature.key())) is not None:
        return found
    opts = (options or ExecutorOptions()).staged_beside(store.path)
    run = run_sharded(source, worker_factory, key=signature.key(), options=opts, on_shard=on_shard,
                      lookup=lookup)
    version = store.write_version(
        run.batches(), corpus=corpus, stage=stage, signature=signature, parents=parents,
        params=params, lang=lang, on_commit=on_commit,
    )
    if not opts.keep_staging:
        run.cleanup()
    return version
