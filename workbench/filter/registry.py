"""The table of quality filters: versioned name -> filter class. A leaf: the filters never import it.

Every filter is a small dataclass whose fields are its options (with documented defaults) and whose
:meth:`Filter.decide` returns one :class:`Decision` per item: kept or not, a short categorical
``reason`` (what the report groups by), a ``detail`` in words and the measured ``value``.

Filters read the stage conventions: a translated example has ``meta.src_text``, ``meta.src_lang``,
``meta.mt_score`` and ``meta.mt_avg_logprob``; a projected example has ``outcomes`` (one per source
span) and spans with ``score`` and ``source``; the source example (same id) comes with the item.
Filters that remember earlier examples (duplicates) are ``stateful``: the stage runs them after
the others and they only remember examples that every earlier filter kept.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from workbench.core.errors import ConfigError
from workbench.filter.base import Filter
from workbench.filter.dedup import Duplicate, NearDuplicate
from workbench.filter.projection import ProjectionComplete, SpanConfidence, SpanLength
from workbench.filter.qe import CometKiwi
from workbench.filter.sentence import Copy, LangId, LengthRatio, MtScore, RepeatNgram

__all__ = ["FILTERS", "get"]

#: versioned name -> filter class
FILTERS: dict[str, type[Filter]] = {cls.name: cls for cls in (
    Duplicate, NearDuplicate, ProjectionComplete, SpanConfidence, SpanLength, CometKiwi,
    LengthRatio, LangId, Copy, RepeatNgram, MtScore,
)}


def get(name: str, **options: Any) -> Filter:
    """An instance of the registered filter ``name`` with ``options`` (field names)."""
    if name not in FILTERS:
        raise ConfigError(f"unknown filter {name!r}", fix=f"use one of: {', '.join(sorted(FILTERS))}")
    cls = FILTERS[name]
    known = {f.name for f in fields(cls)}
    bad = sorted(set(options) - known)
    if bad:
        raise ConfigError(f"filter {name} has no option {', '.join(bad)}",
                          fix=f"options of {name}: {', '.join(sorted(known)) or 'none'}")
    return cls(**options)
