"""Intrinsic evaluation: exact-span P/R/F1 of projections and AER of word alignments.

Span scores follow seqeval's conventions: a predicted span counts only when its start, end and
label all equal a gold span of the same sentence; micro-averaged over all spans, and per label.
Alignment scores follow Och & Ney: with sure links S, possible links P (S included) and predicted
links A, precision = |A & P| / |A|, recall = |A & S| / |S|, AER = 1 - (|A & S| + |A & P|) / (|A| + |S|).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import InputError

__all__ = [
    "SpanScores",
    "AlignmentScores",
    "span_scores",
    "alignment_scores",
    "evaluate_projection",
    "evaluate_alignment",
    "read_links_file",
]


@dataclass
class PRF:
    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "tp": self.tp, "pred": self.n_pred, "gold": self.n_gold}


@dataclass
class SpanScores:
    """Exact-span scores: ``overall`` and ``by_label`` (each with precision/recall/f1/counts)."""

    overall: PRF = field(default_factory=PRF)
    by_label: dict[str, PRF] = field(default_factory=dict)
    n_sentences: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"overall": self.overall.as_dict(), "sentences": self.n_sentences,
                "by_label": {k: v.as_dict() for k, v in sorted(self.by_label.items())}}


@dataclass
class AlignmentScores:
    """AER, precision and recall of predicted links against sure/possible gold links."""

    precision: float
    recall: float
    aer: float
    n_sentences: int

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "aer": self.aer,
                "sentences": self.n_sentences}


def span_scores(
    pred: Sequence[Iterable[tuple[int, int, str]]], gold: Sequence[Iterable[tuple[int, int, str]]]
) -> SpanScores:
    """Scores of predicted against gold spans ``(token_start, token_end, label)``, sentence by
    sentence (both sequences in the same order)."""
    if len(pred) != len(gold):
        raise InputError(f"{len(pred)} predicted sentences but {len(gold)} gold sentences",
                         fix="score a prediction file against the gold file of the same sentences")
    sc = SpanScores(n_sentences=len(gold))
    for p_spans, g_spans in zip(pred, gold, strict=False):
        p, g = set(p_spans), set(g_spans)
        for (_, _, lab) in p:
            sc.by_label.setdefault(lab, PRF()).n_pred += 1
        for (_, _, lab) in g:
            sc.by_label.setdefault(lab, PRF()).n_gold += 1
        for (_, _, lab) in p & g:
            sc.by_label[lab].tp += 1
        sc.overall.tp += len(p & g)
        sc.overall.n_pred += len(p)
        sc.overall.n_gold += len(g)
    return sc


def alignment_scores(
    pred: Sequence[set[tuple[int, int]]],
    sure: Sequence[set[tuple[int, int]]],
    possible: Sequence[set[tuple[int, int]]],
) -> AlignmentScores:
    """AER / precision / recall over a corpus (``possible`` includes ``sure``)."""
    if not (len(pred) == len(sure) == len(possible)):
        raise InputError(f"{len(pred)} predicted alignments but {len(sure)} gold alignments",
                         fix="give one line of links per sentence pair in both files")
    a = s = a_s = a_p = 0
    for A, S, P in zip(pred, sure, possible, strict=False):
        P = P | S
        a += len(A)
        s += len(S)
        a_s += len(A & S)
        a_p += len(A & P)
    prec = a_p / a if a else 0.0
    rec = a_s / s if s else 0.0
    aer = 1.0 - (a_s + a_p) / (a + s) if a + s else 0.0
    return AlignmentScores(prec, rec, aer, len(pred))


def read_links_file(path: str | Path, *, one_indexed: bool | None = None
                    ) -> tuple[list[set[tuple[int, int]]], list[set[tuple[int, int]]]]:
    """Read links, one line per sentence pair: ``i-j`` sure, ``ipj`` possible.

    ``one_indexed``: ``None`` detects it (1-indexed when no index 0 occurs). Returns
    ``(sure, possible)`` as 0-indexed link sets; possible includes sure.
    """
    from projectors.word_alignment import parse_links

    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    raw: list[tuple[set[tuple[int, int]], set[tuple[int, int]]]] = []
    for n, line in enumerate(lines, 1):
        try:
            raw.append(parse_links(line, one_indexed=False))
        except ValueError as exc:
            raise InputError(str(exc), where=f"{path}:{n}",
                             fix="one line per sentence pair, links like 3-4 (sure) or 3p4 (possible)") from None
    if one_indexed is None:
        one_indexed = bool(raw) and not any(i == 0 or j == 0 for _, p in raw for i, j in p)
    off = 1 if one_indexed else 0
    sure = [{(i - off, j - off) for i, j in s} for s, _ in raw]
    poss = [{(i - off, j - off) for i, j in p} for _, p in raw]
    return sure, poss


def evaluate_alignment(pred: str | Path, gold: str | Path, *, pred_one_indexed: bool | None = None
                       ) -> AlignmentScores:
    """AER of a predicted links file against a gold file (``i-j`` sure, ``ipj`` possible, 1-indexed)."""
    _, pred_links = read_links_file(pred, one_indexed=pred_one_indexed)
    sure, poss = read_links_file(gold, one_indexed=True)
    if len(pred_links) != len(sure):
        raise InputError(f"{len(pred_links)} lines of links but the gold file has {len(sure)}",
                         where=str(pred), fix="one line per sentence pair, in the gold file's order")
    return alignment_scores(pred_links, sure, poss)


def evaluate_projection(pred: str | Path, gold: str | Path, *, scheme: str = "iob2") -> SpanScores:
    """Exact-span scores of a predicted CoNLL file against a gold CoNLL file of the same tokens."""
    import warnings

    from workbench.core.records import RepairWarning
    from workbench.load.conll import read_conll

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        p_ex = list(read_conll(pred, scheme=scheme))
        g_ex = list(read_conll(gold, scheme=scheme))
    if len(p_ex) != len(g_ex):
        raise InputError(f"{len(p_ex)} sentences in the prediction but {len(g_ex)} in the gold file",
                         where=str(pred), fix="predict every gold sentence, in order")
    for k, (a, b) in enumerate(zip(p_ex, g_ex, strict=False)):
        if a.tokens != b.tokens:
            raise InputError(f"sentence {k + 1} has other tokens than the gold sentence",
                             where=f"{pred}:{a.meta.get('line', '?')}",
                             fix="predict on exactly the gold file's tokens")
    return span_scores(
        [[(s.token_start, s.token_end, s.label) for s in ex.spans] for ex in p_ex],
        [[(s.token_start, s.token_end, s.label) for s in ex.spans] for ex in g_ex],
    )
