"""Exact and near-duplicate filters (stateful: they remember kept examples)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workbench.core.errors import ConfigError
from workbench.filter.base import (
    Decision,
    Filter,
    FilterContext,
    Item,
    named,
    normalize_text,
)

# -- duplicates (stateful) ---------------------------------------------------------------------


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _dup_key(item: Item, normalize: bool, with_source: bool) -> str:
    t = item.example.text
    if with_source:
        t = (item.src_text or "") + "\0" + t
    return normalize_text(t) if normalize else t


@named("duplicate.v1")
@dataclass
class Duplicate(Filter):
    """Exact duplicates of an earlier kept example are rejected (the first occurrence is kept).

    Memory: one 8-byte hash per kept example (about 70 bytes in a Python set).

    Attributes:
        normalize: compare case-folded text without punctuation (digits as 0) instead of exact text.
        with_source: compare (source text, translation) pairs instead of translations alone.
    """

    stateful: ClassVar[bool] = True
    normalize: bool = False
    with_source: bool = False
    _seen: dict[int, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        out = []
        for i, it in enumerate(items):
            h = _h64(_dup_key(it, self.normalize, self.with_source))
            first = self._seen.get(h)
            if first is not None:
                out.append(Decision(False, "duplicate", f"same text as {first}", 1.0))
                continue
            out.append(Decision(True, "ok", "first occurrence", 0.0))
            if alive is None or alive[i]:
                self._seen[h] = it.example.id
        return out


def _shingles(text: str, k: int) -> set[str]:
    t = normalize_text(text)
    if len(t) <= k:
        return {t}
    return {t[i:i + k] for i in range(len(t) - k + 1)}


_MERSENNE = (1 << 61) - 1


@named("near-duplicate.v1")
@dataclass
class NearDuplicate(Filter):
    """Near duplicates of an earlier kept example (MinHash over character shingles, LSH bands).

    Candidates share a band of their MinHash signatures; a candidate is a near duplicate when the
    signatures estimate a Jaccard similarity of at least ``threshold``. Memory: the signature
    (``num_perm`` x 8 bytes) and ``bands`` index entries per kept example, about 1 KB.

    Attributes:
        threshold: estimated Jaccard similarity of shingle sets at or above which to reject.
        shingle: shingle length in characters of the normalised text.
        num_perm: MinHash permutations (more: better estimates, more memory).
        bands: LSH bands (``num_perm`` must be a multiple); more bands find less similar pairs.
        seed: seed of the hash permutations.
    """

    stateful: ClassVar[bool] = True
    threshold: float = 0.8
    shingle: int = 5
    num_perm: int = 64
    bands: int = 16
    seed: int = 1
    _index: dict[int, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _sigs: list[Any] = field(default_factory=list, init=False, repr=False, compare=False)
    _ids: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    _ab: Any = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def prepare(self, ctx: FilterContext) -> None:
        if self.num_perm % self.bands:
            raise ConfigError(f"near-duplicate.v1: num_perm {self.num_perm} is not a multiple of "
                              f"bands {self.bands}", fix="e.g. num_perm=64 bands=16")

    def signature(self, text: str) -> Any:
        import numpy as np

        if self._ab is None:
            rng = np.random.default_rng(self.seed)
            self._ab = (rng.integers(1, _MERSENNE, self.num_perm, dtype=np.uint64),
                        rng.integers(0, _MERSENNE, self.num_perm, dtype=np.uint64))
        a, b = self._ab
        hs = np.fromiter((_h64(s) & 0xFFFFFFFF for s in _shingles(text, self.shingle)),
                         dtype=np.uint64)
        # (a*h + b) mod p with uint64 wrap-around, as in datasketch's MinHash
        with np.errstate(over="ignore"):
            vals = ((a[:, None] * hs[None, :] + b[:, None]) % np.uint64(_MERSENNE)) & np.uint64(0xFFFFFFFF)
        return vals.min(axis=1)

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        out = []
        r = self.num_perm // self.bands
        for i, it in enumerate(items):
            sig = self.signature(it.example.text)
            keys = [_h64(f"{band}:{sig[band * r:(band + 1) * r].tobytes().hex()}")
                    for band in range(self.bands)]
            best, best_j = 0.0, -1
            for k in keys:
                j = self._index.get(k)
                if j is not None and j != best_j:
                    sim = float((self._sigs[j] == sig).mean())
                    if sim > best:
                        best, best_j = sim, j
            if best_j >= 0 and best >= self.threshold:
                out.append(Decision(False, "near-duplicate",
                                    f"~{best:.2f} similar to {self._ids[best_j]}", best))
                continue
            out.append(Decision(True, "ok", f"closest ~{best:.2f}", best))
            if alive is None or alive[i]:
                j = len(self._sigs)
                self._sigs.append(sig)
                self._ids.append(it.example.id)
                for k in keys:
                    self._index.setdefault(k, j)
        return out


