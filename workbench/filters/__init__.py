"""Quality filters for translated, label-projected examples: a registry of versioned names.

Every filter is a small dataclass whose fields are its options (with documented defaults) and whose
:meth:`Filter.decide` returns one :class:`Decision` per item: kept or not, a short categorical
``reason`` (what the report groups by), a ``detail`` in words and the measured ``value``.

Filters read the stage conventions: a translated example has ``meta.src_text``, ``meta.src_lang``,
``meta.mt_score`` and ``meta.mt_avg_logprob``; a projected example has ``outcomes`` (one per source
span) and spans with ``score`` and ``source``; the source example (same id) comes with the item.
Filters that remember earlier examples (duplicates) are ``stateful``: the stage runs them after
the others and they only remember examples that every earlier filter kept.
"""


from workbench.filters import dedup, projection, qe, sentence  # noqa: E402,F401  (registers filters)
from workbench.filters.base import (
    FILTERS,
    Decision,
    Filter,
    FilterContext,
    Item,
    get,
    lang_base,
    normalize_text,
    register,
)

__all__ = ["FILTERS", "Filter", "Decision", "Item", "FilterContext", "register", "get", "lang_base",
           "normalize_text"]
