"""How the pipeline calls each stage: a table of hooks that hold the stage functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import ConfigError
from workbench.core.signature import Signature
from workbench.export.stage import export
from workbench.filter.stage import filter_version
from workbench.load.ingest import ingest, ingest_signature
from workbench.project.stage import project
from workbench.report.build import build_report
from workbench.report.html import write_html
from workbench.store.store import Store, Version
from workbench.translate.attach import attach, attach_signature
from workbench.translate.options import TranslateOptions
from workbench.translate.stage import translate

__all__ = ["STAGES", "StageHook", "call_with_options"]


@dataclass
class StageHook:
    """How the pipeline calls one stage: the stage function itself, imported with this module.

    Attributes:
        name: stage name.
        function: the stage function; ``None`` for a stage this build lacks (the pipeline says
            so before anything runs).
        signature: ``(store, inputs, options) -> Signature`` of the version the stage would make,
            or None when the stage cannot tell before running (then the pipeline's own step
            record decides whether it already ran).
        options: the stage's options dataclass (``options=Cls(**table)``); ``None``: the table's
            keys are keyword arguments.
        write: for the report, ``write(report, path)`` that writes the HTML page.
    """

    name: str
    function: Callable[..., Any] | None
    signature: Callable[..., Signature | None] | None = None
    options: type | None = None
    write: Callable[..., Any] | None = None

    def available(self) -> bool:
        return callable(self.function)

    def load(self) -> Callable[..., Any]:
        if self.function is None:
            raise ConfigError(f"stage {self.name} is not available in this build",
                              fix=f"install a workbench with the {self.name} stage")
        return self.function


def _ingest_sig(store: Store, inputs: Sequence[Version], opts: dict[str, Any]) -> Signature:
    o = {k: v for k, v in opts.items() if k not in ("path", "name")}
    return ingest_signature(opts["path"], **o)


def _attach_sig(store: Store, inputs: Sequence[Version], opts: dict[str, Any]) -> Signature:
    return attach_signature(inputs[0], opts["path"], tgt_lang=opts["tgt_lang"])


#: stage name -> hook. How the pipeline calls each stage function (keyword arguments as named):
#: ``translate(ref, model=, src_lang=, tgt_langs=[...], store=, options=TranslateOptions(...))
#: -> list[Version]``; ``project(ref, projector=name, options={...}, store=) -> Version``;
#: ``filter_version(ref, filters=[...], options={"NAME": {...}}, store=) -> FilterRun`` (its
#: ``.version``); ``build_report(ref, store=)`` then ``write_html(report, path)``.
#: A stage may return a Version, an object with a ``.version``, or a list of either.
STAGES: dict[str, StageHook] = {
    "ingest": StageHook("ingest", ingest, _ingest_sig),
    "attach": StageHook("attach", attach, _attach_sig),
    "translate": StageHook("translate", translate, options=TranslateOptions),
    "project": StageHook("project", project),
    "filter": StageHook("filter", filter_version),
    "export": StageHook("export", export),
    "report": StageHook("report", build_report, write=write_html),
}


def call_with_options(hook: StageHook, ref: str, options: dict[str, Any], **kwargs: Any) -> Any:
    """Call a stage with ``options=Cls(**options)`` when it has an options dataclass, else with
    the options as keyword arguments."""
    fn = hook.load()
    if hook.options is None:
        return fn(ref, **kwargs, **options)
    fields = getattr(hook.options, "__dataclass_fields__", {})
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {hook.name} option(s) {unknown}", fix=f"use {sorted(fields)}")
    return fn(ref, **kwargs, options=hook.options(**options))
