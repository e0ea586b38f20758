"""The SQL behind ``workbench report``: every number of a report comes from a query here.

Each function takes an open DuckDB connection and version ids, so the report and its tests can
check the same figures against independent SQL.
"""

from __future__ import annotations

from typing import Any

import duckdb

from workbench.store.schema import has_table

__all__ = [
    "version_counts",
    "label_counts",
    "source_label_counts",
    "outcome_counts",
    "filter_counts",
    "rejection_counts",
    "histogram",
    "VALUES",
]


def version_counts(con: duckdb.DuckDBPyConnection, vid: int) -> tuple[int, int]:
    """(examples, spans) of a version, counted from the examples table."""
    row = con.execute("SELECT count(*), coalesce(sum(len(spans)), 0) FROM examples WHERE version_id = ?",
                      [vid]).fetchone()
    return int(row[0]), int(row[1])  # type: ignore[index]


def label_counts(con: duckdb.DuckDBPyConnection, vid: int) -> dict[str, tuple[int, int]]:
    """label -> (spans, examples with that label) of a version."""
    rows = con.execute(
        """SELECT s.label, count(*), count(DISTINCT id)
           FROM (SELECT id, unnest(spans) AS s FROM examples WHERE version_id = ?)
           GROUP BY s.label ORDER BY s.label""", [vid]).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def source_label_counts(con: duckdb.DuckDBPyConnection, src_vid: int, vid: int) -> dict[str, tuple[int, int]]:
    """label -> (spans, examples) of the source version, over the examples that ``vid`` holds."""
    rows = con.execute(
        """SELECT s.label, count(*), count(DISTINCT id)
           FROM (SELECT id, unnest(spans) AS s FROM examples
                 WHERE version_id = ? AND id IN (SELECT id FROM examples WHERE version_id = ?))
           GROUP BY s.label ORDER BY s.label""", [src_vid, vid]).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def outcome_counts(con: duckdb.DuckDBPyConnection, vid: int) -> list[tuple[str, str, str, int]]:
    """(label, projector, outcome, count) of the projection outcomes stored with a version."""
    rows = con.execute(
        """SELECT o.label, coalesce(o.projector, ''), o.outcome, count(*)
           FROM (SELECT unnest(outcomes) AS o FROM examples WHERE version_id = ?)
           GROUP BY ALL ORDER BY 1, 2, 3""", [vid]).fetchall()
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]


def filter_counts(con: duckdb.DuckDBPyConnection, vid: int) -> tuple[int, int, int] | None:
    """(input examples, kept, rejected) of a filtered version from its decisions; None if none."""
    if not has_table(con, "filter_decisions"):
        return None
    row = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok)
           FROM (SELECT example_id, bool_and(kept) AS ok FROM filter_decisions
                 WHERE version_id = ? GROUP BY example_id)""", [vid]).fetchone()
    if not row or row[0] == 0:
        return None
    return int(row[0]), int(row[1]), int(row[2])


def rejection_counts(con: duckdb.DuckDBPyConnection, vid: int) -> list[tuple[str, str, int]]:
    """(filter, reason, rejected examples) of a filtered version, most frequent first."""
    if not has_table(con, "filter_decisions"):
        return []
    rows = con.execute(
        """SELECT filter, reason, count(*) FROM filter_decisions
           WHERE version_id = ? AND NOT kept GROUP BY ALL ORDER BY 3 DESC, 1, 2""", [vid]).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]


#: Named value queries for histograms; each has parameters (version id, source version id).
VALUES: dict[str, tuple[str, str]] = {
    "span_score": (
        "projected span score",
        """SELECT s.score AS v FROM (SELECT unnest(spans) AS s FROM examples WHERE version_id = $vid)
           WHERE s.score IS NOT NULL""",
    ),
    "mt_avg_logprob": (
        "MT mean token log-probability",
        """SELECT TRY_CAST(json_extract(meta, '$.mt_avg_logprob') AS DOUBLE) AS v
           FROM examples WHERE version_id = $vid""",
    ),
    "length_ratio": (
        "length ratio (target / source characters)",
        """SELECT length(e.text) / nullif(length(coalesce(json_extract_string(e.meta, '$.src_text'),
                                                          s.text)), 0) AS v
           FROM examples e LEFT JOIN examples s ON s.version_id = $src AND s.id = e.id
           WHERE e.version_id = $vid""",
    ),
}


def histogram(con: duckdb.DuckDBPyConnection, name: str, vid: int, src_vid: int | None,
              bins: int = 20) -> dict[str, Any] | None:
    """Equal-width histogram of the values ``VALUES[name]``: ``{"title", "lo", "hi", "counts",
    "n", "mean", "min", "max"}`` (``lo``/``hi`` are the outer bin edges; the last bin includes
    ``hi``); ``None`` when the version has no such values."""
    title, q = VALUES[name]
    params = {"vid": vid, "src": src_vid if src_vid is not None else -1}
    if "$src" not in q:
        params.pop("src")
    stats = con.execute(f"SELECT count(v), min(v), max(v), avg(v) FROM ({q}) WHERE v IS NOT NULL",
                        params).fetchone()
    n, lo, hi, mean = stats  # type: ignore[misc]
    if not n:
        return None
    vmin, vmax = float(lo), float(hi)
    if hi <= lo:  # all values equal: one unit-wide range centred on them
        lo, hi = vmin - 0.5, vmin + 0.5
    width = (hi - lo) / bins
    rows = con.execute(
        f"""SELECT least(CAST(floor((v - $lo) / $w) AS INTEGER), {bins - 1}) AS b, count(*)
            FROM ({q}) WHERE v IS NOT NULL GROUP BY b ORDER BY b""",
        {**params, "lo": lo, "w": width}).fetchall()
    counts = [0] * bins
    for b, c in rows:
        counts[int(b)] = int(c)
    return {"title": title, "lo": float(lo), "hi": float(hi), "counts": counts,
            "n": int(n), "mean": float(mean), "min": vmin, "max": vmax}
