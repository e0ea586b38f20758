"""The project stage: put the source spans of a stored corpus onto its translations (here or on
shards: :mod:`workbench.project.sharded`; files: :mod:`workbench.project.files`).

On a store, the input is a translated version (whose parent holds the source examples with the same
ids); the output is a new version of the same corpus, stage ``"project"``, parents
``[input, source]``, with projected spans (``score``, ``source`` = source span index) and one
:class:`~workbench.core.records.SpanOutcome` per source span.

The MT-guided projectors (``markers.v1``, ``constrained.v1``) need the translation model. Given no
``translator``/``scorer`` object, the stage builds it (:func:`workbench.mt.ct2.load_mt`) from the
option ``model`` (a CTranslate2 directory or converted id), by default the model recorded by the
translate version the input descends from (its ``model_path``, ``family``, ``src_lang``,
``tgt_lang``, ``beam_size``, ``max_decoding_length``, ``compute_type``). The version stores the
model path in its params and ``name@content hash`` in its signature. ``markers.v1`` replaces the
translation by the clean text of the marked translation: ``meta["mt_text_replaced_by"]`` names the
projector, the translate stage's text and scores move to ``meta["mt_text_clean"]``,
``meta["mt_score_clean"]``, ... (``mt_score`` would describe another text).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from workbench.core.errors import InputError, StoreError
from workbench.core.records import Example
from workbench.core.signature import Signature, content_hash
from workbench.project.apply import ProjectReport, apply_projection, projections
from workbench.project.build import DEFAULT_PROJECTOR, MT_PROJECTORS, make_projector, mt_defaults
from workbench.project.sharded import project_sharded
from workbench.store.lineage import nearest, parent
from workbench.store.store import Store, Version

if TYPE_CHECKING:
    from workbench.executors.options import ExecutorOptions

__all__ = ["project"]


def _translation(store: Store, ref: str | Version) -> Version:
    """The translation ``ref`` means: the version itself when it is one (translate or attach);
    for a bare corpus name whose newest version was already projected or filtered, the
    translation it descends from. An explicit version that is not a translation is refused,
    naming the one to pass (projecting projected text again would project target spans onto it)."""
    v = store.resolve(ref)
    if v.stage == "translate" or not v.parents:
        return v
    tv = nearest(store, v, "translate")
    if tv is None:
        return v  # not made from a translation: the stage says what is missing
    if isinstance(ref, str) and "@" not in ref:
        return tv
    raise StoreError(f"{v.ref} is a {v.stage} version; the projection works on the translation it "
                     f"descends from, {tv.ref}", where=v.ref, fix=f"project {tv.ref} (or the corpus name "
                     f"{tv.corpus}), with --force to project it again")


def project(
    ref: str | Version,
    *,
    projector: str | None = None,
    options: dict[str, Any] | None = None,
    store: Store | None = None,
    source: str | Version | None = None,
    extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    batch_size: int = 50_000,
    force: bool = False,
    report: ProjectReport | None = None,
    executor: ExecutorOptions | None = None,
) -> Version:
    """Project the source spans onto the translations in ``ref``; returns the new version.

    Args:
        ref: the translated version (``corpus@N``; a bare ``corpus`` whose newest version is a
            projection or a filtered one means the translation they descend from).
        projector: registered projector name (default :data:`DEFAULT_PROJECTOR`).
        options: projector options (e.g. ``{"n_runs": 3}``).
        source: the version holding the labelled source examples (default: ``ref``'s first parent).
        extra: unlabelled parallel text for statistical aligners.
        batch_size: pairs projected together (statistical aligners see one batch at a time: larger
            batches give better statistics).
        force: project again even if a version with the same signature exists.
        report: filled with outcome counts when given.
        executor: :class:`~workbench.executors.run.ExecutorOptions`; ``executor="ray"`` projects
            shards of ``shard_size`` pairs on Ray workers (one projector per worker). Same
            version as the local run for projectors that treat pairs independently (simalign);
            statistical aligners (eflomal) estimate their model per call,
            so each shard is one batch: use ``shard_size >= batch_size`` for the local result.
    """
    store = store or Store()
    report = report if report is not None else ProjectReport()
    v = _translation(store, ref)
    if source is None:
        if not v.parents:
            raise StoreError(f"{v.ref} has no parent version holding the source examples",
                             fix="pass the source version (--source-ref NAME@N)")
        found = parent(store, v)
        if found is None:
            raise StoreError(f"parent {v.parents[0]} of {v.ref} is missing")
        src_v = found
    else:
        src_v = store.resolve(source)
    name = projector or DEFAULT_PROJECTOR
    options = dict(options or {})
    if name.startswith(MT_PROJECTORS):
        options = mt_defaults(name, options, store, v, src_v)
    proj = make_projector(name, options, extra)
    sig = Signature("project").add("parent", v.ref).add("source", src_v.ref)
    for k, val in proj.signature().items():
        sig.add(k, val)
    if extra:
        sig.add("extra_hash", content_hash([list(map(list, p)) for p in extra]))
    if not force:
        done = store.find(sig.key())
        if done is not None:
            report.version = done
            return done
    params = {"projector": proj.name, "options": options or {}, "source": src_v.ref}
    if executor is not None and executor.validate().executor != "local":
        out = project_sharded(store=store, version=v, source=src_v, projector=projector,
                              options=options, extra=extra, signature=sig, params=params,
                              executor=executor, report=report)
        report.version = out
        return out
    src_by_id: dict[str, Example] = {}
    for ex in store.examples(src_v):
        src_by_id[ex.id] = ex

    def batches() -> Iterator[list[Example]]:
        buf: list[Example] = []
        for tgt in store.examples(v):
            buf.append(tgt)
            if len(buf) >= batch_size:
                yield _project_some(buf)
                buf = []
        if buf:
            yield _project_some(buf)

    def _project_some(tgts: list[Example]) -> list[Example]:
        srcs = []
        for t in tgts:
            s = src_by_id.get(t.id)
            if s is None:
                raise InputError(f"no source example with id {t.id!r} in {src_v.ref}", where=v.ref,
                                 fix="project a translation of the source version (same example ids)")
            srcs.append(s)
        projs = projections(proj, srcs, tgts)
        report.examples += len(tgts)
        return [apply_projection(t, s, p, proj.name, report)
                for t, s, p in zip(tgts, srcs, projs, strict=True)]

    out = store.write_version(batches(), corpus=v.corpus, stage="project", signature=sig,
                              parents=[v, src_v], params=params, lang=v.lang, reuse=not force)
    report.version = out
    return out
