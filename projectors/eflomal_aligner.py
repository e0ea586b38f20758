"""eflomal: a statistical word aligner (Bayesian HMM with fertility, Gibbs sampling), offline.

eflomal seeds its samplers from ``/dev/urandom``, so one run differs from the next. To cut that
variance the aligner runs ``n_runs`` independent alignments (each with ``n_samplers`` samplers)
and keeps directional links proposed by a majority of runs before symmetrising
(:func:`projectors.word_alignment.combine_runs`).

Lexical priors: identical (case-insensitive) tokens and numbers in a sentence pair get a Dirichlet
prior towards each other (``identity_prior``), which helps rare names in small corpora.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from projectors.base import check
from projectors.word_alignment import SYMMETRISATIONS, Aligner, Links, combine_counts

__all__ = ["EflomalAligner", "EflomalOptions"]

_WS = re.compile(r"\s+")


@dataclass
class EflomalOptions:
    """Options of :class:`EflomalAligner` (defaults chosen by measurement, see bench/).

    Attributes:
        symmetrisation: how forward and reverse links are combined into sure links
            (``intersection``: with span growth over the remaining links it measured best).
        n_runs: independent eflomal runs combined by majority vote (10).
        n_samplers: samplers per run (eflomal's own averaging; 3).
        rel_iterations: iterations relative to eflomal's default schedule (1.0).
        null_prior: prior probability of a NULL alignment (0.2, eflomal's default).
        prefix_lens: run ``k`` truncates words to ``prefix_lens[k % len(prefix_lens)]``
            characters before aligning (0 = whole words). Truncation is a crude stemmer that helps
            small corpora of inflected languages; mixing stemmed and unstemmed runs ((0, 5)) gives
            the vote two views of the data.
        identity_prior: Dirichlet pseudo-count for identical tokens in the same pair (0 = off).
        threshold: fraction of runs that must propose a directional link (0.5).
        model: 1 = IBM1, 2 = HMM, 3 = HMM + fertility (3).
        parallel: runs aligned at the same time (0 = as many as the CPUs allow, each run's samplers
            counted; results do not depend on it, only speed and memory do).
    """

    symmetrisation: str = "intersection"
    n_runs: int = 10
    n_samplers: int = 3
    rel_iterations: float = 1.0
    null_prior: float = 0.2
    prefix_lens: tuple[int, ...] = (0, 5)
    identity_prior: float = 0.0
    threshold: float = 0.5
    model: int = 3
    parallel: int = 0

    def __post_init__(self) -> None:
        check(self.symmetrisation in SYMMETRISATIONS,
              f"symmetrisation must be one of {', '.join(SYMMETRISATIONS)}, got {self.symmetrisation!r}")
        check(self.n_runs >= 1, f"n_runs must be at least 1, got {self.n_runs}")
        check(self.n_samplers >= 1, f"n_samplers must be at least 1, got {self.n_samplers}")
        check(self.rel_iterations > 0, f"rel_iterations must be above 0, got {self.rel_iterations}")
        check(0 <= self.null_prior < 1, f"null_prior must be in [0, 1), got {self.null_prior}")
        check(len(self.prefix_lens) > 0 and all(n >= 0 for n in self.prefix_lens),
              f"prefix_lens must be one or more lengths >= 0, got {self.prefix_lens}")
        check(self.identity_prior >= 0, f"identity_prior must be >= 0, got {self.identity_prior}")
        check(0 < self.threshold <= 1, f"threshold must be in (0, 1], got {self.threshold}")
        check(self.model in (1, 2, 3), f"model must be 1 (IBM1), 2 (HMM) or 3 (HMM + fertility), got {self.model}")
        check(self.parallel >= 0, f"parallel must be >= 0 (0 = automatic), got {self.parallel}")


def _clean(tokens: Sequence[str]) -> list[str]:
    out = []
    for t in tokens:
        t = _WS.sub("_", str(t))
        out.append(t or "_")
    return out


class EflomalAligner(Aligner):
    """Aligns a whole batch (plus optional extra parallel text) with eflomal."""

    name = "eflomal"

    def __init__(self, options: EflomalOptions | None = None, **kwargs: Any):
        self.options = options or EflomalOptions(**kwargs)

    def signature(self) -> dict[str, Any]:
        o = self.options
        return {
            "aligner": "eflomal",
            "sym": o.symmetrisation,
            "runs": o.n_runs,
            "samplers": o.n_samplers,
            "iters": o.rel_iterations,
            "null": o.null_prior,
            "prefix": list(o.prefix_lens),
            "idprior": o.identity_prior,
        }

    def directional_runs(
        self,
        src: Sequence[Sequence[str]],
        tgt: Sequence[Sequence[str]],
        extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
        n_runs: int | None = None,
    ) -> list[tuple[list[set[tuple[int, int]]], list[set[tuple[int, int]]]]]:
        """Forward and reverse link sets of each independent run (pairs with an empty side get none)."""
        try:
            import eflomal
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("eflomal is not installed: pip install 'workbench[align]'") from exc
        if len(src) != len(tgt):
            raise ValueError(f"{len(src)} source sentences but {len(tgt)} target sentences")
        o = self.options
        n = len(src)
        s_lines, t_lines = [], []
        empty = []
        for s, t in list(zip(src, tgt, strict=False)) + [(a, b) for a, b in extra]:
            s2, t2 = _clean(s), _clean(t)
            empty.append(not s2 or not t2)
            # eflomal needs a token on both sides: a placeholder for empty sentences
            s_lines.append(" ".join(s2) if s2 else "_")
            t_lines.append(" ".join(t2) if t2 else "_")
        if n == 0:
            return [([], [])] * (n_runs or o.n_runs)
        prefixes = tuple(o.prefix_lens) or (0,)
        priors = self._identity_priors(s_lines, t_lines) if o.identity_prior > 0 else None
        runs = []
        with tempfile.TemporaryDirectory(prefix="wb-eflomal-") as tmp:
            fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")
            for k in range(n_runs or o.n_runs):
                aligner = eflomal.Aligner(
                    model=o.model,
                    n_samplers=o.n_samplers,
                    rel_iterations=o.rel_iterations,
                    null_prior=o.null_prior,
                    source_prefix_len=prefixes[k % len(prefixes)],
                    target_prefix_len=prefixes[k % len(prefixes)],
                )
                aligner.align(
                    s_lines, t_lines,
                    links_filename_fwd=fwd_path, links_filename_rev=rev_path,
                    priors_input=list(priors) if priors is not None else None,
                )
                fwd = _read_links(fwd_path, n, empty)
                rev = _read_links(rev_path, n, empty)
                runs.append((fwd, rev))
        return runs

    def align(
        self,
        src: Sequence[Sequence[str]],
        tgt: Sequence[Sequence[str]],
        extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    ) -> list[Links]:
        if len(src) != len(tgt):
            raise ValueError(f"{len(src)} source sentences but {len(tgt)} target sentences")
        return list(self.iter_align(zip(src, tgt, strict=True), extra))

    def iter_align(
        self,
        pairs: Iterable[tuple[Sequence[str], Sequence[str]]],
        extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    ) -> Iterator[Links]:
        """Links of every pair, streamed: the text goes to files once, the runs read it from there
        (``parallel`` at a time), and each pair's votes are counted from the runs' link files line
        by line, so no run's links are held for the whole batch."""
        try:
            import eflomal
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("eflomal is not installed: pip install 'workbench[align]'") from exc
        o = self.options
        prefixes = tuple(o.prefix_lens) or (0,)
        with tempfile.TemporaryDirectory(prefix="wb-eflomal-") as tmp:
            s_path, t_path = os.path.join(tmp, "src"), os.path.join(tmp, "tgt")
            empty: list[bool] = []  # a bit per pair (a list of bools: 8 bytes a pair)
            counts: dict[str, int] = {}
            with open(s_path, "w", encoding="utf-8") as sf, open(t_path, "w", encoding="utf-8") as tf:
                for k, (s, t) in enumerate(_chain(pairs, extra, empty)):
                    s2, t2 = _clean(s), _clean(t)
                    if k < len(empty):
                        empty[k] = not s2 or not t2
                    if o.identity_prior > 0:
                        for w in {w.lower() for w in s2} & {w.lower() for w in t2}:
                            if any(c.isalnum() for c in w):
                                counts[w] = counts.get(w, 0) + 1
                    # eflomal needs a token on both sides: a placeholder for empty sentences
                    sf.write((" ".join(s2) if s2 else "_") + "\n")
                    tf.write((" ".join(t2) if t2 else "_") + "\n")
            n = len(empty)
            if n == 0:
                return
            priors = ([f"LEX\t{w}\t{w}\t{o.identity_prior * c:g}\n" for w, c in sorted(counts.items())]
                      if counts else None)

            def run(k: int) -> tuple[str, str]:
                fwd, rev = os.path.join(tmp, f"fwd{k}"), os.path.join(tmp, f"rev{k}")
                aligner = eflomal.Aligner(
                    model=o.model, n_samplers=o.n_samplers, rel_iterations=o.rel_iterations,
                    null_prior=o.null_prior, source_prefix_len=prefixes[k % len(prefixes)],
                    target_prefix_len=prefixes[k % len(prefixes)])
                with open(s_path, encoding="utf-8") as sf, open(t_path, encoding="utf-8") as tf:
                    aligner.align(sf, tf, links_filename_fwd=fwd, links_filename_rev=rev,
                                  priors_input=list(priors) if priors is not None else None)
                return fwd, rev

            with ThreadPoolExecutor(max_workers=self._parallel()) as pool:
                files = list(pool.map(run, range(o.n_runs)))
            with ExitStack() as stack:
                handles = [(stack.enter_context(open(f, encoding="utf-8")),
                            stack.enter_context(open(r, encoding="utf-8"))) for f, r in files]
                for k in range(n):
                    lines = [(fh.readline(), rh.readline()) for fh, rh in handles]
                    if empty[k]:
                        yield {}
                        continue
                    yield combine_counts(_count([f for f, _ in lines]), _count([r for _, r in lines]),
                                         len(lines), o.symmetrisation, o.threshold)

    def _parallel(self) -> int:
        o = self.options
        if o.parallel:
            return min(o.parallel, o.n_runs)
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            cpus = os.cpu_count() or 1
        return max(1, min(o.n_runs, cpus // o.n_samplers))

    def _identity_priors(self, s_lines: list[str], t_lines: list[str]) -> list[str]:
        counts: dict[tuple[str, str], int] = {}
        for s, t in zip(s_lines, t_lines, strict=False):
            sw = {w.lower() for w in s.split()}
            tw = {w.lower() for w in t.split()}
            for w in sw & tw:
                if any(c.isalnum() for c in w):
                    key = (w, w)
                    counts[key] = counts.get(key, 0) + 1
        # eflomal lower-cases and truncates prior words itself, like the text
        w = self.options.identity_prior
        return [f"LEX\t{a}\t{b}\t{w * c:g}\n" for (a, b), c in sorted(counts.items())]


def _chain(pairs: Iterable[tuple[Sequence[str], Sequence[str]]],
           extra: Sequence[tuple[Sequence[str], Sequence[str]]],
           empty: list[bool]) -> Iterator[tuple[Sequence[str], Sequence[str]]]:
    """The batch's pairs (an entry in ``empty`` for each), then the extra text."""
    for s, t in pairs:
        empty.append(False)
        yield s, t
    yield from extra


def _count(lines: Sequence[str]) -> dict[tuple[int, int], int]:
    """Votes for each link ``i-j`` over the runs' lines of one pair (a run proposes a link once);
    the link strings are counted before parsing, so each distinct link is parsed once."""
    votes = Counter(w for line in lines for w in set(line.split()))
    out = {}
    for item, c in votes.items():
        a, _, b = item.partition("-")
        out[(int(a), int(b))] = c
    return out


def _read_links(path: str, n: int, empty: list[bool]) -> list[set[tuple[int, int]]]:
    out: list[set[tuple[int, int]]] = []
    with open(path, encoding="utf-8") as fh:
        for k, line in enumerate(fh):
            if k >= n:
                break
            links = set()
            if not empty[k]:
                for item in line.split():
                    a, _, b = item.partition("-")
                    links.add((int(a), int(b)))
            out.append(links)
    while len(out) < n:
        out.append(set())
    return out
