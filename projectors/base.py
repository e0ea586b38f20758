"""The projector base class and registry.

A projector maps labelled source spans onto target sentences. Inputs and outputs are plain
tuples and small dataclasses, so this package depends on nothing of ``workbench``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Projection", "ProjectedSpan", "Pair", "Projector", "named", "options_of"]


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


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` as the type ``hint`` names (``int``, ``float``, ``bool``, ``str``, optional ones,
    ``tuple[int, ...]``), converting text (``"3"``, ``"true"``, ``"0,5"``); a :class:`ValueError`
    naming the option when it is not one."""
    import typing

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        if len(args) == 1:
            hint = args[0]
    origin = typing.get_origin(hint)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"{name} must be a list of numbers, got {value!r}")
        inner = typing.get_args(hint)[0]
        return tuple(_coerce(name, v.strip() if isinstance(v, str) else v, inner) for v in items)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"{name} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or (
                isinstance(value, str) and not value.strip().lstrip("-").isdigit()):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        return int(value)
    if hint is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {value!r}") from None
    if hint is str and not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {value!r}")
    return value


def options_of(*groups: tuple[type, str], values: dict[str, Any], projector: str) -> list[Any]:
    """Split ``values`` over option dataclasses, each with its key prefix (``(SpanOptions, "span_")``;
    the one with the empty prefix takes the rest), convert them to the fields' types, and build the
    dataclasses (whose ``__post_init__`` checks the ranges). Unknown keys are a :class:`ValueError`
    listing every valid one."""
    import typing
    from dataclasses import fields

    known: dict[str, tuple[int, str, Any]] = {}
    for i, (cls, prefix) in enumerate(groups):
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            known[prefix + f.name] = (i, f.name, hints[f.name])
    unknown = sorted(k for k in values if k not in known)
    if unknown:
        raise ValueError(f"{projector} has no option {', '.join(unknown)}; its options: "
                         f"{', '.join(sorted(known))}")
    per: list[dict[str, Any]] = [{} for _ in groups]
    for key, value in values.items():
        i, field_name, hint = known[key]
        per[i][field_name] = _coerce(key, value, hint)
    return [cls(**kw) for (cls, _), kw in zip(groups, per, strict=True)]


def check(condition: bool, message: str) -> None:
    """An option's range: a :class:`ValueError` with ``message`` when ``condition`` fails."""
    if not condition:
        raise ValueError(message)
