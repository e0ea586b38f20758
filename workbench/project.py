"""The project stage: put the source spans of a stored corpus onto its translations, or project a
labelled CoNLL file onto existing translations in a file.

On a store, the input is a translated version (whose parent holds the source examples with the same
ids); the output is a new version of the same corpus, stage ``"project"``, parents
``[input, source]``, with projected spans (``score``, ``source`` = source span index) and one
:class:`~workbench.records.SpanOutcome` per source span.

The MT-guided projectors (``markers.v1``, ``constrained.v1``) need the translation model. Given no
``translator``/``scorer`` object, the stage builds it (:func:`workbench.mt.load_mt`) from the
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import ConfigError, InputError, ModelError, StoreError
from workbench.records import Example, Span, SpanOutcome
from workbench.signature import Signature, content_hash
from workbench.store import Store, Version

if TYPE_CHECKING:
    from workbench.distributed import ExecutorOptions

__all__ = ["DEFAULT_PROJECTOR", "ProjectReport", "project", "project_files", "read_parallel",
           "make_projector"]

#: the offline default: statistical alignment, no pretrained model needed
DEFAULT_PROJECTOR = "align.eflomal.v1"
#: projector name prefixes that need a translation model (``model=`` or a translator/scorer object)
MT_PROJECTORS = ("markers.", "constrained.")
#: options of the MT model (not of the projector): read by :func:`make_projector`
MT_MODEL_OPTIONS = ("model", "family", "src_lang", "tgt_lang", "device", "compute_type", "beam_size",
                    "max_decoding_length", "inter_threads", "intra_threads", "max_batch_size")
#: translate-stage meta describing the translation that ``markers.v1`` replaces
_CLEAN_META = ("mt_score", "mt_avg_logprob", "mt_token_logprobs", "mt_split")


@dataclass
class ProjectReport:
    """Counts of a projection run: outcomes per kind, and per reason for dropped spans."""

    examples: int = 0
    spans: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    version: Version | None = None

    def add(self, outcome: str, reason: str) -> None:
        self.spans += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome != "projected" and reason:
            key = reason.split(" of source span")[0]
            self.reasons[key] = self.reasons.get(key, 0) + 1


def make_projector(name: str | None = None, options: dict[str, Any] | None = None,
                   extra: Sequence[tuple[Sequence[str], Sequence[str]]] = ()) -> Any:
    """A registered projector by name (default :data:`DEFAULT_PROJECTOR`) with options."""
    import projectors

    name = name or DEFAULT_PROJECTOR
    opts = dict(options or {})
    if name.startswith(MT_PROJECTORS):
        opts = _with_mt_model(name, opts)
    if extra:
        if not name.startswith("align.eflomal"):
            raise ConfigError(f"extra parallel text is used only by statistical aligners, not {name}",
                              fix="drop --align-corpus or use --projector align.eflomal.v1")
        opts["extra"] = list(extra)
    try:
        return projectors.get(name, **opts)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), fix="pick a registered projector") from None
    except TypeError as exc:
        raise ConfigError(f"bad option for projector {name}: {exc}",
                          fix="check the --option names (see the projector's documentation)") from None
    except ValueError as exc:
        from projectors.mtbase import VocabularyError

        if isinstance(exc, VocabularyError):  # markers the model cannot write
            raise ModelError(str(exc), fix="use markers the model knows, or another projector") from None
        raise ConfigError(f"bad option for projector {name}: {exc}",
                          fix="check the --option values (see the projector's documentation)") from None


def _with_mt_model(name: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Projector options with ``translator``/``scorer`` built from the MT model options."""
    key = "translator" if name.startswith("markers.") else "scorer"
    if opts.get(key) is not None:
        return opts
    mopts = {k: opts.pop(k) for k in MT_MODEL_OPTIONS if k in opts}
    model = mopts.pop("model", None)
    if not model:
        raise ConfigError(f"projector {name} needs the translation model",
                          fix="project a version made by workbench translate (its model is used), or "
                              "pass --option model=DIR --option src_lang=en --option tgt_lang=de")
    missing = [k for k in ("src_lang", "tgt_lang") if not mopts.get(k)]
    if missing:
        raise ConfigError(f"projector {name}: no {' / '.join(missing)} for model {model}",
                          fix="pass --option src_lang=en --option tgt_lang=de")
    from workbench.mt import load_mt

    src, tgt, family = mopts.pop("src_lang"), mopts.pop("tgt_lang"), mopts.pop("family", None)
    if mopts.get("device", "auto") == "auto" or mopts.get("compute_type", "auto") == "auto":
        from workbench.translate import TranslateOptions, resolve_device

        dev, ct, _, _ = resolve_device(TranslateOptions(device=mopts.get("device", "auto"),
                                                        compute_type=mopts.get("compute_type", "auto")))
        mopts["device"], mopts["compute_type"] = dev, ct
    opts[key] = load_mt(str(model), src_lang=str(src), tgt_lang=str(tgt), family=family, **mopts)
    return opts


def _translate_ancestor(store: Store, v: Version) -> Version | None:
    """``v`` or its nearest first-parent ancestor made by the translate stage."""
    by_id: dict[int, Version] | None = None
    seen: set[int] = set()
    cur: Version | None = v
    while cur is not None and cur.id not in seen:
        if cur.stage == "translate":
            return cur
        seen.add(cur.id)
        if not cur.parents:
            return None
        by_id = by_id or {x.id: x for x in store.versions()}
        cur = by_id.get(cur.parents[0])
    return None


def _mt_defaults(name: str, opts: dict[str, Any], store: Store, v: Version, src_v: Version) -> dict[str, Any]:
    """MT model options of ``name`` completed from the translate version ``v`` descends from."""
    if opts.get("translator") is not None or opts.get("scorer") is not None:
        return opts
    out = dict(opts)
    tv = _translate_ancestor(store, v)
    tp = tv.params if tv is not None else {}
    if not out.get("model"):
        if not tp.get("model_path"):
            raise ConfigError(
                f"projector {name} needs the translation model, and {v.ref} was not made by "
                "workbench translate (no model recorded)",
                fix="pass --option model=DIR (a CTranslate2 model, source -> target language; "
                    "src_lang / tgt_lang default to the versions' languages)", where=v.ref)
        out["model"] = tp["model_path"]
        if tp.get("family"):
            out.setdefault("family", tp["family"])
        for k in ("beam_size", "max_decoding_length"):
            if k in tp:
                out.setdefault(k, tp[k])
        if tp.get("compute_type") and "compute_type" not in out:
            from workbench.translate import TranslateOptions, resolve_device

            # the translate stage's compute type when this runs on the same kind of device
            dev = resolve_device(TranslateOptions(device=out.get("device", "auto")))[0]
            if dev == tp.get("device"):
                out["device"], out["compute_type"] = dev, tp["compute_type"]
    out.setdefault("src_lang", tp.get("src_lang") or src_v.lang)
    out.setdefault("tgt_lang", tp.get("tgt_lang") or v.lang)
    return out


def _pairs_and_projections(projector: Any, srcs: Sequence[Example], tgts: Sequence[Example]) -> list[Any]:
    from projectors.base import Pair

    pairs = [
        Pair(
            src_tokens=s.tokens, tgt_tokens=t.tokens,
            spans=[(sp.token_start, sp.token_end, sp.label) for sp in s.spans],
            src_text=s.text, tgt_text=t.text, src_offsets=list(s.offsets), tgt_offsets=list(t.offsets),
        )
        for s, t in zip(srcs, tgts, strict=True)
    ]
    from projectors.mtbase import VocabularyError

    try:
        return projector.project(pairs)
    except (OSError, ImportError) as exc:
        raise ModelError(str(exc), fix="install the aligner (pip install 'workbench[align]') or "
                         "give a local model directory") from None
    except VocabularyError as exc:  # e.g. typed markers <LABEL> the model cannot write
        raise ModelError(str(exc), fix="use markers the model knows (typed=false), or another "
                         "projector") from None


def _apply(tgt: Example, src: Example, proj: Any, name: str, report: ProjectReport) -> Example:
    text, offsets = tgt.text, list(tgt.offsets)
    replaced = proj.tgt_text is not None and proj.tgt_offsets is not None
    if replaced:
        text, offsets = proj.tgt_text, list(proj.tgt_offsets)
    spans, outcomes = [], []
    for ps in sorted(proj.spans, key=lambda p: p.source):
        outcome, reason = ps.outcome, ps.reason
        if outcome in ("projected", "fallback") and not (0 <= ps.token_start < ps.token_end <= len(offsets)):
            outcome, reason = "dropped", f"projector returned tokens {ps.token_start}-{ps.token_end} out of range"
        if outcome in ("projected", "fallback"):
            spans.append(Span(offsets[ps.token_start][0], offsets[ps.token_end - 1][1], ps.label,
                              ps.token_start, ps.token_end, float(ps.score), ps.source))
        outcomes.append(SpanOutcome(ps.source, ps.label, outcome, reason, name,
                                    float(ps.score) if outcome != "dropped" else None))
        report.add(outcome, reason)
    # projected spans never overlap (projectors resolve overlaps); keep the stronger one if they do
    spans.sort(key=lambda s: (-(s.score or 0.0), s.start))
    kept: list[Span] = []
    for sp in spans:
        if all(sp.end <= k.start or sp.start >= k.end for k in kept):
            kept.append(sp)
    meta = dict(tgt.meta)
    meta.setdefault("src_text", src.text)
    if replaced:  # markers.v1: its own translation replaces the translate stage's (even when equal)
        meta["mt_text_replaced_by"] = name
        meta["mt_text_clean"] = tgt.text
        for k in _CLEAN_META:
            if k in meta:
                meta[f"{k}_clean"] = meta.pop(k)
    return Example(id=tgt.id, text=text, offsets=offsets, spans=sorted(kept, key=lambda s: s.start),
                   lang=tgt.lang, split=tgt.split, meta=meta, outcomes=outcomes)


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
        ref: the translated version (``corpus`` or ``corpus@N``).
        projector: registered projector name (default :data:`DEFAULT_PROJECTOR`).
        options: projector options (e.g. ``{"n_runs": 3}``).
        source: the version holding the labelled source examples (default: ``ref``'s first parent).
        extra: unlabelled parallel text for statistical aligners.
        batch_size: pairs projected together (statistical aligners see one batch at a time: larger
            batches give better statistics).
        force: project again even if a version with the same signature exists.
        report: filled with outcome counts when given.
        executor: :class:`~workbench.distributed.ExecutorOptions`; ``executor="ray"`` projects
            shards of ``shard_size`` pairs on Ray workers (one projector per worker). Same
            version as the local run for projectors that treat pairs independently (simalign);
            statistical aligners (eflomal) estimate their model per call,
            so each shard is one batch: use ``shard_size >= batch_size`` for the local result.
    """
    store = store or Store()
    report = report if report is not None else ProjectReport()
    v = store.resolve(ref)
    if source is None:
        if not v.parents:
            raise StoreError(f"{v.ref} has no parent version holding the source examples",
                             fix="pass the source version (--source-ref NAME@N)")
        by_id = {x.id: x for x in store.versions()}
        if v.parents[0] not in by_id:
            raise StoreError(f"parent {v.parents[0]} of {v.ref} is missing")
        src_v = by_id[v.parents[0]]
    else:
        src_v = store.resolve(source)
    name = projector or DEFAULT_PROJECTOR
    options = dict(options or {})
    if name.startswith(MT_PROJECTORS):
        options = _mt_defaults(name, options, store, v, src_v)
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
        from workbench.distributed_stages import project_sharded

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
        projs = _pairs_and_projections(proj, srcs, tgts)
        report.examples += len(tgts)
        return [_apply(t, s, p, proj.name, report) for t, s, p in zip(tgts, srcs, projs, strict=True)]

    out = store.write_version(batches(), corpus=v.corpus, stage="project", signature=sig,
                              parents=[v, src_v], params=params, lang=v.lang)
    report.version = out
    return out


def read_parallel(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """Unlabelled parallel text: ``source tokens ||| target tokens`` per line."""
    path = Path(path)
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        a, sep, b = line.partition("|||")
        if not sep:
            raise InputError("no ' ||| ' separator", where=f"{path}:{n}",
                             fix="write 'source tokens ||| target tokens' on each line")
        out.append((a.split(), b.split()))
    return out


def _read_targets(path: Path, fmt: str) -> list[list[str]]:
    if fmt == "auto":
        from workbench.load import _EXT

        fmt = "conll" if _EXT.get(path.suffix.lower()) == "conll" and path.suffix.lower() != ".txt" else "lines"
        if fmt == "lines":
            try:
                with path.open(encoding="utf-8") as fh:
                    fmt = "conll" if any("\t" in line for _, line in zip(range(200), fh, strict=False)) else "lines"
            except OSError:
                pass
    if fmt == "conll":
        return _conll_tokens(path)
    if fmt != "lines":
        raise ConfigError(f"unknown target format {fmt!r}", fix="use auto, lines or conll")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"invalid UTF-8 at byte {exc.start}", where=str(path),
                         fix="re-encode the file as UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.split() for line in lines]


def _conll_tokens(path: Path) -> list[list[str]]:
    """Token column of a CoNLL file (tags and other columns ignored)."""
    from workbench.load import _lines

    out: list[list[str]] = []
    cur: list[str] = []
    for _, line in _lines(path):
        stripped = line.strip()
        if not stripped:
            if cur:
                out.append(cur)
            cur = []
            continue
        if stripped.startswith("-DOCSTART-") or (not cur and stripped.startswith("#")):
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        cur.append(cols[1] if len(cols) > 2 and cols[0].isdigit() else cols[0])
    if cur:
        out.append(cur)
    return out


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
    from workbench.load import read_conll

    report = report if report is not None else ProjectReport()
    source, target, output = Path(source), Path(target), Path(output)
    srcs = list(read_conll(source, scheme=scheme))
    tgt_tokens = _read_targets(target, target_format)
    if len(srcs) != len(tgt_tokens):
        raise InputError(
            f"{len(srcs)} source sentences in {source} but {len(tgt_tokens)} target sentences",
            where=str(target), fix="give exactly one target sentence per source sentence, in order",
        )
    tgts = [Example.from_tokens(f"t{k}", toks) if toks else Example(id=f"t{k}", text="")
            for k, toks in enumerate(tgt_tokens)]
    proj = make_projector(projector, options, extra)
    projs = _pairs_and_projections(proj, srcs, tgts)
    out = [_apply(t, s, p, proj.name, report) for t, s, p in zip(tgts, srcs, projs, strict=True)]
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
