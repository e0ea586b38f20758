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

from workbench.core.records import Example, Span, SpanOutcome
from workbench.core.signature import Signature
from workbench.store.store import Store, Version

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
    """Returns an object with ``.version``, as workbench.filter.filter_version does."""
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
    from workbench.translate.attach import attach

    if os.environ.get("WB_TEST_CRASH_ON") == tgt_lang:
        raise RuntimeError(f"simulated crash while attaching {tgt_lang}")
    return attach(ref, path, tgt_lang=tgt_lang, store=store, **kw)


_QUICKSTART: dict[str, Any] = {}


def fresh_checkout(dest: Path) -> Path:
    """Copy the files git tracks in this repository (a fresh checkout, without build outputs,
    caches or untracked files) to ``dest``; outside a git checkout, the package, examples and data."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        files = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True,
                               timeout=30).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        files = [str(f.relative_to(root)) for d in ("workbench", "projectors", "examples", "data")
                 for f in (root / d).rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    for name in filter(None, files):
        if (root / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)
    return dest


def offline_command() -> list[str]:
    """``unshare -rn`` (a new network namespace: no network at all) where this machine allows it,
    else nothing (the offline switches of the Hugging Face libraries still apply)."""
    import subprocess

    try:
        ok = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return ["unshare", "-rn"] if ok else []


def _steps(stdout: str) -> list[Any]:
    """The steps ``workbench run`` printed (``STATUS STAGE TARGET REFS...`` lines)."""
    from workbench.pipeline import PlanStep

    out = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("run", "skip", "pending"):
            out.append(PlanStep(parts[1], parts[2], parts[0], parts[3:]))
    return out


def quickstart_once(tmp_path_factory: Any) -> dict[str, Any]:
    """Run ``workbench run examples/quickstart.toml`` once per test session as a user would on a
    fresh machine: in a fresh checkout of the repository (tracked files only), offline (no
    network namespace where possible, the Hugging Face offline switches, an empty home and model
    cache), then once more (every versioned stage skips).

    Returns ``out`` (the output directory, ``build/quickstart`` of the checkout), ``first`` and
    ``second`` (the steps each run printed), ``checkout``, ``env`` and ``home``.
    """
    if _QUICKSTART:
        return _QUICKSTART
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("quickstart")
    checkout = fresh_checkout(base / "checkout")
    home = base / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "HF_"))}
    env.update(PYTHONPATH=str(checkout), HOME=str(home), WORKBENCH_HOME=str(home / "models"),
               HF_HOME=str(home / "hf"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", COLUMNS="200", NO_COLOR="1")
    cmd = [*offline_command(), sys.executable, "-m", "workbench", "run", "examples/quickstart.toml"]
    runs = []
    for _ in range(2):
        r = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"workbench run failed:\n{r.stdout}\n{r.stderr}"
        runs.append(_steps(r.stdout))
    _QUICKSTART.update(out=checkout / "build" / "quickstart", first=runs[0], second=runs[1],
                       checkout=checkout, env=env, home=home)
    return _QUICKSTART


@dataclass
class TranslateOptions:
    """Options of the stand-in translate stage (the real one has a dataclass of this name)."""

    beam_size: int = 4
    suffix: str = ""


def translate(ref: str, *, model: str, src_lang: str, tgt_langs: list[str], store: Store,
              options: TranslateOptions) -> list[Version]:
    """Stand-in for workbench.translate.stage.translate: 'translates' by copying the source text (plus
    ``options.suffix``), following the translate stage's conventions for versions and meta."""
    from workbench.core.records import tokenize

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
