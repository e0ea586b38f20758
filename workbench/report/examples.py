"""Examples that teach what a projection or a filter did: the lowest-confidence spans, the spans
that were dropped (with the reason), the examples a filter rejected (with filter and reason), and
a seeded random sample; each with its source beside it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from workbench.core.records import Example
from workbench.store.lineage import parent, source_version
from workbench.store.store import Store, Version

__all__ = ["ExampleView", "pick_examples"]


@dataclass
class ExampleView:
    """One example as the report shows it.

    Attributes:
        kind: why it was picked: ``low confidence``, ``dropped``, ``rejected`` or ``sample``.
        note: the reason in words (dropped spans' reasons, the filter's reason, the lowest score).
        target: the example (its spans coloured by label).
        source: the source example with the same id, when the version has a source.
    """

    kind: str
    id: str
    note: str
    target: Example
    source: Example | None = None
    scores: list[float] = field(default_factory=list)


def _ids(store: Store, sql: str, params: list) -> list[str]:
    with store.connect() as con:
        return [r[0] for r in con.execute(sql, params).fetchall()]


def pick_examples(store: Store, v: Version, n: int = 20, seed: int = 0) -> list[ExampleView]:
    """Up to ``n`` examples of ``v`` (a quarter of each kind, the sample filling the rest)."""
    if n <= 0 or v.n_examples == 0:
        return []
    src_v = source_version(store, v)
    quarter = max(1, n // 4)
    picked: list[tuple[str, str, str]] = []  # (kind, id, note)
    seen: set[str] = set()

    def add(kind: str, rows: list[tuple[str, str]]) -> None:
        for ex_id, note in rows:
            if ex_id not in seen and len(picked) < n:
                seen.add(ex_id)
                picked.append((kind, ex_id, note))

    with store.connect() as con:
        low = con.execute(
            "SELECT id, min(s.score) AS m FROM examples, unnest(spans) AS t(s) WHERE version_id=? "
            "AND s.score IS NOT NULL GROUP BY id ORDER BY m, id LIMIT ?", [v.id, quarter]).fetchall()
        dropped = con.execute(
            "SELECT id, string_agg(o.label || ': ' || coalesce(o.reason, ''), '; ') FROM examples, "
            "unnest(outcomes) AS t(o) WHERE version_id=? AND o.outcome = 'dropped' GROUP BY id, idx "
            "ORDER BY idx LIMIT ?", [v.id, quarter]).fetchall()
    add("low confidence", [(i, f"lowest span score {m:.2f}") for i, m in low])
    add("dropped", [(i, r) for i, r in dropped])
    rejected: list[tuple[str, str]] = []
    inp = parent(store, v) if v.stage == "filter" else None
    if inp is not None:
        with store.connect() as con:
            rejected = [(i, f"{f}: {r}") for i, f, r in con.execute(
                "SELECT example_id, filter, reason FROM filter_decisions WHERE version_id=? AND NOT kept "
                "ORDER BY idx, filter LIMIT ?", [v.id, quarter]).fetchall()]
        add("rejected", rejected)
    all_ids = _ids(store, "SELECT id FROM examples WHERE version_id=? ORDER BY idx", [v.id])
    rng = random.Random(seed)
    add("sample", [(i, "") for i in rng.sample(all_ids, min(len(all_ids), n))])

    targets = store.examples_by_id(v, [i for k, i, _ in picked if k != "rejected"])
    if inp is not None:
        targets.update(store.examples_by_id(inp, [i for k, i, _ in picked if k == "rejected"]))
    sources = store.examples_by_id(src_v, [i for _, i, _ in picked]) if src_v is not None else {}
    return [ExampleView(kind, i, note, targets[i], sources.get(i)) for kind, i, note in picked if i in targets]
