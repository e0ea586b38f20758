"""The table of projectors: versioned name -> class. A leaf: the projectors never import it.

Built-in projectors are listed here; :func:`register` adds another (a plug-in, a test's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projectors.align_projector import EflomalProjector, EflomalProjectorV2, SimAlignProjector
from projectors.base import Projector, named
from projectors.constrained import ConstrainedProjector
from projectors.markers import MarkersProjector

__all__ = ["PROJECTORS", "get", "register"]

#: registered name (``family.method.vN``) -> Projector subclass
PROJECTORS: dict[str, type[Projector]] = {cls.name: cls for cls in (
    EflomalProjector, EflomalProjectorV2, SimAlignProjector, MarkersProjector, ConstrainedProjector,
)}


def register(name: str) -> Callable[[type[Projector]], type[Projector]]:
    """Class decorator: add a projector to :data:`PROJECTORS` under a versioned name."""

    def deco(cls: type[Projector]) -> type[Projector]:
        PROJECTORS[name] = named(name)(cls)
        return cls

    return deco


def get(name: str, **options: Any) -> Projector:
    """An instance of the projector registered as ``name``."""
    if name not in PROJECTORS:
        raise KeyError(f"unknown projector {name!r}; registered: {', '.join(sorted(PROJECTORS))}")
    return PROJECTORS[name](**options)
