"""Translate-test back-projection: spans predicted on English translations -> original sentences.

Translate-test runs an English tagger on English translations of target-language test data; the
predicted spans must then be written on the *original* sentences. Every registered projector can
do it, with English as the source side and the original sentence as the (fixed) target:

- alignment projectors (``align.*``): align English <-> original and project, as for training data;
- ``constrained.v1``: the original sentence is the fixed translation; marker positions in it are
  searched with an English -> original-language model (CODEC's translate-test setting);
- ``markers.v1``: the marked English sentence is translated English -> original language, and each
  marked segment is located in the original sentence by exact, then fuzzy string match
  (``keep_target=True``); segments that cannot be found are dropped (or go to ``fallback``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError, InputError
from workbench.core.records import Example, Span, SpanOutcome
from workbench.load.registry import read
from workbench.load.text import lines
from workbench.project.apply import run_projector
from workbench.project.build import make_projector

__all__ = ["back_projector", "project_back", "read_originals"]

def back_projector(name: str, options: dict[str, Any] | None = None, *, model: Any = None,
                   keep_target: bool = True) -> Any:
    """The projector ``name`` with ``options`` for back-projection
    (:func:`~workbench.project.build.make_projector`): ``model`` is the English -> original-language
    model of the MT-guided ones, and ``markers.v1`` keeps the original sentence (``keep_target``)."""
    options = dict(options or {})
    if name.startswith("markers."):
        options = {"keep_target": keep_target, **options}
    return make_projector(name, options, model=model)


def read_originals(path: str | Path, format: str | None = None, **options: Any) -> Iterator[Example]:
    """Original sentences: ``lines`` (one sentence per line, for ``.txt``), or any reader format
    (spans, if any, are ignored)."""
    p = Path(path)
    if format == "lines" or (format is None and p.suffix.lower() in (".txt", ".lines")):
        if not p.is_file():
            raise InputError("no such file", where=str(p), fix="check the path")
        for i, line in lines(p):
            yield Example.from_text(f"{p.stem}-{i}", line, where=f"{p}:{i}")
        return
    for ex in read(p, format=format, **options):
        yield Example(ex.id, ex.text, ex.offsets, [], ex.lang, ex.split, ex.meta)


def project_back(originals: Iterable[Example], english: Iterable[Example], projector: Any, *,
                 batch_size: int = 64) -> Iterator[Example]:
    """Yield each original sentence with the English spans projected onto it, in order.

    ``english[k]`` is the English translation of ``originals[k]`` with predicted spans. Every
    English span gets a :class:`SpanOutcome` on the output example.
    """
    from projectors.base import Pair

    orig_it, en_it = iter(originals), iter(english)
    k = 0
    while True:
        batch: list[tuple[Example, Example]] = []
        for o in orig_it:
            e = next(en_it, None)
            if e is None:
                raise InputError(f"{k + len(batch) + 1} original sentences but fewer English ones",
                                 fix="give one English translation per original sentence, in order")
            batch.append((o, e))
            if len(batch) >= batch_size:
                break
        if not batch:
            if next(en_it, None) is not None:
                raise InputError(f"more English sentences than the {k} original ones",
                                 fix="give one English translation per original sentence, in order")
            return
        pairs = [Pair(e.tokens, o.tokens, [(s.token_start, s.token_end, s.label) for s in e.spans],
                      e.text, o.text, list(e.offsets), list(o.offsets)) for o, e in batch]
        for (o, e), proj in zip(batch, run_projector(projector, pairs), strict=True):
            if proj.tgt_text is not None and proj.tgt_text != o.text:
                raise ConfigError(f"projector {projector.name} replaced the target sentence",
                                  fix="use keep_target=True for markers.v1 in back-projection")
            spans, outcomes, used = [], [], []
            for ps in sorted(proj.spans, key=lambda s: s.source):
                outcome, reason = ps.outcome, ps.reason
                if outcome != "dropped":
                    if any(a < ps.token_end and ps.token_start < b for a, b in used):
                        outcome, reason = "dropped", "overlaps another projected span"
                    else:
                        used.append((ps.token_start, ps.token_end))
                        spans.append(Span(o.offsets[ps.token_start][0], o.offsets[ps.token_end - 1][1],
                                          ps.label, ps.token_start, ps.token_end, ps.score, ps.source))
                outcomes.append(SpanOutcome(ps.source, ps.label, outcome, reason, projector.name,
                                            ps.score if outcome != "dropped" else None))
            meta = {**o.meta, "en_text": e.text}
            yield Example(o.id, o.text, list(o.offsets), sorted(spans, key=lambda s: s.start), o.lang,
                          o.split, meta, outcomes)
        k += len(batch)
