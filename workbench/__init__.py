"""workbench: turn a span-labelled dataset into training or test data in other languages.

load -> translate -> project -> filter -> store -> export. This package exports the nouns; each
stage is a plain function in its own package (``from workbench.translate import translate``) and a
command of the ``workbench`` CLI. Nothing here is named like a subpackage, so none is hidden.
"""

from __future__ import annotations

from workbench._version import __version__
from workbench.core.errors import (
    ConfigError,
    HubError,
    InputError,
    InputWarning,
    LanguageError,
    ModelError,
    RefError,
    StoreError,
    StoreLockedError,
    StoreWarning,
    WorkbenchError,
)
from workbench.core.records import Example, Span, SpanOutcome
from workbench.store.store import Store, Version

__all__ = [
    "__version__",
    "ConfigError",
    "Example",
    "HubError",
    "InputError",
    "InputWarning",
    "LanguageError",
    "ModelError",
    "RefError",
    "Span",
    "SpanOutcome",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreWarning",
    "Version",
    "WorkbenchError",
]
