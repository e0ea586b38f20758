"""The store's whole schema: every table and view, the side tables of the stages included.

Statements run on the first write connection of a process to a file (:func:`ensure_schema`), and
are skipped when the file's ``store_meta`` already holds their hash. Keeping them all here means
the schema of a file does not depend on which stage modules a process happened to import.
"""

from __future__ import annotations

import hashlib

import duckdb

__all__ = ["CACHE_TABLE", "DDL", "SCHEMA_VERSION", "VIEWS", "NotAStore", "ensure_schema", "has_table"]

SCHEMA_VERSION = 1

#: the core tables: versions, their examples, and the store's own facts
_DDL = [
    "CREATE SEQUENCE IF NOT EXISTS version_ids START 1",
    """CREATE TABLE IF NOT EXISTS versions(
        id INTEGER PRIMARY KEY,
        corpus VARCHAR NOT NULL,
        number INTEGER NOT NULL,
        stage VARCHAR NOT NULL,
        parents INTEGER[] NOT NULL,
        signature VARCHAR NOT NULL,
        signature_key VARCHAR NOT NULL,
        params JSON,
        lang VARCHAR,
        n_examples BIGINT NOT NULL,
        n_spans BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        UNIQUE(corpus, number))""",
    """CREATE TABLE IF NOT EXISTS examples(
        version_id INTEGER NOT NULL,
        idx BIGINT NOT NULL,
        id VARCHAR NOT NULL,
        split VARCHAR,
        lang VARCHAR,
        text VARCHAR NOT NULL,
        offsets STRUCT(start INTEGER, "end" INTEGER)[],
        spans STRUCT(start INTEGER, "end" INTEGER, label VARCHAR, token_start INTEGER,
                     token_end INTEGER, score DOUBLE, source INTEGER)[],
        outcomes STRUCT(source INTEGER, label VARCHAR, outcome VARCHAR, reason VARCHAR,
                        projector VARCHAR, score DOUBLE)[],
        meta JSON)""",
    "CREATE TABLE IF NOT EXISTS store_meta(key VARCHAR PRIMARY KEY, value VARCHAR)",
]

#: Documented views for the common questions (``workbench sql "SELECT * FROM label_counts"``).
VIEWS = {
    "version_refs": """CREATE OR REPLACE VIEW version_refs AS
        SELECT corpus || '@' || number AS ref, * FROM versions""",
    "span_rows": """CREATE OR REPLACE VIEW span_rows AS
        SELECT v.corpus || '@' || v.number AS ref, e.version_id, e.id AS example_id, e.split,
               e.lang, s.i - 1 AS span_index, s.sp.label AS label, s.sp.start AS start,
               s.sp."end" AS "end", substr(e.text, s.sp.start + 1, s.sp."end" - s.sp.start) AS span_text,
               s.sp.token_start AS token_start, s.sp.token_end AS token_end,
               s.sp.score AS score, s.sp.source AS source
        FROM examples e JOIN versions v ON v.id = e.version_id,
             (SELECT unnest(e.spans) AS sp, generate_subscripts(e.spans, 1) AS i) s""",
    "label_counts": """CREATE OR REPLACE VIEW label_counts AS
        SELECT ref, label, count(*) AS spans, count(DISTINCT example_id) AS examples
        FROM span_rows GROUP BY ref, label""",
    "outcome_rows": """CREATE OR REPLACE VIEW outcome_rows AS
        SELECT v.corpus || '@' || v.number AS ref, e.version_id, e.id AS example_id,
               o.source, o.label, o.outcome, o.reason, o.projector, o.score
        FROM examples e JOIN versions v ON v.id = e.version_id,
             (SELECT unnest(e.outcomes, recursive := true)) o""",
}

#: the translation cache (:mod:`workbench.translate.cache`): one row per model, decoding
#: parameters, languages and source text
CACHE_TABLE = "translate_cache"

#: side tables of the stages: the translation cache, filter decisions, pipeline step records
SIDE_TABLES = [
    """CREATE TABLE IF NOT EXISTS translate_cache(
    key VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    params VARCHAR NOT NULL,
    src_lang VARCHAR NOT NULL,
    tgt_lang VARCHAR NOT NULL,
    src_text VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    score DOUBLE,
    avg_logprob DOUBLE,
    n_tokens INTEGER,
    token_logprobs DOUBLE[],
    split JSON,
    created_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS filter_decisions(
        version_id INTEGER NOT NULL,
        input_version_id INTEGER NOT NULL,
        example_id VARCHAR NOT NULL,
        idx BIGINT NOT NULL,
        filter VARCHAR NOT NULL,
        kept BOOLEAN NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR,
        value DOUBLE)""",
    """CREATE OR REPLACE VIEW filter_rows AS
        SELECT v.corpus || '@' || v.number AS ref, d.*
        FROM filter_decisions d JOIN versions v ON v.id = d.version_id""",
    """CREATE TABLE IF NOT EXISTS pipeline_steps(
        step_key VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        version_id INTEGER NOT NULL,
        stage VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL)""",
]

#: every statement, in order (views last: they name the tables)
DDL = [*_DDL, *SIDE_TABLES]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store (the connection's current database) has a table or view ``name``."""
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_name = ? AND table_catalog = current_database()", [name]
        ).fetchall()[0][0]
    )


class NotAStore(Exception):
    """The database holds tables of its own and no workbench schema (``tables``: some names)."""

    def __init__(self, tables: list[str]):
        super().__init__(", ".join(tables))
        self.tables = tables


def ensure_schema(con: duckdb.DuckDBPyConnection, *, adopt: bool = False) -> None:
    """Run the schema statements (:data:`DDL`, :data:`VIEWS`) unless the file already has
    exactly these: their hash is kept in ``store_meta`` so a write skips them all.

    A database that holds tables but no ``store_meta`` is somebody else's: :class:`NotAStore`
    unless ``adopt`` (nothing is written into it then)."""
    stmts = [*DDL, *VIEWS.values()]
    digest = hashlib.sha256("\0".join(stmts).encode()).hexdigest()[:16]
    try:
        row = con.execute("SELECT value FROM store_meta WHERE key = 'schema'").fetchall()
    except duckdb.CatalogException:
        row = None
        if not adopt:
            found = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
                "ORDER BY table_name LIMIT 5").fetchall()]
            if found:
                raise NotAStore(found) from None
    if row and row[0][0] == digest:
        return
    for st in stmts:
        con.execute(st)
    con.execute("INSERT OR REPLACE INTO store_meta VALUES ('schema', ?)", [digest])
