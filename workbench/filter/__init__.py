"""The filter stage: quality filters over a stored version, with a stored reason for every rejection.

Every filter is a small dataclass whose fields are its options (with documented defaults) and whose
:meth:`~workbench.filter.base.Filter.decide` returns one decision per item; the table of versioned
names is :data:`workbench.filter.registry.FILTERS`.
"""

from workbench.filter.base import Decision, Filter, FilterContext, Item, lang_base, normalize_text
from workbench.filter.registry import FILTERS, get
from workbench.filter.stage import FilterRun, filter_version, parse_options

__all__ = ["FILTERS", "Decision", "Filter", "FilterContext", "FilterRun", "Item", "filter_version",
           "get", "lang_base", "normalize_text", "parse_options"]
