"""The two label-projection dev sets of ../shared/data, read once, and span F1 of a projector on them.

* ``europarl``: europarl-ner-dev, en -> de / es / it (400 sentences, PER/ORG/LOC/MISC);
* ``pud``: uner-pud-dev, en -> de / pt / ru / sv / zh (500 sentences, PER/ORG/LOC; zh is
  word-segmented Traditional Chinese with gold on words).

English gold spans are projected onto the other language's tokens and scored (exact span and label)
against that language's own gold. Used by bench/project_align.py; not a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from projectors.base import Pair, Projector  # noqa: E402

SETS = {"europarl": ("europarl-ner-dev", ("de", "es", "it")),
        "pud": ("uner-pud-dev", ("de", "pt", "ru", "sv", "zh"))}


def shared_data() -> Path:
    d = Path(os.environ.get("WORKBENCH_SHARED", ROOT.parent / "shared")) / "data"
    if not d.is_dir():
        print(f"SKIP bench: shared data not found at {d} (a user checkout has no ../shared; set "
              "WORKBENCH_SHARED)")
        sys.exit(0)
    return d


def read_set(d: Path, name: str) -> dict[str, list]:
    """``{lang: [Example, ...]}`` for English and every target language of dev set ``name``."""
    from workbench.core.records import RepairWarning
    from workbench.load import read_conll

    folder, langs = SETS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        return {lang: list(read_conll(d / folder / f"{lang}.conll")) for lang in ("en",) + langs}


def spans_of(ex) -> list[tuple[int, int, str]]:
    return [(x.token_start, x.token_end, x.label) for x in ex.spans]


def pairs_of(data: dict[str, list], lang: str) -> list[Pair]:
    return [Pair(s.tokens, t.tokens, spans_of(s)) for s, t in zip(data["en"], data[lang], strict=True)]


def f1(make: Callable[[], Projector], data: dict[str, list], lang: str) -> float:
    """Exact-span F1 (percent) of one fresh projector on ``lang`` of a dev set."""
    from workbench.project.evaluate import span_scores

    out = make().project(pairs_of(data, lang))
    pred = [[(p.token_start, p.token_end, p.label) for p in pr.spans if p.outcome == "projected"]
            for pr in out]
    return 100 * span_scores(pred, [spans_of(t) for t in data[lang]]).overall.f1


def table(make: Callable[[], Projector], sets: dict[str, dict[str, list]], repeats: int) -> dict:
    """``{set: {lang: [f1 of each repeat]}}``; repeats alternate over languages (noise spreads evenly)."""
    out: dict[str, dict[str, list[float]]] = {name: {} for name in sets}
    for _ in range(repeats):
        for name, data in sets.items():
            for lang in SETS[name][1]:
                out[name].setdefault(lang, []).append(f1(make, data, lang))
    return out


def cell(v: list[float]) -> str:
    """Mean and, in brackets, the spread (max - min) over the repeats."""
    return f"{statistics.mean(v):5.1f} [{max(v) - min(v):.1f}]"


def format_row(label: str, res: dict) -> str:
    parts = [f"{label:28s}"]
    for name, per in res.items():
        avg = statistics.mean(statistics.mean(v) for v in per.values())
        parts.append(f"| {name} " + " ".join(f"{lang} {cell(v)}" for lang, v in per.items())
                     + f"  avg {avg:5.1f}")
    return " ".join(parts)
