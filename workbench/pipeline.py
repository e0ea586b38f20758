"""Declarative pipelines: ``workbench run PIPELINE.toml [--dry-run]``.

A pipeline file names a source, target languages (translated by a model, or translations that
already exist), projector(s), filters, exports and reports::

    [pipeline]
    name = "quickstart"
    out_dir = "../build/quickstart"   # the store, exports and reports go here

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
    projector = "align.eflomal.v1"    # or projectors = [...]; other keys are projector options
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

Relative input paths (and a local model directory) are relative to the pipeline file; outputs to
``out_dir`` (itself relative to the pipeline file). Every stage stores a version. A stage whose result is already stored
(same signature, same inputs) is skipped, so re-running a finished pipeline does nothing and
re-running a crashed one resumes where it stopped (the translate stage resumes a half-done
translation from its cache). Stages are called through :data:`STAGES`, a table of hooks that
hold the stage functions; a stage missing from this build is a clear :class:`ConfigError` before
anything runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError
from workbench.core.signature import Signature, content_hash
from workbench.executors.options import ExecutorOptions
from workbench.export.hub import HubExportOptions, export_key, read_marker
from workbench.export.stage import EXPORTERS, export
from workbench.filter.stage import filter_version
from workbench.load.ingest import ingest, ingest_signature
from workbench.project.stage import project
from workbench.report.build import build_report
from workbench.report.html import write_html
from workbench.store.store import Store, Version
from workbench.translate.attach import attach, attach_signature
from workbench.translate.options import TranslateOptions
from workbench.translate.stage import translate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Pipeline", "PlanStep", "StageHook", "STAGES", "load_pipeline", "run_pipeline"]

# -- configuration -------------------------------------------------------------------------------
_TABLES = {"pipeline", "source", "translate", "translations", "project", "filter", "export", "report",
           "executor"}


@dataclass
class Pipeline:
    """A parsed pipeline file. Paths are absolute.

    Attributes:
        name: pipeline name (default: the file's stem).
        out_dir: where the store (``workbench.duckdb``), exports and reports go.
        db: the store (default ``out_dir/workbench.duckdb``).
        source: ``path``, ``name``, ``lang``, ``format`` and reader options.
        translate: ``model``, ``targets``, ``src_lang`` and decoding options, or None.
        translations: language -> file of existing translations.
        projectors: projector names (empty: no projection stage); ``project_options`` for all.
        filters: filter names (empty: no filter stage); ``filter_options``.
        exports: each ``format``, ``path`` and exporter options.
        report: ``html`` path template (``{lang}``, ``{corpus}``), or None.
        executors: stage (``translate``, ``project``) -> its
            :class:`~workbench.executors.run.ExecutorOptions`, from ``[executor]`` and the
            stage's ``executor`` sub-table; a stage missing here runs locally. Executor options
            never change a version, so they are not part of a step's identity.
        base: the pipeline file's directory (relative paths start there).
    """

    name: str
    out_dir: Path
    db: Path
    source: dict[str, Any]
    translate: dict[str, Any] | None = None
    translations: dict[str, Path] = field(default_factory=dict)
    projectors: list[str] = field(default_factory=list)
    project_options: dict[str, Any] = field(default_factory=dict)
    filters: list[str] = field(default_factory=list)
    filter_options: dict[str, Any] = field(default_factory=dict)
    exports: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] | None = None
    executors: dict[str, Any] = field(default_factory=dict)
    base: Path = Path(".")

    def stages(self) -> list[str]:
        """Names of the stages this pipeline uses, in order."""
        out = ["ingest"]
        out += ["translate"] if self.translate else []
        out += ["attach"] if self.translations else []
        out += ["project"] if self.projectors else []
        out += ["filter"] if self.filters else []
        out += ["export"] if self.exports else []
        out += ["report"] if self.report else []
        return out


def _table(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    val = raw.get(key, {})
    if not isinstance(val, dict):
        raise ConfigError(f"[{key}] must be a table", where=where)
    return dict(val)


def load_pipeline(path: str | Path, *, out_dir: str | Path | None = None,
                  db: str | Path | None = None) -> Pipeline:
    """Parse and check a pipeline file; ``out_dir``/``db`` override the file's."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the pipeline file: {exc.strerror}", where=str(p),
                          fix="check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=str(p), fix="fix the syntax") from None
    where = str(p)
    unknown = set(raw) - _TABLES
    if unknown:
        raise ConfigError(f"unknown section(s) {sorted(unknown)}", where=where,
                          fix=f"sections are {sorted(_TABLES)}")
    base = p.resolve().parent
    pipe = _table(raw, "pipeline", where)
    bad = set(pipe) - {"name", "out_dir", "db"}
    if bad:
        raise ConfigError(f"unknown [pipeline] keys {sorted(bad)}", where=where, fix="use name, out_dir, db")
    out = Path(out_dir) if out_dir else base / pipe.get("out_dir", f"build/{p.stem}")
    source = _table(raw, "source", where)
    for key in ("path", "name"):
        if not isinstance(source.get(key), str):
            raise ConfigError(f"[source] needs {key!r}", where=where,
                              fix='e.g. path = "data/sample-en.conll", name = "sample-en"')
    source["path"] = str(base / source["path"])
    translate = _table(raw, "translate", where) or None
    if translate is not None:
        if not isinstance(translate.get("model"), str) or not translate.get("targets"):
            raise ConfigError("[translate] needs model and targets", where=where,
                              fix='e.g. model = "Helsinki-NLP/opus-mt-en-de", targets = ["de"]')
        if (base / translate["model"]).exists():  # a local model directory, relative to the file
            translate["model"] = str(base / translate["model"])
        if isinstance(translate["targets"], str):
            translate["targets"] = [t for t in translate["targets"].split(",") if t]
    translations = {lang: base / f for lang, f in _table(raw, "translations", where).items()}
    both = sorted(set(translations) & set((translate or {}).get("targets") or []))
    if both:
        raise ConfigError(f"{both[0]} is both translated and given as [translations]", where=where,
                          fix="keep one of the two for each language")
    if not translate and not translations:
        raise ConfigError("no target languages", where=where,
                          fix="add a [translate] section (model, targets) or [translations] (lang = file)")
    proj = _table(raw, "project", where)
    projectors = proj.pop("projectors", None) or ([proj.pop("projector")] if "projector" in proj else [])
    if isinstance(proj.get("model"), str) and (base / proj["model"]).exists():
        proj["model"] = str(base / proj["model"])  # markers.v1/constrained.v1: a local model directory
    filt = _table(raw, "filter", where)
    filters = filt.pop("filters", None) or []
    exports = raw.get("export", [])
    if isinstance(exports, dict):
        exports = [exports]
    for e in exports:
        if "format" not in e or "path" not in e:
            raise ConfigError("each [[export]] needs format and path", where=where,
                              fix='e.g. format = "hf", path = "hf"')
    report = _table(raw, "report", where) or None
    executors = stage_executors(_table(raw, "executor", where),
                                {"translate": translate or {}, "project": proj}, out, where)
    pl = Pipeline(
        name=pipe.get("name", p.stem), out_dir=out,
        db=Path(db) if db else out / pipe.get("db", "workbench.duckdb"),
        source=source, translate=translate, translations=translations,
        projectors=list(projectors), project_options=proj, filters=list(filters),
        filter_options=filt, exports=[dict(e) for e in exports], report=report,
        executors=executors, base=base,
    )
    missing = [s for s in pl.stages() if not STAGES[s].available()]
    if missing:
        raise ConfigError(f"stage {missing[0]} is not available in this build", where=where,
                          fix=f"install a workbench with the {missing[0]} stage, or remove its section")
    _check_options(pl, proj_given="project" in raw, where=where)
    return pl


def _check_options(pl: Pipeline, *, proj_given: bool, where: str) -> None:
    """Stage options checked before anything runs (so a typo is not found after ingest and
    translate): the projectors and their options, the filters and theirs, export formats."""
    from workbench.filter.registry import get as get_filter
    from workbench.filter.stage import parse_options
    from workbench.project.build import MT_PROJECTORS, make_projector

    if proj_given and not pl.projectors:
        raise ConfigError("[project] names no projector", where=where,
                          fix='write projector = "align.eflomal.v1" (or projectors = [...]), or drop the section')
    if STAGES["project"].function is project:  # the real stage: its projectors are known here
        for name in pl.projectors:
            if not name.startswith(MT_PROJECTORS):  # MT-guided ones need the translate model
                try:
                    make_projector(name, pl.project_options)
                except ConfigError as exc:
                    raise ConfigError(exc.message, where=f"{where} [project]", fix=exc.fix) from None
    if pl.filters and STAGES["filter"].function is filter_version:
        try:
            opts = parse_options(pl.filters, pl.filter_options)
            for name in pl.filters:
                get_filter(name, **opts[name])
        except ConfigError as exc:
            raise ConfigError(exc.message, where=f"{where} [filter]", fix=exc.fix) from None
    for spec in pl.exports:
        if spec["format"] not in EXPORTERS:
            raise ConfigError(f"unknown export format {spec['format']!r}", where=f"{where} [[export]]",
                              fix=f"use one of {sorted(EXPORTERS)}")


def stage_executors(common: dict[str, Any], stages: dict[str, dict[str, Any]], out_dir: Path,
                    where: str) -> dict[str, ExecutorOptions]:
    """ExecutorOptions per stage: ``[executor]`` updated by ``[STAGE.executor]`` (popped from
    the stage's table); a relative local ``staging`` directory is relative to ``out_dir``."""
    from pathlib import Path

    from workbench.core.errors import ConfigError
    from workbench.executors.options import ExecutorOptions

    found: dict[str, Any] = {}
    for stage in ("translate", "project"):
        own = stages[stage].pop("executor", None) or {}
        if not isinstance(own, dict):
            raise ConfigError(f"[{stage}] executor must be a table", where=where,
                              fix=f'write [{stage}.executor] with executor = "ray", workers = 2, ...')
        merged = {**common, **own}
        if not merged:
            continue
        opts = ExecutorOptions.from_mapping(merged, where=f"{where} [{stage}.executor]")
        if opts.staging and "://" not in opts.staging and not Path(opts.staging).is_absolute():
            opts.staging = str(Path(out_dir) / opts.staging)
        found[stage] = opts
    return found


# -- stage hooks ---------------------------------------------------------------------------------
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


def _call_with_options(hook: StageHook, ref: str, options: dict[str, Any], **kwargs: Any) -> Any:
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


def _fingerprint(path: Path) -> str | None:
    """Names, sizes and times of the files under a local model directory (None for a Hub id),
    so that a model converted again in place makes the translate step run again."""
    try:
        if not path.is_dir():
            return None
        return content_hash(sorted((str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
                                   for f in path.rglob("*") if f.is_file()
                                   and not f.name.startswith(".")))  # e.g. the content-hash memo
    except OSError:
        return None


def _ref(v: Version | None) -> str:
    return v.ref if v is not None else ""


def _versions(out: Any) -> list[Version]:
    """The versions a stage function returned (Version, ``.version`` holder, or a list)."""
    items = out if isinstance(out, (list, tuple)) else [out]
    vs = [x if isinstance(x, Version) else getattr(x, "version", None) for x in items]
    if not vs or any(not isinstance(v, Version) for v in vs):
        raise ConfigError(f"a stage returned {type(out).__name__}, not stored versions",
                          fix="stage functions return a Version (or an object with .version)")
    return vs  # type: ignore[return-value]


# -- running -------------------------------------------------------------------------------------
@dataclass
class PlanStep:
    """One step of a run: what ran (or would run) and what it made.

    ``status`` is ``run`` (ran, or would run under ``--dry-run``), ``skip`` (already stored)
    or ``pending`` (dry run: its inputs do not exist yet, so it would run after them).
    """

    stage: str
    target: str
    status: str
    refs: list[str] = field(default_factory=list)
    detail: str = ""


def _step_key(stage: str, inputs: Sequence[Version], opts: dict[str, Any]) -> str:
    return content_hash(stage, [v.signature_key for v in inputs], opts, length=20)


def _recorded(store: Store, key: str) -> list[Version] | None:
    if not store.path.exists():
        return None
    with store.connect() as con:
        has = con.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_name='pipeline_steps' AND table_catalog = current_database()").fetchone()[0]  # type: ignore[index]
        if not has:
            return None
        ids = [r[0] for r in con.execute(
            "SELECT version_id FROM pipeline_steps WHERE step_key=? ORDER BY position", [key]).fetchall()]
    if not ids:
        return None
    by_id = {v.id: v for v in store.versions()}
    return [by_id[i] for i in ids if i in by_id] or None


def _record(store: Store, key: str, stage: str, versions: Sequence[Version]) -> None:
    with store.connect(read_only=False) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM pipeline_steps WHERE step_key=?", [key])
        for i, v in enumerate(versions):
            con.execute("INSERT INTO pipeline_steps VALUES (?,?,?,?,?)", [key, i, v.id, stage, datetime.now()])
        con.execute("COMMIT")


class _Runner:
    def __init__(self, pl: Pipeline, store: Store, dry_run: bool,
                 on_step: Callable[[PlanStep], None] | None) -> None:
        self.pl, self.store, self.dry_run, self.on_step = pl, store, dry_run, on_step
        self.steps: list[PlanStep] = []

    def emit(self, step: PlanStep) -> None:
        self.steps.append(step)
        if self.on_step:
            self.on_step(step)

    def _executor(self, stage: str) -> dict[str, Any]:
        opts = self.pl.executors.get(stage)
        return {"executor": opts} if opts is not None else {}

    def step(self, stage: str, target: str, inputs: list[Version] | None, opts: dict[str, Any],
             call: Callable[[], Version | list[Version]], corpus: str | None = None) -> list[Version] | None:
        """Run one versioned stage unless stored; None when (dry run) its inputs do not exist."""
        if inputs is None:
            self.emit(PlanStep(stage, target, "pending", detail="after the steps it depends on"))
            return None
        hook = STAGES[stage]
        key = _step_key(stage, inputs, opts)
        found: list[Version] | None = None
        sig = hook.signature(self.store, inputs, opts) if hook.signature else None
        if sig is not None:
            v = next((x for x in reversed(self.store.versions(corpus)) if x.signature_key == sig.key()), None)
            found = [v] if v else None
        else:  # the stage cannot tell its signature: what this step stored last time
            found = _recorded(self.store, key)
        if found:
            self.emit(PlanStep(stage, target, "skip", [v.ref for v in found], "already stored"))
            return found
        if self.dry_run:
            self.emit(PlanStep(stage, target, "run"))
            return None
        made = _versions(call())
        _record(self.store, key, stage, made)
        self.emit(PlanStep(stage, target, "run", [v.ref for v in made]))
        return made

    def run(self) -> list[PlanStep]:
        pl, store = self.pl, self.store
        src = dict(pl.source)
        src_opts = {k: v for k, v in src.items() if k not in ("path", "name")}
        got = self.step("ingest", src["name"], [], src, corpus=src["name"],
                        call=lambda: STAGES["ingest"].load()(src["path"], name=src["name"], store=store, **src_opts))
        source = got[0] if got else None
        src_ref = source.ref if source else ""  # only used by steps that run, i.e. after ingest
        src_lang = src.get("lang", "")
        targets: list[tuple[str, Version | None]] = []
        if pl.translate:
            t = dict(pl.translate)
            model, langs = t.pop("model"), list(t.pop("targets"))
            sl = t.pop("src_lang", src_lang)
            made = self.step("translate", ",".join(langs), [source] if source else None,
                             {"model": model, "model_files": _fingerprint(Path(model)),
                              "src_lang": sl, "tgt_langs": langs, **t},
                             call=lambda: _call_with_options(
                                 STAGES["translate"], src_ref, t,
                                 model=model, src_lang=sl, tgt_langs=langs, store=store,
                                 **self._executor("translate")))
            if made and len(made) != len(langs):
                raise ConfigError(f"translate made {len(made)} versions for {len(langs)} targets")
            targets += [(lang, made[i] if made else None) for i, lang in enumerate(langs)]
        for lang, path in pl.translations.items():
            opts = {"path": str(path), "tgt_lang": lang}
            got = self.step("attach", lang, [source] if source else None, opts, corpus=None,
                            call=lambda p=path, lg=lang: STAGES["attach"].load()(
                                src_ref, p, tgt_lang=lg, store=store))
            targets.append((lang, got[0] if got else None))
        finals: list[tuple[str, Version | None]] = []
        for lang, tv in targets:
            for proj in pl.projectors or [None]:
                v = tv
                label = lang if len(pl.projectors) <= 1 else f"{lang}/{proj}"
                if proj is not None:
                    popts = dict(pl.project_options)
                    key_opts = {"projector": proj, **popts}
                    if isinstance(popts.get("model"), str):  # changed in place: project again
                        key_opts["model_files"] = _fingerprint(Path(popts["model"]))
                    got = self.step("project", label, [v] if v else None, key_opts,
                                    call=lambda r=_ref(v), proj=proj, popts=popts: STAGES["project"].load()(
                                        r, projector=proj, options=popts, store=store,
                                        **self._executor("project")))
                    v = got[0] if got else None
                if pl.filters:
                    fopts = dict(pl.filter_options)
                    got = self.step("filter", label, [v] if v else None, {"filters": pl.filters, **fopts},
                                    call=lambda r=_ref(v), fopts=fopts: STAGES["filter"].load()(
                                        r, filters=list(pl.filters), options=fopts, store=store))
                    v = got[0] if got else None
                finals.append((label.replace("/", "."), v))
        for spec in pl.exports:
            self.export(spec, finals)
        if pl.report:
            for label, v in finals:
                self.report(label, v)
        return self.steps

    def _out(self, template: str, **fields: str) -> Path:
        try:
            return self.pl.out_dir / template.format(**fields)
        except (KeyError, IndexError) as exc:
            raise ConfigError(f"unknown field {exc} in path {template!r}",
                              fix="paths may use {lang} and {corpus}") from None

    def export(self, spec: dict[str, Any], finals: list[tuple[str, Version | None]]) -> None:
        from workbench.export.stage import export

        spec = dict(spec)
        fmt, template = spec.pop("format"), spec.pop("path")
        if fmt not in EXPORTERS:
            raise ConfigError(f"unknown export format {fmt!r}", fix=f"use one of {sorted(EXPORTERS)}")
        if any(v is None for _, v in finals):
            self.emit(PlanStep("export", fmt, "pending", detail=str(self._out(template, lang="*", corpus="*"))))
            return
        vs = [v for _, v in finals if v is not None]
        if getattr(EXPORTERS[fmt], "multi", False):
            out = self._out(template, lang="+".join(lbl for lbl, _ in finals), corpus=vs[0].corpus)
            spec.setdefault("config_names", [lbl for lbl, _ in finals])
            marker = read_marker(out)
            if marker and marker.get("key") == export_key(vs, HubExportOptions(**spec)):
                self.emit(PlanStep("export", fmt, "skip", [v.ref for v in vs], f"{out} is up to date"))
                return
            if not self.dry_run:
                export([v.ref for v in vs], out, format=fmt, store=self.store, **spec)
            self.emit(PlanStep("export", fmt, "run", [v.ref for v in vs], str(out)))
            return
        for label, v in finals:
            assert v is not None
            out = self._out(template, lang=label, corpus=v.corpus)
            if len(finals) > 1 and "{" not in template:
                raise ConfigError(f"export path {template!r} is the same for every language",
                                  fix="put {lang} in the path")
            if not self.dry_run:
                out.parent.mkdir(parents=True, exist_ok=True)
                export(v.ref, out, format=fmt, store=self.store, **spec)
            self.emit(PlanStep("export", f"{fmt} {label}", "run", [v.ref], str(out)))

    def report(self, label: str, v: Version | None) -> None:
        spec = dict(self.pl.report or {})
        html = spec.pop("html", None)
        if v is None:
            self.emit(PlanStep("report", label, "pending"))
            return
        out = self._out(html, lang=label, corpus=v.corpus) if html else None
        if not self.dry_run:
            hook = STAGES["report"]
            rep = hook.load()(v.ref, store=self.store, **spec)
            if out is not None and hook.write is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                hook.write(rep, out)
        self.emit(PlanStep("report", label, "run", [v.ref], str(out or "")))


def run_pipeline(
    path: str | Path,
    *,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    db: str | Path | None = None,
    on_step: Callable[[PlanStep], None] | None = None,
) -> list[PlanStep]:
    """Run (or with ``dry_run`` only plan) the pipeline in ``path``; returns its steps.

    ``on_step(step)`` is called as each step is decided (the CLI prints it).
    """
    pl = load_pipeline(path, out_dir=out_dir, db=db)
    store = Store(pl.db)
    return _Runner(pl, store, dry_run, on_step).run()
