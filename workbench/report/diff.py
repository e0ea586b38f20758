"""Differences between two stored versions: examples and spans added, removed, changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.store.store import Store, Version

__all__ = ["VersionDiff", "diff"]


@dataclass
class VersionDiff:
    """What changed from ``a`` to ``b``.

    Attributes:
        examples_added / examples_removed: ids only in ``b`` / only in ``a``.
        examples_changed: ids in both whose text or spans differ.
        spans_by_label: label -> ``{"added": n, "removed": n}`` over examples in both.
    """

    a: str
    b: str
    examples_added: list[str] = field(default_factory=list)
    examples_removed: list[str] = field(default_factory=list)
    examples_changed: list[str] = field(default_factory=list)
    spans_by_label: dict[str, dict[str, int]] = field(default_factory=dict)


def diff(a: str | Version, b: str | Version, *, store: Store | None = None) -> VersionDiff:
    """Compare two versions by example id (SQL inside DuckDB, so it scales with the store)."""
    store = store or Store()
    va, vb = store.resolve(a), store.resolve(b)
    out = VersionDiff(va.ref, vb.ref)
    with store.connect() as con:
        ids = con.execute(
            """SELECT coalesce(x.id, y.id) AS id, x.id IS NULL AS added, y.id IS NULL AS removed,
                      x.text IS DISTINCT FROM y.text
                      OR list_transform(x.spans, lambda s: [s.start, s."end"]::INTEGER[])
                         IS DISTINCT FROM list_transform(y.spans, lambda s: [s.start, s."end"]::INTEGER[])
                      OR list_transform(x.spans, lambda s: s.label)
                         IS DISTINCT FROM list_transform(y.spans, lambda s: s.label) AS changed
               FROM (SELECT * FROM examples WHERE version_id=?) x
               FULL OUTER JOIN (SELECT * FROM examples WHERE version_id=?) y ON x.id = y.id
               ORDER BY 1""",
            [va.id, vb.id],
        ).fetchall()
        for ex_id, added, removed, changed in ids:
            if added:
                out.examples_added.append(ex_id)
            elif removed:
                out.examples_removed.append(ex_id)
            elif changed:
                out.examples_changed.append(ex_id)
        rows = con.execute(
            """WITH sa AS (SELECT example_id, label, span_text, start FROM span_rows WHERE version_id=?),
                    sb AS (SELECT example_id, label, span_text, start FROM span_rows WHERE version_id=?),
                    common AS (SELECT id FROM examples WHERE version_id=?
                               INTERSECT SELECT id FROM examples WHERE version_id=?)
               SELECT label, 'added', count(*) FROM
                 (SELECT * FROM sb WHERE example_id IN (SELECT id FROM common)
                  EXCEPT ALL SELECT * FROM sa) GROUP BY label
               UNION ALL
               SELECT label, 'removed', count(*) FROM
                 (SELECT * FROM sa WHERE example_id IN (SELECT id FROM common)
                  EXCEPT ALL SELECT * FROM sb) GROUP BY label""",
            [va.id, vb.id, va.id, vb.id],
        ).fetchall()
    for label, kind, n in rows:
        out.spans_by_label.setdefault(label, {"added": 0, "removed": 0})[kind] = n
    return out
