"""workbench: turn a span-labelled dataset into training or test data in other languages.

load -> translate -> project -> filter -> store -> export; each stage a plain function here and a
command of the ``workbench`` CLI.
"""

from __future__ import annotations

__version__ = "0.1.0"

from workbench.errors import WorkbenchError  # noqa: E402
from workbench.export import export  # noqa: E402
from workbench.ingest import ingest  # noqa: E402
from workbench.load import read, write  # noqa: E402
from workbench.records import Example, Span, SpanOutcome  # noqa: E402
from workbench.store import Store, Version  # noqa: E402

__all__ = [
    "__version__",
    "Example",
    "Span",
    "SpanOutcome",
    "Store",
    "Version",
    "WorkbenchError",
    "export",
    "ingest",
    "read",
    "write",
]
