"""Shards: the unit of work of a sharded stage, its deterministic id, the worker protocol, and the
runner that maps one shard through a worker and stages its output."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, Union

import pyarrow as pa

from workbench.core.arrow import EXAMPLE_SCHEMA, examples_from_arrow, examples_to_arrow
from workbench.core.errors import ConfigError, WorkbenchError
from workbench.core.records import Example
from workbench.executors.options import WorkerContext
from workbench.executors.staging import Staging

__all__ = ["Item", "Shard", "ShardError", "ShardResult", "ShardWorker", "shard_failed"]

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
                              "tables in workbench.store.store.EXAMPLE_SCHEMA")


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
