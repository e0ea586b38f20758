"""Declarative pipelines: ``workbench run PIPELINE.toml [--dry-run]``.

A pipeline file names a source, target languages (translated by a model, or translations that
already exist), projector(s), filters, exports and reports::

    [pipeline]
    name = "quickstart"
    out_dir = "../build/quickstart"   # exports and reports go here
    # db = "corpora.duckdb"           # the store: --db > WORKBENCH_DB > db here > ./workbench.duckdb

    [source]                          # ingested as corpus `name`
    path = "../data/sample-en.conll"
    format = "conll"
    lang = "en"
    name = "sample-en"

    [translate]                       # machine translation, one version per target ...
    model = "opus-mt-en-de"
    targets = ["de", "es"]            # other keys go to the translate stage (beam_size, ...)

    [translations]                    # ... and/or existing translations, one file per language
    de = "../data/sample-de.txt"

    [project]
    projector = "align.eflomal.v2"    # or projectors = [...]; other keys are projector options
                                      # (markers.v1 / constrained.v1 use the [translate] model,
                                      # or model = "dir" with src_lang / tgt_lang)

    [executor]                        # optional: run translate and project on Ray
    executor = "ray"                  # default "local"; ray_address, workers, gpus_per_worker,
    workers = 2                       # cpus_per_worker, staging, shard_size, max_retries ...
    # [translate.executor] / [project.executor] override it for one stage

    [filter]
    filters = ["length-ratio.v1", "projection-complete.v1"]
    "length-ratio.v1" = { max = 2.5 } # options per filter

    [[export]]
    format = "hf"                     # one config per target language
    path = "hf"
    license = "cc-by-4.0"

    [report]
    html = "report-{lang}.html"

Relative input paths (and a local model directory) are relative to the pipeline file; exports and
reports to ``out_dir`` (itself relative to the pipeline file). The store is found as by every
other command: ``--db`` > ``WORKBENCH_DB`` > ``[pipeline] db`` > ``workbench.duckdb`` in the working
directory (:func:`~workbench.pipeline.config.store_path`). Every stage stores a version. A stage whose result is already stored
(same signature, same inputs) is skipped, so re-running a finished pipeline does nothing and
re-running a crashed one resumes where it stopped (the translate stage resumes a half-done
translation from its cache). Stages are called through :data:`STAGES`, a table of hooks that
hold the stage functions; a stage missing from this build is a clear :class:`ConfigError` before
anything runs.
"""

from workbench.pipeline.config import Pipeline, load_pipeline
from workbench.pipeline.run import PlanStep, run_pipeline
from workbench.pipeline.stages import STAGES, StageHook

__all__ = ["Pipeline", "PlanStep", "StageHook", "STAGES", "load_pipeline", "run_pipeline"]
