"""Executor options and the resources a worker was given (:func:`worker_context`)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError

__all__ = ["EXECUTORS", "ExecutorOptions", "WorkerContext", "worker_context"]

EXECUTORS = ("local", "ray")


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

    def staged_beside(self, store_path: str | os.PathLike[str]) -> ExecutorOptions:
        """These options with ``staging`` defaulting to ``.wb-shards`` beside the store file."""
        if self.staging is not None:
            return self
        return ExecutorOptions(**{**asdict(self), "staging": str(Path(store_path).parent / ".wb-shards")})


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
