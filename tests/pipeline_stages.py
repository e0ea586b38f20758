"""Small stand-in stage functions for the pipeline tests, following the documented conventions
of the real stages (``project(ref, projector=, options=, store=) -> Version``,
``filter(ref, filters=[...], options=, store=) -> FilterRun``, ``build_report`` + ``write_html``).

They are real stages in miniature, not mocks: they read and write real versions. The projection
puts a source span on the target tokens identical to its tokens (first occurrence) and records
``projected`` or ``dropped`` for every span; the filter keeps examples with no dropped span.
The real stages live in workbench.project / workbench.filter / workbench.report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.records import Example, Span, SpanOutcome
from workbench.signature import Signature
from workbench.store import Store, Version

CALLS: list[tuple[str, str, dict[str, Any]]] = []


def lexical_project(ref: str, *, projector: str, store: Store, options: dict[str, Any] | None = None) -> Version:
    options = dict(options or {})
    CALLS.append(("project", ref, {"projector": projector, **options}))
    tv = store.resolve(ref)
    src_v = store.resolve(next(v for v in store.versions() if v.id == tv.parents[0]))
    src = {ex.id: ex for ex in store.examples(src_v)}
    delay = float(os.environ.get("WB_TEST_STAGE_DELAY", "0"))

    def gen():
        import time

        for ex in store.examples(tv):
            if delay:
                time.sleep(delay)
            s = src[ex.id]
            toks = ex.tokens
            spans, outcomes = [], []
            for k, sp in enumerate(s.spans):
                words = s.tokens[sp.token_start:sp.token_end]
                n = len(words)
                at = next((i for i in range(len(toks) - n + 1) if toks[i:i + n] == words), None)
                if at is None or any(x.token_start < at + n and at < x.token_end for x in spans):
                    outcomes.append(SpanOutcome(k, sp.label, "dropped", "no identical tokens", projector, 0.0))
                    continue
                spans.append(Span(ex.offsets[at][0], ex.offsets[at + n - 1][1], sp.label, at, at + n, 1.0, k))
                outcomes.append(SpanOutcome(k, sp.label, "projected", "", projector, 1.0))
            yield Example(ex.id, ex.text, ex.offsets, sorted(spans, key=lambda x: x.start), ex.lang,
                          ex.split, ex.meta, outcomes)

    sig = Signature("project").add("parent", f"{tv.ref}#{tv.signature_key}").add("projector", projector)
    sig.add("options", options or None)
    return store.write_version(gen(), corpus=tv.corpus, stage="project", signature=sig,
                               parents=[tv, src_v], lang=tv.lang, params={"projector": projector, **options})


def keep_complete(ref: str, *, filters: list[str], store: Store, options: dict[str, Any] | None = None) -> Any:
    """Returns an object with ``.version``, as workbench.filter.filter does."""
    from types import SimpleNamespace

    options = dict(options or {})
    CALLS.append(("filter", ref, {"filters": filters, **options}))
    v = store.resolve(ref)
    kept = (ex for ex in store.examples(v) if all(o.outcome != "dropped" for o in ex.outcomes))
    sig = Signature("filter").add("parent", f"{v.ref}#{v.signature_key}").add("filters", filters)
    sig.add("options", options or None)
    return SimpleNamespace(version=store.write_version(
        kept, corpus=v.corpus, stage="filter", signature=sig, parents=[v], lang=v.lang,
        params={"filters": filters, **options}))


def build_report(ref: str, *, store: Store, **options: Any) -> Version:
    CALLS.append(("report", ref, options))
    return store.resolve(ref)


def write_html(rep: Version, path: Path) -> None:
    Path(path).write_text(f"<html><body>{rep.ref}: {rep.n_examples} examples, {rep.n_spans} spans</body></html>")


def crashing_attach(ref: str, path: Any, *, tgt_lang: str, store: Store, **kw: Any) -> Version:
    """The real attach, but it crashes for the language named in ``WB_TEST_CRASH_ON``."""
    from workbench.attach import attach

    if os.environ.get("WB_TEST_CRASH_ON") == tgt_lang:
        raise RuntimeError(f"simulated crash while attaching {tgt_lang}")
    return attach(ref, path, tgt_lang=tgt_lang, store=store, **kw)


_QUICKSTART: dict[str, Any] = {}


def quickstart_once(tmp_path_factory: Any) -> dict[str, Any]:
    """Run examples/quickstart.toml once per test session (then once more: every stage skips).

    Stages missing from this build are stood in for (project: :func:`lexical_project`; filter:
    :func:`keep_complete`; report: :func:`build_report`). Returns ``out`` (the output
    directory), ``first`` and ``second`` (the steps of each run) and ``stand_ins``.
    """
    if _QUICKSTART:
        return _QUICKSTART
    from workbench.pipeline import STAGES, StageHook, run_pipeline

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("quickstart") / "out"
    subs = {"project": "lexical_project", "filter": "keep_complete", "report": "build_report"}
    stand_ins = {s for s in subs if not STAGES[s].available()}
    saved = dict(STAGES)
    try:
        for s in stand_ins:
            STAGES[s] = StageHook(s, "tests.pipeline_stages", subs[s])
        first = run_pipeline(root / "examples" / "quickstart.toml", out_dir=out)
        second = run_pipeline(root / "examples" / "quickstart.toml", out_dir=out)
    finally:
        STAGES.clear()
        STAGES.update(saved)
    _QUICKSTART.update(out=out, first=first, second=second, stand_ins=stand_ins)
    return _QUICKSTART


@dataclass
class TranslateOptions:
    """Options of the stand-in translate stage (the real one has a dataclass of this name)."""

    beam_size: int = 4
    suffix: str = ""


def translate(ref: str, *, model: str, src_lang: str, tgt_langs: list[str], store: Store,
              options: TranslateOptions) -> list[Version]:
    """Stand-in for workbench.translate.translate: 'translates' by copying the source text (plus
    ``options.suffix``), following the translate stage's conventions for versions and meta."""
    from workbench.records import tokenize

    CALLS.append(("translate", ref, {"model": model, "src_lang": src_lang, "tgt_langs": tgt_langs,
                                     "options": options}))
    src = store.resolve(ref)
    out = []
    for tgt in tgt_langs:
        def gen(tgt: str = tgt):
            for ex in store.examples(src):
                text = ex.text + options.suffix
                yield Example(ex.id, text, tokenize(text), [], tgt, ex.split,
                              {"src_text": ex.text, "src_lang": src_lang, "mt_score": -1.0,
                               "mt_avg_logprob": -0.1})

        sig = (Signature("translate").add("parent", f"{src.ref}#{src.signature_key}").add("model", model)
               .add("beam", options.beam_size).add("suffix", options.suffix or None).add("tgt", tgt))
        out.append(store.write_version(gen(), corpus=f"{src.corpus}.{tgt}", stage="translate", signature=sig,
                                       parents=[src], lang=tgt))
    return out
