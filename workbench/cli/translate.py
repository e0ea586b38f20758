"""``workbench translate`` and the model cache: ``workbench models convert`` / ``list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from workbench.cli.common import DbOpt, LockTimeoutOpt, app, console, err, executor_options, store_at, styled

models_app = typer.Typer(help="Convert and list translation models (CTranslate2 cache in "
                         "$WORKBENCH_HOME, default ~/.cache/workbench/models).", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _csv_ints(value: str) -> list[int]:
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated integers, got {value!r}") from None


@app.command("translate")
@executor_options
def translate_cmd(
    ref: Annotated[str, typer.Argument(help="Source version ref: NAME or NAME@N.")],
    model: Annotated[str, typer.Option("--model", "-m", help="CTranslate2 directory or converted "
                     "Hugging Face id (workbench models list).")],
    src_lang: Annotated[str, typer.Option("--src-lang", help="Source language code (en, eng_Latn, ...).")],
    tgt_lang: Annotated[str, typer.Option("--tgt-lang", help="Target language code(s), comma-separated.")],
    name: Annotated[Optional[str], typer.Option(help="Output corpus name ({tgt} is replaced); "
                    "default SOURCE.TGT.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    device_index: Annotated[str, typer.Option(help="GPU ids, comma-separated (one replica each).")] = "0",
    compute_type: Annotated[str, typer.Option(help="auto (int8 on CPU, int8_float16 on GPU), int8, "
                            "int8_float16, float16, bfloat16, float32.")] = "auto",
    beam_size: Annotated[int, typer.Option(help="Beam width (1 = greedy).")] = 4,
    max_batch_tokens: Annotated[int, typer.Option(help="Tokens per batch; 0 = 1024 on CPU, 8192 on GPU.")] = 0,
    max_decoding_length: Annotated[int, typer.Option(help="Most target pieces per part of a sentence; "
                                   "0: derived from the part's length, at most the model's positions "
                                   "(a part that reaches it is cut in two and translated again).")] = 0,
    min_decoding_length: Annotated[int, typer.Option(help="Fewest target tokens.")] = 1,
    length_penalty: Annotated[float, typer.Option(help="Length normalisation exponent.")] = 1.0,
    repetition_penalty: Annotated[float, typer.Option(help="> 1 penalises repeats.")] = 1.0,
    no_repeat_ngram_size: Annotated[int, typer.Option(help="Forbid repeated n-grams (0: off).")] = 0,
    inter_threads: Annotated[int, typer.Option(help="Parallel batches (0: auto).")] = 0,
    intra_threads: Annotated[int, typer.Option(help="Threads per batch (0: auto).")] = 0,
    split: Annotated[bool, typer.Option("--split/--no-split", help="Split inputs over the model "
                     "limit at sentence boundaries (--no-split: fail on them).")] = True,
    token_logprobs: Annotated[bool, typer.Option(help="Store per-token log-probs (slower).")] = False,
    scores: Annotated[bool, typer.Option("--scores/--no-scores", help="Store each translation's "
                      "log-probability (meta.mt_score, mt_avg_logprob: the mt-score filter reads "
                      "them); --no-scores: faster with greedy decoding (--beam-size 1), no "
                      "difference with beam search.")] = True,
    detokenize: Annotated[bool, typer.Option("--detokenize/--no-detokenize", help="Give the model the "
                          "natural sentence (Moses-detokenised) when an example's text is only its "
                          "tokens joined by spaces (CoNLL without # text); --no-detokenize: the "
                          "joined tokens.")] = True,
    flush_seconds: Annotated[float, typer.Option(min=0.0, help="Most seconds between writes of finished "
                             "translations to the cache: what a killed run loses at most, besides "
                             "the batches in flight.")] = 2.0,
    family: Annotated[Optional[str], typer.Option(help="Model family when the model's files cannot "
                      "tell: marian.v1, nllb.v1, m2m100.v1 or madlad.v1.")] = None,
    pair: Annotated[Optional[str], typer.Option(help="Language pair of a single-pair model (OPUS-MT), "
                    "e.g. en-de, when its files and name cannot tell.")] = None,
    check_language: Annotated[bool, typer.Option("--check-language/--no-check-language", help="Identify "
                              "a sample of a single-pair model's first outputs (py3langid) and refuse "
                              "the run when they are clearly in another language than --tgt-lang; "
                              "--no-check-language: store them as they come.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    lock_timeout: LockTimeoutOpt = None,
    db: DbOpt = None,
    executor_options: Any = None,
) -> None:
    """Translate a stored version into one or more languages (a new version per language).

    Translations are cached in the store: an interrupted run resumes where it stopped and a
    repeated run is served from the cache. With --executor ray, shards of --shard-size
    sentences are translated by --workers Ray workers (cached sentences are never sent).

    Example: workbench translate sample-en --model Helsinki-NLP/opus-mt-en-de --src-lang en --tgt-lang de
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from workbench.translate import TranslateOptions, translate

    opts = TranslateOptions(
        device=device, device_index=_csv_ints(device_index), compute_type=compute_type,
        beam_size=beam_size, max_batch_tokens=max_batch_tokens,
        max_decoding_length=max_decoding_length, min_decoding_length=min_decoding_length,
        length_penalty=length_penalty, repetition_penalty=repetition_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size, inter_threads=inter_threads,
        intra_threads=intra_threads, split_long=split, token_logprobs=token_logprobs,
        scores=scores, detokenize=detokenize, name=name,
        family=family, pair=pair, flush_seconds=flush_seconds, check_language=check_language)
    ex_opts = executor_options
    finals: list[Any] = []
    bar = Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=err,
                   disable=quiet)
    tasks: dict[str, Any] = {}

    def on_progress(p: Any) -> None:
        if p.tgt_lang not in tasks:
            tasks[p.tgt_lang] = bar.add_task(f"-> {p.tgt_lang}", total=p.total, rate="")
        bar.update(tasks[p.tgt_lang], completed=p.done,
                   rate=f"{p.sentences_per_s:.1f} sent/s  {p.tokens_per_s:.0f} tok/s  "
                        f"cached {p.cached}")
        if p.finished:
            finals.append(p)

    store = store_at(db, lock_timeout=lock_timeout)
    source = store.resolve(ref)
    if source.stage != "ingest":  # allowed (pivoting), but rarely meant
        err.print(styled(("warning:", "yellow"), f" {source.ref} is a {source.stage} version, not an ingested "
                         "source corpus: it is translated as it stands (a pivot)"))
    with bar:
        vs = translate(source, model=model, src_lang=src_lang, tgt_langs=tgt_lang.split(","),
                       store=store, options=opts, progress=on_progress, executor=ex_opts)
    t = Table("version", "examples", "translated", "from cache", "split", "cut at max length", "sent/s",
              "tok/s", "seconds")
    for v, p in zip(vs, finals, strict=False):
        t.add_row(v.ref, str(v.n_examples), str(p.translated), str(p.cached), str(p.split), str(p.truncated),
                  f"{p.sentences_per_s:.1f}", f"{p.tokens_per_s:.0f}", f"{p.elapsed:.1f}")
    console.print(t)


@models_app.command("convert")
def models_convert(
    model: Annotated[str, typer.Argument(help="Hugging Face id or local Hugging Face directory.")],
    quantization: Annotated[str, typer.Option(help="int8, int8_float16, float16, bfloat16 or "
                            "float32.")] = "int8",
    force: Annotated[bool, typer.Option(help="Convert again even if cached.")] = False,
    revision: Annotated[Optional[str], typer.Option(help="Hub revision.")] = None,
    family: Annotated[Optional[str], typer.Option(help="Model family when the model's files cannot "
                      "tell: marian.v1, nllb.v1, m2m100.v1 or madlad.v1.")] = None,
    pair: Annotated[Optional[str], typer.Option(help="Language pair of a single-pair model (OPUS-MT), "
                    "e.g. en-de, when its files and name cannot tell.")] = None,
) -> None:
    """Download (the only network step) and convert a model to CTranslate2 in the model cache.

    Example: workbench models convert facebook/nllb-200-distilled-600M --quantization int8
    """
    from workbench.mt.models import convert, open_model

    with err.status(f"converting {model} ..."):
        out = convert(model, quantization=quantization, force=force, revision=revision, family=family,
                      pair=pair)
    m = open_model(out, family=family, pair=pair)
    if out == Path(model):
        console.print(f"{out} is a CTranslate2 model already ({m.family.summary()}): translate with "
                      f"-m {out}")
        return
    console.print(styled("converted ", (model, "bold"), f" -> {out} ({m.family.summary()})"))


@models_app.command("list")
def models_list() -> None:
    """List converted models in the cache.

    Example: workbench models list
    """
    from workbench.mt.models import list_models, models_home

    t = Table("name", "source", "family", "quantization", "MB", "path")
    for m in list_models():
        t.add_row(m.name, m.source, m.family, m.quantization, f"{m.size_mb:.1f}", str(m.path))
    console.print(t)
    console.print(f"cache: {models_home()}")
