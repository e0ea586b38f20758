"""Reproducibility signature of a stored version, in the spirit of sacrebleu's ``Signature``.

A signature is an ordered mapping of short keys to values, rendered as one readable string::

    wb:0.1.0|stage:translate|parent:conll-en@1|model:opus-mt-en-de@3f2a|beam:4|tgt:de

Everything that changes the content of a version goes in: stage, parents, models (with a content
hash), projector, filters and their thresholds, decoding parameters, workbench version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Signature", "content_hash"]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "+".join(_fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={_fmt(v)}" for k, v in sorted(value.items()))
    return str(value).replace("|", "/")


@dataclass
class Signature:
    """Ordered ``key -> value`` facts about how a version was made.

    ``stage`` comes first, then ``fields`` in insertion order, then the workbench version.
    """

    stage: str
    fields: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: Any) -> Signature:
        if value is not None:
            self.fields[key] = value
        return self

    def format(self) -> str:
        from workbench._version import __version__

        parts = [f"wb:{__version__}", f"stage:{self.stage}"]
        parts += [f"{k}:{_fmt(v)}" for k, v in self.fields.items()]
        return "|".join(parts)

    def __str__(self) -> str:
        return self.format()

    def key(self) -> str:
        """A short stable hash of the signature, used to find a stage that already ran."""
        return hashlib.sha256(self.format().encode()).hexdigest()[:16]


def content_hash(*parts: Any, length: int = 12) -> str:
    """Short sha256 of JSON-serialisable parts (files are hashed by their callers)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:length]
