"""Project a labelled CoNLL file onto existing translations in a file (no store)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.load.conll import read_conll
from workbench.load.tokens import read_token_lines
from workbench.project.apply import ProjectReport, apply_projection, projections
from workbench.project.build import make_projector

__all__ = ["project_files"]


def project_files(
    source: str | Path,
    target: str | Path,
    output: str | Path,
    *,
    projector: str | None = None,
    options: dict[str, Any] | None = None,
    extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    target_format: str = "auto",
    scheme: str = "iob2",
    report: ProjectReport | None = None,
) -> ProjectReport:
    """Project a labelled CoNLL file onto parallel target sentences; write a CoNLL file with exactly
    the target tokens and projected tags, one sentence per source sentence, in order.

    ``target``: one tokenised sentence per line (``lines``), or CoNLL whose tags are ignored
    (``conll``); ``auto`` decides by extension and tabs. An empty target sentence is written as a
    ``# empty target sentence`` comment block (CoNLL cannot hold a sentence without tokens).
    """
    report = report if report is not None else ProjectReport()
    source, target, output = Path(source), Path(target), Path(output)
    srcs = list(read_conll(source, scheme=scheme))
    tgt_tokens = [toks for _, toks in read_token_lines(target, format=target_format, empty="keep")]
    if len(srcs) != len(tgt_tokens):
        raise InputError(
            f"{len(srcs)} source sentences in {source} but {len(tgt_tokens)} target sentences",
            where=str(target), fix="give exactly one target sentence per source sentence, in order",
        )
    tgts = [Example.from_tokens(f"t{k}", toks) if toks else Example(id=f"t{k}", text="")
            for k, toks in enumerate(tgt_tokens)]
    proj = make_projector(projector, options, extra)
    projs = projections(proj, srcs, tgts)
    out = [apply_projection(t, s, p, proj.name, report) for t, s, p in zip(tgts, srcs, projs, strict=True)]
    report.examples = len(out)
    try:
        with output.open("w", encoding="utf-8") as fh:
            for ex in out:
                if not ex.offsets:
                    fh.write("# empty target sentence\n\n")
                    continue
                for tok, tag in zip(ex.tokens, ex.tags(scheme), strict=True):
                    fh.write(f"{tok}\t{tag}\n")
                fh.write("\n")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", where=str(output),
                         fix="check that the directory exists and is writable") from None
    return report
