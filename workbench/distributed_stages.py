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

from dataclasses import dataclass, field, replace
from typing import Any

from workbench.distributed import worker_context
from workbench.records import Example

__all__ = ["ProjectWorker", "TranslateWorker"]


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
            progress=None, device=device)

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
