"""Inspection SQL cannot write: hostile statements through ``Store.sql`` and ``workbench sql`` leave
the store's content as it was, write no file anywhere, and leave nothing behind for the next call."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.core.errors import StoreError
from workbench.load import ingest
from workbench.store.store import Store


def _hostile(db: Path, tmp: Path) -> list[str]:
    other, out = tmp / "other.duckdb", tmp / "stolen"
    return [
        f"USE memory; DETACH store; ATTACH '{db}' AS rw; DELETE FROM rw.examples; DELETE FROM rw.versions",
        "DELETE FROM examples",
        "DROP TABLE examples",
        "UPDATE versions SET corpus = 'x'",
        "INSERT INTO versions SELECT * FROM versions",
        f"ATTACH '{db}' AS rw",
        "DETACH store",
        f"COPY examples TO '{out}.csv'",
        f"COPY (SELECT * FROM examples) TO '{out}.parquet' (FORMAT parquet)",
        f"EXPORT DATABASE '{out}-dir'",
        f"ATTACH '{other}'; CREATE TABLE other.t AS SELECT 1",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "PRAGMA memory_limit = '1GB'",
        "CREATE TABLE memory.t AS SELECT 1",
        "CREATE TEMP TABLE leak AS SELECT 42 AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "CHECKPOINT",
        "BEGIN TRANSACTION",
        "ALTER TABLE versions ADD COLUMN evil INT",
        "CREATE MACRO m() AS 1",
        f"SELECT * FROM read_csv('{db}')",
        f"SELECT 1; COPY examples TO '{out}-2.csv'",
        "VACUUM",
    ]


def _content(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT * FROM versions ORDER BY id").fetchall()
        rows += con.execute("SELECT version_id, idx, id, text, spans::VARCHAR FROM examples ORDER BY ALL").fetchall()
        tables = con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
    finally:
        con.close()
    return hashlib.sha256(repr((rows, tables)).encode()).hexdigest()


@pytest.fixture
def corpus(tmp_path, sample_conll):
    db = tmp_path / "store" / "wb.duckdb"
    ingest(sample_conll, name="s", lang="en", store=Store(db))
    return db


def test_hostile_statements_write_nothing(corpus, tmp_path):
    store = Store(corpus, lock_timeout=5)
    before, files = _content(corpus), sorted(tmp_path.rglob("*"))
    statements = _hostile(corpus, tmp_path)
    assert len(statements) >= 14
    for sql in statements:
        with pytest.raises(StoreError):
            store.sql(sql)
        assert _content(corpus) == before, sql
        assert sorted(tmp_path.rglob("*")) == files, sql  # no file written, none removed
    # nothing leaked into the next call: settings and tables of one call are gone
    assert store.sql("SELECT current_setting('enable_external_access') AS on").to_pylist() == [{"on": False}]
    with pytest.raises(StoreError, match="SQL error"):
        store.sql("SELECT * FROM leak")
    assert store.sql("SELECT count(*) AS n FROM examples").to_pylist() == [{"n": 36}]


def test_refusals_say_it_is_read_only_inspection(corpus):
    with pytest.raises(StoreError, match="read-only inspection: DELETE") as ei:
        Store(corpus).sql("DELETE FROM examples")
    assert "workbench commands" in ei.value.fix


@pytest.mark.parametrize("query", ["SELECT * FROM span_rows LIMIT 2", "DESCRIBE examples", "SHOW TABLES",
                                   "SUMMARIZE versions", "EXPLAIN SELECT 1", "PRAGMA table_info('versions')",
                                   "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "FROM label_counts"])
def test_reads_still_work(corpus, query):
    assert Store(corpus).sql(query).num_rows > 0


def test_the_cli_refuses_without_a_traceback(corpus, tmp_path):
    for sql in _hostile(corpus, tmp_path)[:6]:
        r = CliRunner().invoke(app, ["sql", sql, "--db", str(corpus)], env={"COLUMNS": "200"})
        assert r.exit_code == 1 and "error:" in r.output and "Traceback" not in r.output, sql
    r = CliRunner().invoke(app, ["sql", "SELECT count(*) AS n FROM versions", "-o", "json", "--db", str(corpus)])
    assert r.exit_code == 0 and '"n": 1' in r.output
