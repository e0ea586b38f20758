"""Label projection methods: put source spans onto a translation.

A package of its own: it never imports ``workbench``. Projectors register under versioned names
(``align.eflomal.v1``) so stored corpora stay interpretable.
"""

from __future__ import annotations

from projectors.base import Projection, Projector, named
from projectors.registry import PROJECTORS, get, register

__all__ = ["PROJECTORS", "Projection", "Projector", "get", "named", "register"]
