"""Reading a pipeline file: its tables checked and resolved, stage options checked before anything runs."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError
from workbench.executors.options import ExecutorOptions
from workbench.export.stage import EXPORTERS
from workbench.filter.stage import filter_version
from workbench.pipeline.stages import STAGES
from workbench.project.stage import project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Pipeline", "load_pipeline", "stage_executors"]


_TABLES = {"pipeline", "source", "translate", "translations", "project", "filter", "export", "report",
           "executor"}


@dataclass
class Pipeline:
    """A parsed pipeline file. Paths are absolute.

    Attributes:
        name: pipeline name (default: the file's stem).
        out_dir: where exports and reports go (never the store).
        db: the store, by the rule every command follows (:func:`store_path`).
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
        path: the pipeline file.
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
    path: Path | None = None

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


def _norm(p: Path) -> Path:
    """``p`` without ``..`` parts (printed paths read as the user would write them)."""
    return Path(os.path.normpath(p))


def store_path(given: str | Path | None, in_file: Any, base: Path) -> Path:
    """The store of a pipeline run, by the rule every command follows: ``--db`` (``given``) >
    ``WORKBENCH_DB`` > ``[pipeline] db`` (relative to the pipeline file) > ``workbench.duckdb``
    in the working directory. So ``workbench versions`` after ``workbench run`` sees the run's
    versions with no option, as after ``workbench ingest``."""
    if given:
        return Path(given).absolute()
    if os.environ.get("WORKBENCH_DB"):
        return Path(os.environ["WORKBENCH_DB"]).absolute()
    if in_file is not None:
        if not isinstance(in_file, str) or not in_file:
            raise ConfigError(f"[pipeline] db must be a path, not {in_file!r}",
                              fix='e.g. db = "corpora.duckdb" (relative to the pipeline file)')
        return _norm(base / in_file)
    return Path("workbench.duckdb").absolute()


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
    out = _norm(Path(out_dir).absolute() if out_dir else base / pipe.get("out_dir", f"build/{p.stem}"))
    source = _table(raw, "source", where)
    for key in ("path", "name"):
        if not isinstance(source.get(key), str):
            raise ConfigError(f"[source] needs {key!r}", where=where,
                              fix='e.g. path = "data/sample-en.conll", name = "sample-en"')
    given_source = source["path"]
    src = base / given_source
    if not src.exists() and source.get("format") == "hf" and not Path(given_source).suffix:
        src = Path(given_source)  # a Hub dataset id, read by the hf reader as it is
    source["path"] = str(src)
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
        db=store_path(db, pipe.get("db"), base),
        source=source, translate=translate, translations=translations,
        projectors=list(projectors), project_options=proj, filters=list(filters),
        filter_options=filt, exports=[dict(e) for e in exports], report=report,
        executors=executors, base=base, path=p,
    )
    missing = [s for s in pl.stages() if not STAGES[s].available()]
    if missing:
        raise ConfigError(f"stage {missing[0]} is not available in this build", where=where,
                          fix=f"install a workbench with the {missing[0]} stage, or remove its section")
    _check_options(pl, proj_given="project" in raw, where=where)
    _check_keys(pl, where=where)
    _check_inputs(pl, given_source, where=where)
    return pl


def _keywords(fn: Any) -> set[str]:
    """The keyword arguments ``fn`` takes (its options), from its signature."""
    import inspect

    return {n for n, prm in inspect.signature(fn).parameters.items()
            if prm.kind is prm.KEYWORD_ONLY or (prm.kind is prm.POSITIONAL_OR_KEYWORD and prm.default is not prm.empty)}


def _no_unknown(section: str, keys: Any, valid: set[str], where: str) -> None:
    bad = sorted(set(keys) - valid)
    if bad:
        raise ConfigError(f"{section} has no key {bad[0]!r}" + (f" (nor {', '.join(map(repr, bad[1:]))})" if bad[1:] else ""),
                          where=where, fix=f"the keys of {section}: {', '.join(sorted(valid))}")


def _check_keys(pl: Pipeline, *, where: str) -> None:
    """Every key of every section is one its stage takes (from the stage's own options: the
    reader's keyword arguments, the translate options dataclass, the exporter's options, the
    report's), so a typo is an error before anything runs, never a key silently ignored."""
    from workbench.export.hub import HubExportOptions
    from workbench.load.registry import READERS, WRITERS, detect_format

    src = pl.source
    fmt = src.get("format")
    if fmt is None and Path(src["path"]).exists():
        fmt = detect_format(src["path"])
    if fmt in READERS:
        _no_unknown("[source]", src, {"path", "name", "lang", "format", "force"} | _keywords(READERS[fmt]), where)
    hook = STAGES["translate"]
    if pl.translate is not None and hook.options is not None:
        fields = set(getattr(hook.options, "__dataclass_fields__", {}))
        _no_unknown("[translate]", pl.translate, {"model", "targets", "src_lang"} | fields, where)
    for spec in pl.exports:
        fmt = spec["format"]
        opts = set(HubExportOptions.__dataclass_fields__) if fmt == "hf" else \
            _keywords(WRITERS[fmt]) if fmt in WRITERS else set()
        _no_unknown(f"[[export]] format = {fmt!r}", spec, {"format", "path"} | opts, where)
    report = STAGES["report"]
    if pl.report is not None and report.function is not None:
        _no_unknown("[report]", pl.report, {"html"} | (_keywords(report.function) - {"store", "ref2"}), where)


def _check_inputs(pl: Pipeline, given_source: str, *, where: str) -> None:
    """The input files exist (checked before anything runs, not when their stage comes)."""
    src = Path(pl.source["path"])
    if not src.exists() and (pl.source.get("format") != "hf" or src.is_absolute()):
        raise ConfigError(f"[source] path {given_source!r}: no such file or directory ({src})",
                          where=where, fix="check the path (relative to the pipeline file); a Hub "
                          'dataset id needs format = "hf"')
    for lang, f in pl.translations.items():
        if not f.is_file():
            raise ConfigError(f"[translations] {lang}: no such file ({f})", where=where,
                              fix="check the path (relative to the pipeline file)")


def _check_options(pl: Pipeline, *, proj_given: bool, where: str) -> None:
    """Stage options checked before anything runs (so a typo is not found after ingest and
    translate): the projectors and their options, the filters and theirs, export formats."""
    from workbench.filter.registry import get as get_filter
    from workbench.filter.stage import parse_options
    from workbench.project.build import MT_PROJECTORS, make_projector

    if proj_given and not pl.projectors:
        raise ConfigError("[project] names no projector", where=where,
                          fix='write projector = "align.eflomal.v2" (or projectors = [...]), or drop the section')
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
