"""``workbench project`` (stored versions or files), ``project-back`` (translate-test) and
``workbench eval`` (projected spans, word alignments)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from workbench.cli.common import (
    DbOpt,
    LockTimeoutOpt,
    app,
    console,
    executor_options,
    parse_options,
    store_at,
    styled,
)
from workbench.core.errors import ConfigError


def _projector_names() -> list[str]:
    from projectors import PROJECTORS

    return sorted(PROJECTORS)


def _print_report(rep: Any) -> None:
    parts = ", ".join(f"{k} {v}" for k, v in sorted(rep.outcomes.items()))
    console.print(f"{rep.examples} sentences, {rep.spans} source spans: {parts or 'none'}")
    for reason, n in sorted(rep.reasons.items(), key=lambda x: -x[1])[:8]:
        console.print(f"  dropped/fallback: {n} x {reason}")


@app.command("project")
@executor_options
def project_cmd(
    ref: Annotated[Optional[str], typer.Argument(help="Translated version to project onto "
                   "(NAME or NAME@N); omit with --source/--target.")] = None,
    projector: Annotated[Optional[str], typer.Option(
        help="Registered projector (default align.eflomal.v2, offline). One of: "
        "align.eflomal.v2, align.eflomal.v1, align.simalign.v1, markers.v1, constrained.v1 (these two use the "
        "translation model REF was made with), or any other registered name.")] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "--option", help="Projector option KEY=VALUE (repeatable), e.g. n_runs=3, "
        "model=bert-base-multilingual-cased, span_gap=1; for markers.v1/constrained.v1 "
        "model=CT2_DIR, src_lang, tgt_lang, compute_type, beam_size override the translate "
        "version's.")] = None,
    source: Annotated[Optional[Path], typer.Option(help="Labelled source CoNLL file (file mode).")] = None,
    target: Annotated[Optional[Path], typer.Option(help="Target sentences: one tokenised sentence per "
                      "line, or CoNLL with tags ignored (file mode).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output CoNLL (file mode).")] = None,
    target_format: Annotated[str, typer.Option(help="auto, lines or conll.")] = "auto",
    source_ref: Annotated[Optional[str], typer.Option(help="Version with the source examples "
                          "(default: the first parent of REF).")] = None,
    align_corpus: Annotated[Optional[Path], typer.Option(help="Extra unlabelled parallel text "
                            "('src tokens ||| tgt tokens' per line) for statistical aligners.")] = None,
    force: Annotated[bool, typer.Option(help="Project again even if an identical version exists.")] = False,
    lock_timeout: LockTimeoutOpt = None,
    db: DbOpt = None,
    executor_options: Any = None,
) -> None:
    """Project source spans onto translations: a stored version, or files (--source/--target/-o).

    A stored version can be projected on a Ray cluster (--executor ray, --workers N, ...).

    Example: workbench project --source en.conll --target de.txt -o de.conll
    """
    from workbench.load.tokens import read_parallel
    from workbench.project import ProjectReport, project, project_files

    rep = ProjectReport()
    if projector is not None and projector not in _projector_names():
        raise ConfigError(f"unknown projector {projector!r}",
                          fix=f"use one of {', '.join(_projector_names())}")
    ex_opts = executor_options
    opts = parse_options(option)
    extra = read_parallel(align_corpus) if align_corpus else ()
    file_mode = source is not None or target is not None or output is not None
    if file_mode:
        if ex_opts.executor != "local":
            raise ConfigError("--executor ray projects stored versions, not files",
                              fix="ingest and store the data, or drop --executor")
        if ref is not None or source is None or target is None or output is None:
            raise ConfigError("file mode needs --source, --target and --output, and no REF",
                              fix="workbench project --source SRC.conll --target TGT.txt -o OUT.conll")
        with console.status("projecting ..."):
            project_files(source, target, output, projector=projector, options=opts, extra=extra,
                          target_format=target_format, report=rep)
        _print_report(rep)
        console.print(f"wrote {output}")
        return
    if ref is None:
        raise ConfigError("give a version REF, or --source/--target/-o",
                          fix="workbench project NAME@N, or workbench project --source ... ")
    with console.status(f"projecting {ref} ..."):
        v = project(ref, projector=projector, options=opts, store=store_at(db, lock_timeout=lock_timeout), source=source_ref,
                    extra=extra, force=force, report=rep, executor=ex_opts)
    _print_report(rep)
    console.print(styled("stored ", (v.ref, "bold"), f": {v.n_examples} examples, {v.n_spans} spans"))


@app.command("project-back")
def project_back_cmd(
    original: Annotated[Path, typer.Argument(help="Original (target-language) sentences: .txt one per "
                        "line, or CoNLL/JSONL (tags ignored).")],
    english: Annotated[Path, typer.Argument(help="Their English translations with predicted spans "
                       "(CoNLL or JSONL), same order.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file (.conll or .jsonl).")],
    projector: Annotated[str, typer.Option("--projector", "-p", help="Registered projector, e.g. "
                         "constrained.v1, markers.v1, align.eflomal.v2.")] = "constrained.v1",
    model: Annotated[Optional[Path], typer.Option(help="CTranslate2 model English -> original language "
                     "(markers.*, constrained.*), with its sentencepiece files.")] = None,
    tgt_lang: Annotated[Optional[str], typer.Option(help="Language of the original sentences (de, ...): "
                        "the model's language tokens come from its family (workbench models).")] = None,
    src_lang: Annotated[str, typer.Option(help="Language of the translations (with --tgt-lang).")] = "en",
    source_prefix: Annotated[Optional[str], typer.Option(help="Source language token(s), comma-separated "
                             "(e.g. eng_Latn for NLLB), for a model without family metadata.")] = None,
    target_prefix: Annotated[Optional[str], typer.Option(help="Target language token(s), comma-separated "
                             "(e.g. deu_Latn for NLLB).")] = None,
    original_format: Annotated[Optional[str], typer.Option(help="lines, conll or jsonl (default: by "
                               "extension).")] = None,
    scheme: Annotated[str, typer.Option(help="Tag scheme of CoNLL input/output.")] = "iob2",
    option: Annotated[Optional[list[str]], typer.Option(
        "--option", help="Projector option KEY=VALUE (repeatable), e.g. n_runs=3, span_gap=1.")] = None,
) -> None:
    """Write spans predicted on English translations back onto the original sentences.

    Example: workbench project-back test.de.txt test.en.pred.conll --model en-de-ct2 --tgt-lang de -o test.de.pred.conll
    """
    from workbench.load.registry import read, write
    from workbench.project import back_projector, project_back, read_originals

    mt = None
    if model is not None and tgt_lang:
        from workbench.mt.ct2 import load_mt

        mt = load_mt(model, src_lang=src_lang, tgt_lang=tgt_lang)
    elif model is not None:
        from workbench.mt.ct2 import CT2Model

        mt = CT2Model(model, source_prefix=source_prefix.split(",") if source_prefix else (),
                      target_prefix=target_prefix.split(",") if target_prefix else ())
    proj = back_projector(projector, parse_options(option), model=mt)
    en_opts = {"scheme": scheme} if str(english).endswith((".conll", ".iob", ".bio", ".tsv")) else {}
    origs = read_originals(original, original_format)
    results = project_back(origs, read(english, **en_opts), proj)
    counts: dict[str, int] = {}

    def counted():
        for ex in results:
            for o in ex.outcomes:
                counts[o.outcome] = counts.get(o.outcome, 0) + 1
            yield ex

    opts = {"scheme": scheme} if str(out).endswith(".conll") else {}
    n = write(counted(), out, **opts)
    console.print(f"wrote {n} sentences to {out}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


eval_app = typer.Typer(help="Intrinsic evaluation: projected spans, word alignments.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("projection")
def eval_projection(
    pred: Annotated[Path, typer.Option(help="Predicted CoNLL file (e.g. from workbench project).")],
    gold: Annotated[Path, typer.Option(help="Gold CoNLL file with the same tokens.")],
    scheme: Annotated[str, typer.Option(help="Tag scheme: iob2, iob1 or bioes.")] = "iob2",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Exact-span precision / recall / F1, overall and per label (seqeval conventions).

    Example: workbench eval projection --pred de.pred.conll --gold de.conll
    """
    from workbench.project.evaluate import evaluate_projection

    sc = evaluate_projection(pred, gold, scheme=scheme)
    if as_json:
        sys.stdout.write(json.dumps(sc.as_dict()) + "\n")
        return
    t = Table("label", "precision", "recall", "f1", "pred", "gold")
    rows = sorted(sc.by_label.items()) + [("overall", sc.overall)]
    for lab, m in rows:
        t.add_row(lab, f"{100 * m.precision:.2f}", f"{100 * m.recall:.2f}", f"{100 * m.f1:.2f}",
                  str(m.n_pred), str(m.n_gold))
    console.print(t)


@eval_app.command("alignment")
def eval_alignment(
    pred: Annotated[Path, typer.Option(help="Predicted links, one line per pair (i-j; 0- or 1-indexed, "
                    "detected).")],
    gold: Annotated[Path, typer.Option(help="Gold links: 1-indexed i-j sure, ipj possible.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Alignment error rate, precision and recall against gold sure/possible links.

    Example: workbench eval alignment --pred enfr.links --gold enfr.gold
    """
    from workbench.project.evaluate import evaluate_alignment

    sc = evaluate_alignment(pred, gold)
    if as_json:
        sys.stdout.write(json.dumps(sc.as_dict()) + "\n")
        return
    console.print(f"AER {100 * sc.aer:.2f}  precision {100 * sc.precision:.2f}  "
                  f"recall {100 * sc.recall:.2f}  ({sc.n_sentences} sentences)")
