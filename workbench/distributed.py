"""Sharded execution of a stage, in this process or on a Ray cluster.

The unit of work is a :class:`Shard`: ``shard_size`` consecutive input examples with a
deterministic id (its position plus a hash of the stage key and of the examples), so the same
inputs always make the same shards. A :class:`ShardWorker` (built once per worker process: one
model load per actor) maps the examples of a shard to output examples; the executor writes them
as Parquet (:data:`workbench.store.EXAMPLE_SCHEMA`) to a *staging* location -- a local directory
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

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol, Union

import pyarrow as pa

from workbench.errors import ConfigError, WorkbenchError
from workbench.records import Example
from workbench.staging import Staging
from workbench.store import EXAMPLE_SCHEMA, examples_from_arrow, examples_to_arrow

if TYPE_CHECKING:
    from workbench.signature import Signature
    from workbench.store import Store, Version

__all__ = [
    "EXECUTORS",
    "ExecutorOptions",
    "Shard",
    "ShardError",
    "ShardWorker",
    "ShardedRun",
    "WorkerContext",
    "run_sharded",
    "run_stage",
    "worker_context",
]

EXECUTORS = ("local", "ray")
Item = Union[Example, tuple[Example, ...]]


class ShardError(WorkbenchError):
    """A shard failed on every attempt; names the shard and the examples in it."""

    def __init__(self, message: str, *, shard_id: str, example_ids: Sequence[str],
                 attempts: int = 1, where: str | None = None, fix: str | None = None):
        self.shard_id = shard_id
        self.example_ids = list(example_ids)
        self.attempts = attempts
        super().__init__(message, where=where, fix=fix)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes (Ray workers)
        return (_rebuild_shard_error, (self.message, self.shard_id, self.example_ids,
                                       self.attempts, self.where, self.fix))


def _rebuild_shard_error(message: str, shard_id: str, example_ids: list[str], attempts: int,
                         where: str | None, fix: str | None) -> ShardError:
    return ShardError(message, shard_id=shard_id, example_ids=example_ids, attempts=attempts,
                      where=where, fix=fix)


@dataclass
class ExecutorOptions:
    """Where and how a stage runs. Executor options never change the content of a version.

    Attributes:
        executor: ``"local"`` (default: this process) or ``"ray"``.
        ray_address: Ray cluster to join (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.1:6379"``);
            ``None`` starts a local Ray on this machine (or reuses one already initialised).
        workers: number of workers (Ray actors, each loads the model once). Locally, the one
            in-process worker gets ``workers * cpus_per_worker`` threads.
        gpus_per_worker: GPUs per worker (fractions allowed); on a GPU cluster use 1 for one
            worker per GPU.
        cpus_per_worker: CPU cores per worker (also its number of compute threads).
        staging: directory or URL (``s3://bucket/prefix``) for the shard files; every worker must
            reach it, so on a multi-machine cluster use object storage or a shared file system.
            ``None``: ``.wb-shards`` beside the store file.
        shard_size: examples per shard (the unit of retry and resume).
        max_retries: retries of a shard whose worker died or raised, before the stage fails.
        keep_staging: keep the shard files after they were committed (default: delete them).
        runtime_env: Ray runtime environment for the workers (e.g. ``{"pip": ["workbench"]}``).
    """

    executor: str = "local"
    ray_address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    staging: str | None = None
    shard_size: int = 256
    max_retries: int = 3
    keep_staging: bool = False
    runtime_env: dict[str, Any] | None = None

    def validate(self) -> ExecutorOptions:
        """Raise :class:`ConfigError` for impossible settings; returns ``self``."""
        def bad(what: str, fix: str) -> ConfigError:
            return ConfigError(what, where="executor options", fix=fix)

        if self.executor not in EXECUTORS:
            raise bad(f"unknown executor {self.executor!r}", f"use one of {', '.join(EXECUTORS)}")
        if self.workers < 1:
            raise bad(f"workers={self.workers}", "use at least 1 worker")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            raise bad(f"cpus_per_worker={self.cpus_per_worker}, gpus_per_worker="
                      f"{self.gpus_per_worker}", "cpus must be > 0 and gpus >= 0")
        if self.shard_size < 1:
            raise bad(f"shard_size={self.shard_size}", "use at least 1 example per shard")
        if self.max_retries < 0:
            raise bad(f"max_retries={self.max_retries}", "use 0 or more retries")
        return self

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "executor options") -> ExecutorOptions:
        """Options from a mapping (a pipeline file's table); unknown keys raise ConfigError."""
        names = {f.name for f in fields(cls)}
        norm = {str(k).replace("-", "_"): v for k, v in data.items()}
        unknown = sorted(set(norm) - names)
        if unknown:
            raise ConfigError(f"unknown executor option(s): {', '.join(unknown)}", where=where,
                              fix=f"known options: {', '.join(sorted(names))}")
        return cls(**norm).validate()

    def as_params(self) -> dict[str, Any]:
        """Plain dict (stored in a version's ``params`` for the record)."""
        d = asdict(self)
        d.pop("runtime_env", None)
        return d


@dataclass(frozen=True)
class WorkerContext:
    """What the executor gave the worker being built (see :func:`worker_context`).

    Attributes:
        executor: ``"local"`` or ``"ray"``.
        cpus: CPU cores for this worker (use as the number of compute threads).
        gpus: GPUs for this worker; under Ray ``CUDA_VISIBLE_DEVICES`` already selects them,
            so the first visible device is index 0.
        index: worker number, 0-based.
    """

    executor: str = "local"
    cpus: float = 1.0
    gpus: float = 0.0
    index: int = 0

    @property
    def threads(self) -> int:
        return max(1, int(self.cpus))

    @property
    def device(self) -> str:
        return "cuda" if self.gpus > 0 else "cpu"


_CONTEXT = WorkerContext()


def worker_context() -> WorkerContext:
    """Resources of the worker being built; call it in a :class:`ShardWorker`'s ``__init__``."""
    return _CONTEXT


class ShardWorker(Protocol):
    """Maps the examples of one shard to output examples.

    Built once per worker process by a picklable zero-argument factory (the class itself or a
    ``functools.partial``), so a model is loaded once per Ray actor. Input is a list of examples,
    or of tuples of examples when the source yields tuples (e.g. ``(source, translation)``
    pairs); output is a list of examples or an Arrow table in ``EXAMPLE_SCHEMA``. By default the
    output ids must be the input ids (the first element's id for tuples), in order.
    """

    def __call__(self, batch: list[Any]) -> list[Example] | pa.Table: ...


@dataclass(frozen=True)
class Shard:
    """A shard of the input: its deterministic id and the ids of its examples."""

    id: str
    index: int
    example_ids: tuple[str, ...]


# -- planning ----------------------------------------------------------------------------------
def _items(source: Iterable[Any]) -> Iterator[Item]:
    for obj in source:
        if isinstance(obj, Example):
            yield obj
        elif isinstance(obj, tuple) and obj and all(isinstance(x, Example) for x in obj):
            yield obj
        elif isinstance(obj, (pa.Table, pa.RecordBatch)):
            yield from examples_from_arrow(obj)
        elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
            yield from _items(obj)
        else:
            raise ConfigError(f"cannot shard a {type(obj).__name__}", where="run_sharded source",
                              fix="yield Examples, tuples of Examples, lists of them, or Arrow "
                              "tables in workbench.store.EXAMPLE_SCHEMA")


def _digest(key: str, items: Sequence[Item]) -> str:
    h = hashlib.sha256(key.encode())
    for it in items:
        for ex in it if isinstance(it, tuple) else (it,):
            h.update(json.dumps([ex.id, ex.text, ex.lang, ex.split, [list(asdict(s).values())
                                 for s in ex.spans], ex.meta], sort_keys=True, default=str,
                                ensure_ascii=False).encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


@dataclass
class _Payload:
    """What travels to a worker: the inputs to compute (one table per tuple position) and the
    outputs already known (``lookup``) with their positions in the shard."""

    tables: list[pa.Table]
    known: pa.Table | None = None
    known_at: list[int] = field(default_factory=list)


def _encode(items: Sequence[Item]) -> list[pa.Table]:
    if not items:
        return []
    width = len(items[0]) if isinstance(items[0], tuple) else 0
    if width:
        return [examples_to_arrow([it[k] for it in items]) for k in range(width)]  # type: ignore[index]
    return [examples_to_arrow(items)]  # type: ignore[arg-type]


def _plan(source: Iterable[Any], key: str, size: int) -> Iterator[tuple[Shard, list[Item]]]:
    buf: list[Item] = []
    index = 0

    def make() -> tuple[Shard, list[Item]]:
        width = len(buf[0]) if isinstance(buf[0], tuple) else 0
        ids = tuple((it[0] if width else it).id for it in buf)  # type: ignore[union-attr]
        if width and any(not isinstance(it, tuple) or len(it) != width for it in buf):
            raise ConfigError("mixed inputs in one shard", where=f"examples {ids[0]}...",
                              fix="yield either Examples or tuples of the same length")
        return Shard(f"{index:06d}-{_digest(key, buf)}", index, ids), buf

    for it in _items(source):
        buf.append(it)
        if len(buf) >= size:
            yield make()
            index += 1
            buf = []
    if buf:
        yield make()


# -- the worker side ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ShardResult:
    """What a worker reports for a staged shard."""

    shard_id: str
    rows: int
    pid: int
    seconds: float  # time in the worker: decode, compute, stage


class _ShardRunner:
    """Builds the worker once, then runs shards: decode, call, check ids, stage."""

    def __init__(self, factory: Callable[[], ShardWorker], staging: Staging,
                 context: WorkerContext, check_ids: bool):
        global _CONTEXT
        _CONTEXT = context
        self.pid = os.getpid()
        self.worker = factory()
        self.staging, self.check_ids = staging, check_ids

    def run(self, shard: Shard, payload: _Payload) -> ShardResult:
        t0 = time.perf_counter()
        cols = [examples_from_arrow(t) for t in payload.tables]
        batch: list[Any] = cols[0] if len(cols) == 1 else list(zip(*cols, strict=True))
        out = self.worker(batch) if batch else []
        if payload.known is not None:  # merge the outputs known before dispatch, in order
            computed = iter(examples_from_arrow(out) if isinstance(out, pa.Table) else out)
            known = dict(zip(payload.known_at, examples_from_arrow(payload.known), strict=True))
            out = [known[i] if i in known else next(computed, None)
                   for i in range(len(shard.example_ids))]
            out = [ex for ex in out if ex is not None] + list(computed)
        table = out if isinstance(out, pa.Table) else examples_to_arrow(out)
        if self.check_ids:
            got = table.column("id").to_pylist()
            if got != list(shard.example_ids):
                missing = sorted(set(shard.example_ids) - set(got))[:5]
                extra = sorted(set(got) - set(shard.example_ids))[:5]
                raise ShardError(
                    f"worker returned {len(got)} examples for {len(shard.example_ids)} inputs "
                    f"(missing {missing}, unexpected {extra}, or out of order)",
                    shard_id=shard.id, example_ids=shard.example_ids, where=f"shard {shard.id}",
                    fix="a ShardWorker must return one output per input with the same id, in order "
                    "(or run with check_ids=False)")
        n = self.staging.write(shard.id, table.cast(EXAMPLE_SCHEMA))
        return ShardResult(shard.id, n, self.pid, time.perf_counter() - t0)


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
        from workbench.distributed_ray import run_ray

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


def shard_failed(shard: Shard, attempts: int, cause: BaseException | None,
                 staging: Staging) -> ShardError:
    """The :class:`ShardError` for a shard that failed on every attempt."""
    ids = list(shard.example_ids)
    shown = ", ".join(ids[:10]) + (f", ... ({len(ids)} in all)" if len(ids) > 10 else "")
    msg = f"{type(cause).__name__}: {cause}" if cause is not None else "unknown error"
    first = msg.strip().splitlines()[0] if msg.strip() else msg
    err = ShardError(
        f"shard {shard.id} failed {attempts} time(s); its examples: {shown}; last error: {first}",
        shard_id=shard.id, example_ids=ids, attempts=attempts, where=f"shard {shard.id}",
        fix=f"inspect those examples; completed shards stay in {staging.url()} and a rerun "
        "skips them")
    err.__cause__ = cause
    return err


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
    opts = options or ExecutorOptions()
    if opts.staging is None:
        opts = ExecutorOptions(**{**asdict(opts), "staging": str(store.path.parent / ".wb-shards")})
    run = run_sharded(source, worker_factory, key=signature.key(), options=opts, on_shard=on_shard,
                      lookup=lookup)
    version = store.write_version(
        run.batches(), corpus=corpus, stage=stage, signature=signature, parents=parents,
        params=params, lang=lang, on_commit=on_commit,
    )
    if not opts.keep_staging:
        run.cleanup()
    return version
