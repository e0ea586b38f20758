"""The one device decision: where CTranslate2 runs, with which compute type and threads.

``auto`` choices are made either here, by looking at this machine (CUDA devices, cores), or for
workers elsewhere (``workers=``, a Ray executor's resources per worker), without looking for a
GPU here: the driver of a GPU cluster often has none. The translate stage, its Ray worker and
the MT-guided projectors all decide through :func:`resolve_device`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from workbench.core.errors import ConfigError, ModelError

__all__ = ["Device", "WorkerResources", "engine_error", "parallel_workers", "resolve_device"]


class DeviceOptions(Protocol):
    """What the decision reads (:class:`workbench.translate.options.TranslateOptions` has it)."""

    device: str
    device_index: list[int]
    compute_type: str
    inter_threads: int
    intra_threads: int


@dataclass(frozen=True)
class WorkerResources:
    """What each worker of an executor gets (``ExecutorOptions.gpus_per_worker`` / ``cpus_per_worker``)."""

    gpus: float = 0.0
    cpus: float = 1.0


class Device(NamedTuple):
    """The decision: ``(device, compute_type, inter_threads, intra_threads)`` after ``auto``."""

    device: str
    compute_type: str
    inter_threads: int
    intra_threads: int


def _auto_compute_type(device: str, compute_type: str) -> str:
    if compute_type == "auto":
        return "int8" if device == "cpu" else "int8_float16"
    return compute_type


def resolve_device(options: DeviceOptions, *, workers: WorkerResources | None = None) -> Device:
    """Resolve ``auto`` device, compute type and threads.

    Without ``workers`` the choice is for this process: ``auto`` is CUDA when CTranslate2 sees a
    device, device ids and the compute type are checked against this machine, and CPU threads
    follow its cores (one batch per core up to 4 cores). With ``workers`` it is for workers that
    run elsewhere: ``auto`` is CUDA when each worker gets a GPU, and a CPU worker computes one
    batch per core it gets (what :class:`~workbench.translate.sharded.TranslateWorker` does).
    """
    device = options.device
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}", fix="use auto, cpu or cuda")
    if workers is not None:
        if device == "auto":
            device = "cuda" if workers.gpus > 0 else "cpu"
        if device == "cuda" and workers.gpus <= 0:
            raise ConfigError("device cuda with --executor ray needs GPUs for the workers",
                              where="executor options", fix="pass --gpus-per-worker 1 (or --device auto)")
        inter, intra = options.inter_threads, options.intra_threads
        if device != "cuda" and not inter and not intra:
            inter, intra = max(1, int(workers.cpus)), 1
        return Device(device, _auto_compute_type(device, options.compute_type), inter or 1, intra or 1)

    import ctranslate2

    n_gpus = ctranslate2.get_cuda_device_count()
    if device == "auto":
        device = "cuda" if n_gpus > 0 else "cpu"
    if device == "cuda":
        if n_gpus == 0:
            raise ConfigError("device cuda asked for but no CUDA device is visible",
                              fix="use --device cpu or auto")
        bad = [i for i in options.device_index if not 0 <= i < n_gpus]
        if bad or not options.device_index:
            raise ConfigError(f"device index {bad or options.device_index} out of range: "
                              f"{n_gpus} CUDA device(s) visible (0-{n_gpus - 1})",
                              fix="pass --device-index with visible ids, e.g. 0 or 0,1; "
                                  "CUDA_VISIBLE_DEVICES renumbers them from 0")
    ct = _auto_compute_type(device, options.compute_type)
    supported = ctranslate2.get_supported_compute_types(device, options.device_index[0])
    if ct not in supported and ct != "default":
        raise ConfigError(f"compute type {ct!r} is not supported on {device}",
                          fix=f"use one of {', '.join(sorted(supported))}")
    inter, intra = options.inter_threads, options.intra_threads
    if device == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if not inter and not intra:
            # on 2 cores 2x1 beats 1x2 (bench/translate.py): one batch per core up to 4 cores
            intra = 1 if cores <= 4 else 2 if cores <= 16 else 4
            inter = max(1, cores // intra)
        elif not inter:
            inter = max(1, cores // intra)
        elif not intra:
            intra = max(1, cores // inter)
    else:
        inter, intra = inter or 1, intra or 1
    return Device(device, ct, inter, intra)


def parallel_workers(device: str, inter: int, device_index: Sequence[int]) -> int:
    """Batches CTranslate2 computes at the same time: ``inter_threads`` per device."""
    return inter * (len(device_index) if device == "cuda" else 1)


def engine_error(exc: RuntimeError, device: str) -> ModelError | RuntimeError:
    """A :class:`ModelError` with a fix for CTranslate2 failures users can act on (a CUDA library
    that cannot be loaded, GPU memory); other errors unchanged."""
    msg = str(exc)
    if "libcublas" in msg or "libcudnn" in msg:
        return ModelError(
            f"CTranslate2 cannot run on {device}: {msg}", where=f"device {device}",
            fix="CTranslate2 4.x CUDA builds need CUDA 12 cuBLAS (libcublas.so.12): pip install "
                "nvidia-cublas-cu12 and add its lib folder to LD_LIBRARY_PATH, or use --device cpu")
    if "out of memory" in msg.lower():
        return ModelError(f"CTranslate2 ran out of memory on {device}: {msg}", where=f"device {device}",
                          fix="lower --max-batch-tokens (or --beam-size)")
    return exc
