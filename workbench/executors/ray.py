"""The Ray executor of :mod:`workbench.executors.run` (imported only for ``executor="ray"``).

One actor per worker (``num_cpus``/``num_gpus`` each) builds the :class:`ShardWorker` once. The
driver keeps one shard in flight per actor and hands the next shard to whichever actor finishes
first, so a slow worker never holds up the others and a failure is attributed to exactly one
shard. Actors restart when their process dies (``max_restarts=-1``) and Ray retries the shard
they were running (``max_task_retries``, ``retry_exceptions``); after ``max_retries`` retries the
stage fails with a :class:`ShardError` naming the shard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from workbench.core.errors import ConfigError
from workbench.executors.options import ExecutorOptions, WorkerContext
from workbench.executors.shards import (
    Shard,
    ShardError,
    ShardResult,
    ShardWorker,
    _Payload,
    _ShardRunner,
    shard_failed,
)
from workbench.executors.staging import Staging

__all__ = ["ray_init_kwargs", "run_ray"]


class _InitFailed:
    """Building the worker failed (e.g. a missing model): not a shard's fault, not retried."""

    def __init__(self, exc: BaseException):
        import pickle

        try:
            pickle.dumps(exc)
            self.exc = exc
        except Exception:  # noqa: BLE001 - an unpicklable error still reaches the driver
            self.exc = RuntimeError(f"{type(exc).__name__}: {exc}")


class _RayShardRunner(_ShardRunner):
    def __init__(self, *args: Any):
        self.init_error: BaseException | None = None
        try:
            super().__init__(*args)
        except Exception as exc:  # noqa: BLE001 - reported by run(), raised by the driver
            self.init_error = exc

    def run(self, shard: Shard, payload: _Payload) -> Any:  # type: ignore[override]
        if self.init_error is not None:
            return _InitFailed(self.init_error)
        try:
            return super().run(shard, payload)
        except ShardError as exc:  # a wrong answer is not retried: return it to the driver
            return exc


def ray_init_kwargs(opts: ExecutorOptions | None = None) -> dict[str, Any]:
    """Keyword arguments of ``ray.init`` for the executor's options.

    Joining a cluster (``ray_address``) uses the cluster's settings. A local Ray started here
    runs its workers at normal priority (Ray's default, ``nice 15``, lets any other process on
    the machine starve them; fine on a dedicated node, not on a workstation).
    """
    opts = opts or ExecutorOptions()
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                          "logging_level": logging.WARNING, "configure_logging": False}
    if opts.runtime_env:
        kw["runtime_env"] = opts.runtime_env
    if opts.ray_address:
        kw["address"] = opts.ray_address
    else:
        kw["_system_config"] = {"worker_niceness": 0}
    return kw


def _init(opts: ExecutorOptions) -> bool:
    """Connect to (or start) Ray unless this process already did; True if we did."""
    try:
        import ray
    except ImportError:
        raise ConfigError("executor 'ray' needs Ray", where="--executor ray",
                          fix="pip install 'workbench[ray]' (or pip install 'ray[data]')") from None
    if ray.is_initialized():
        return False
    ray.init(**ray_init_kwargs(opts))
    return True


def run_ray(todo: Iterator[tuple[Shard, _Payload]], factory: Callable[[], ShardWorker],
            staging: Staging, opts: ExecutorOptions, check_ids: bool,
            finished: Callable[[Shard, ShardResult], None]) -> None:
    """Run the shards of ``todo`` on ``opts.workers`` Ray actors; ``finished`` per shard."""
    import ray
    from ray.exceptions import RayActorError, RayError, RayTaskError

    started = _init(opts)
    actors: list[Any] = []
    try:
        nxt = next(todo, None)
        if nxt is None:  # everything already staged: start no actor, load no model
            return
        actor_cls = ray.remote(_RayShardRunner).options(
            num_cpus=opts.cpus_per_worker, num_gpus=opts.gpus_per_worker,
            max_restarts=-1, max_task_retries=opts.max_retries,
        )
        actors = [
            actor_cls.remote(factory, staging,
                             WorkerContext("ray", opts.cpus_per_worker, opts.gpus_per_worker, i),
                             check_ids)
            for i in range(opts.workers)
        ]
        idle = list(range(len(actors)))[::-1]
        inflight: dict[Any, tuple[Shard, int]] = {}
        while True:
            while idle and nxt is not None:
                shard, payload = nxt
                a = idle.pop()
                ref = actors[a].run.options(retry_exceptions=True).remote(shard, payload)
                inflight[ref] = (shard, a)
                nxt = next(todo, None)
            if not inflight:
                break
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                shard, a = inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except RayTaskError as exc:  # the worker raised on every attempt
                    cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                    raise shard_failed(shard, opts.max_retries + 1, cause, staging) from None
                except (RayActorError, RayError) as exc:  # the worker process died every time
                    raise shard_failed(shard, opts.max_retries + 1, exc, staging) from None
                if isinstance(result, _InitFailed):
                    raise result.exc
                if isinstance(result, ShardError):
                    raise result
                finished(shard, result)
                idle.append(a)
    finally:
        for actor in actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - best effort, the actor may be gone already
                pass
        if started:
            ray.shutdown()
