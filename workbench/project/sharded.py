"""The project stage on shards (``--executor ray``): the shard worker and the driver's side.

:class:`ProjectWorker` runs a registered projector on ``(source, translation)`` pairs and returns
the same examples as :func:`workbench.project.stage.project`.

Note for statistical aligners (``align.eflomal.*``): they estimate their model from the pairs of
one call, so a shard is their batch. Use ``shard_size`` equal to the local ``batch_size``
(50,000 by default) to get the same version as the local run; smaller shards scale out more but
give each aligner less text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.executors.run import run_stage
from workbench.project.apply import ProjectReport, apply_projection, projections
from workbench.project.build import make_projector

if TYPE_CHECKING:
    from workbench.core.signature import Signature
    from workbench.executors.options import ExecutorOptions
    from workbench.store.store import Store, Version

__all__ = ["ProjectWorker", "project_sharded"]


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
        self._proj = make_projector(self.projector, self.options, self.extra)

    def __call__(self, batch: list[tuple[Example, Example]]) -> list[Example]:
        srcs = [s for s, _ in batch]
        tgts = [t for _, t in batch]
        projs = projections(self._proj, srcs, tgts)
        report = ProjectReport()  # the driver counts outcomes from the stored version
        return [apply_projection(t, s, p, self._proj.name, report)
                for t, s, p in zip(tgts, srcs, projs, strict=True)]


def project_sharded(*, store: Store, version: Version, source: Version, projector: str | None,
                    options: dict[str, Any] | None,
                    extra: Sequence[tuple[Sequence[str], Sequence[str]]], signature: Signature,
                    params: dict[str, Any], executor: ExecutorOptions,
                    report: ProjectReport) -> Version:
    """:func:`workbench.project.stage.project` on shards of ``(source, translation)`` pairs; the
    report is counted from the stored version's outcomes."""


    src_by_id = {ex.id: ex for ex in store.examples(source)}

    def pairs() -> Iterator[tuple[Example, Example]]:
        for t in store.examples(version):
            s = src_by_id.get(t.id)
            if s is None:
                raise InputError(f"no source example with id {t.id!r} in {source.ref}",
                                 where=version.ref,
                                 fix="project a translation of the source version (same example ids)")
            yield (s, t)

    opts = executor.staged_beside(store.path)
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
