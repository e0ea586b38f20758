"""Running a pipeline: each versioned stage unless stored, then exports and reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError, ModelError
from workbench.core.signature import content_hash
from workbench.export.hub import HubExportOptions, export_key, read_marker
from workbench.export.stage import EXPORTERS, export
from workbench.pipeline.config import Pipeline, load_pipeline
from workbench.pipeline.stages import STAGES, call_with_options
from workbench.store.store import STAGING_PREFIXES, Store, Version, clean_stale_dirs

__all__ = ["PlanStep", "run_pipeline"]


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
    #: the file or directory an export or report step wrote (or would write, or found up to date)
    output: Path | None = None


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
                             call=lambda: call_with_options(
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
                self.emit(PlanStep("export", fmt, "skip", [v.ref for v in vs], f"{out} is up to date", out))
                return
            if not self.dry_run:
                export([v.ref for v in vs], out, format=fmt, store=self.store, **spec)
            self.emit(PlanStep("export", fmt, "run", [v.ref for v in vs], str(out), out))
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
            self.emit(PlanStep("export", f"{fmt} {label}", "run", [v.ref], str(out), out))

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
        self.emit(PlanStep("report", label, "run", [v.ref], str(out or ""), out))


def run_pipeline(
    path: str | Path,
    *,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    db: str | Path | None = None,
    init: bool = False,
    on_step: Callable[[PlanStep], None] | None = None,
) -> list[PlanStep]:
    """Run (or with ``dry_run`` only plan) the pipeline in ``path``; returns its steps.

    ``on_step(step)`` is called as each step is decided (the CLI prints it); ``init`` lets the
    store be a DuckDB database that holds other tables (:class:`~workbench.store.store.Store`).
    """
    pl = load_pipeline(path, out_dir=out_dir, db=db)
    store = Store(pl.db, init=init)
    if not dry_run:
        check_models(pl)  # before anything runs: not a failure after ingest
        # a run killed after a commit, before its cleanup, leaves its staging directory; the
        # stages clean such leftovers when they write, and a rerun that writes nothing would not
        for prefix in STAGING_PREFIXES:
            clean_stale_dirs(store.path.parent, prefix)
    steps = _Runner(pl, store, dry_run, on_step).run()
    if dry_run:
        check_models(pl)  # after the plan is shown: what a run would stop at
    return steps


def check_models(pl: Pipeline) -> None:
    """The models the pipeline's stages need are on this machine (a directory, a converted
    name, or the model cache); else the :class:`~workbench.core.errors.ModelError` that names
    the one-time ``workbench models convert`` command. Nothing is downloaded."""
    from workbench.mt.models import locate_model
    from workbench.project.build import MT_PROJECTORS
    from workbench.project.stage import project
    from workbench.translate.stage import translate

    needed = []
    if pl.translate and STAGES["translate"].function is translate:
        needed.append(("[translate] model", pl.translate["model"]))
    mt_projectors = [p for p in pl.projectors if p.startswith(MT_PROJECTORS)]
    if mt_projectors and STAGES["project"].function is project:
        model = pl.project_options.get("model") or (pl.translate or {}).get("model")
        if isinstance(model, str):
            needed.append((f"[project] model ({mt_projectors[0]})", model))
    for what, model in needed:
        try:
            locate_model(model)
        except ModelError as exc:
            raise ModelError(exc.message, where=f"{pl.path} {what}" if pl.path else what, fix=exc.fix) from None
