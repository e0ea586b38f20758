"""The projector base class and registry.

A projector maps labelled source spans onto target sentences. Inputs and outputs are plain
tuples and small dataclasses, so this package depends on nothing of ``workbench``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Projection", "ProjectedSpan", "Pair", "Projector", "named"]


@dataclass
class Pair:
    """One source sentence with its spans, and its target sentence.

    Attributes:
        src_tokens: source tokens.
        tgt_tokens: target tokens.
        spans: source spans as ``(token_start, token_end, label)``, token_end exclusive.
        src_text / tgt_text: the sentences (optional; MT-guided projectors need them).
        src_offsets / tgt_offsets: character offsets of the tokens in the texts (optional).
    """

    src_tokens: list[str]
    tgt_tokens: list[str]
    spans: list[tuple[int, int, str]]
    src_text: str | None = None
    tgt_text: str | None = None
    src_offsets: list[tuple[int, int]] | None = None
    tgt_offsets: list[tuple[int, int]] | None = None


@dataclass
class ProjectedSpan:
    """Outcome for one source span.

    Attributes:
        source: index of the span in ``Pair.spans``.
        label: its label.
        outcome: ``"projected"``, ``"fallback"`` or ``"dropped"``.
        token_start / token_end: target token range (``-1`` when dropped).
        score: confidence in [0, 1].
        reason: why (always set for dropped and fallback).
    """

    source: int
    label: str
    outcome: str
    token_start: int = -1
    token_end: int = -1
    score: float = 0.0
    reason: str = ""


@dataclass
class Projection:
    """Projection of one pair: an outcome for every source span, in source order.

    ``tgt_tokens`` / ``tgt_text`` are set when the projector changed the target (e.g. markers
    produce their own translation); otherwise they are ``None`` and the pair's target stands.
    """

    spans: list[ProjectedSpan] = field(default_factory=list)
    tgt_tokens: list[str] | None = None
    tgt_text: str | None = None
    tgt_offsets: list[tuple[int, int]] | None = None


class Projector(ABC):
    """Base of every projector: one public entry point, :meth:`project`, and a hook.

    Subclasses implement :meth:`_project_batch`; :meth:`project` checks the inputs, runs the hook
    and checks that every source span got exactly one outcome.
    """

    name: str = ""

    def project(self, pairs: Sequence[Pair]) -> list[Projection]:
        """Project every pair; returns one :class:`Projection` per pair, in order."""
        for i, p in enumerate(pairs):
            for s, e, lab in p.spans:
                if not (0 <= s < e <= len(p.src_tokens)):
                    raise ValueError(f"pair {i}: span {s}-{e} {lab!r} outside {len(p.src_tokens)} tokens")
        out = self._project_batch(list(pairs))
        if len(out) != len(pairs):
            raise RuntimeError(f"{self.name}: {len(out)} projections for {len(pairs)} pairs")
        for i, (p, proj) in enumerate(zip(pairs, out, strict=True)):
            if sorted(ps.source for ps in proj.spans) != list(range(len(p.spans))):
                raise RuntimeError(f"{self.name}: pair {i} lacks an outcome for some source span")
        return out

    @abstractmethod
    def _project_batch(self, pairs: list[Pair]) -> list[Projection]:
        """Project a batch of pairs (the hook subclasses implement)."""

    def signature(self) -> dict[str, Any]:
        """Name and options that determine the output (stored in the version signature)."""
        return {"projector": self.name}


def named(name: str) -> Callable[[type[Projector]], type[Projector]]:
    """Class decorator: the versioned name of a projector, like ``align.eflomal.v1`` (the table of
    names is :data:`projectors.registry.PROJECTORS`)."""

    def deco(cls: type[Projector]) -> type[Projector]:
        cls.name = name
        return cls

    return deco
