"""Opening a store: somebody else's DuckDB database is never written into without --init; a path
where no store is is an error for inspection commands, not an empty listing."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.core.errors import StoreError
from workbench.load import ingest
from workbench.store.store import Store


@pytest.fixture
def user_db(tmp_path):
    db = tmp_path / "sales.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sales(region VARCHAR, amount INT)")
    con.execute("INSERT INTO sales VALUES ('north', 3)")
    con.close()
    return db


def _tables(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
    finally:
        con.close()


def test_a_foreign_duckdb_database_is_refused(user_db, sample_conll):
    with pytest.raises(StoreError, match="is a DuckDB database but not a workbench store .*sales") as ei:
        ingest(sample_conll, name="s", store=Store(user_db))
    assert "--init" in ei.value.fix
    assert _tables(user_db) == ["sales"]  # nothing written into it
    r = CliRunner().invoke(app, ["ingest", str(sample_conll), "--name", "s", "--db", str(user_db)])
    assert r.exit_code == 1 and "not a workbench store" in r.output and "Traceback" not in r.output
    assert _tables(user_db) == ["sales"]


def test_init_adopts_it(user_db, sample_conll):
    r = CliRunner().invoke(app, ["ingest", str(sample_conll), "--name", "s", "--db", str(user_db), "--init"])
    assert r.exit_code == 0, r.output
    assert {"sales", "versions", "examples"} <= set(_tables(user_db))
    assert [v.ref for v in Store(user_db).versions()] == ["s@1"]
    ingest(sample_conll, name="t", store=Store(user_db))  # a store now: no --init needed again


def test_an_empty_duckdb_file_becomes_a_store(tmp_path, sample_conll):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    assert ingest(sample_conll, name="s", store=Store(db)).ref == "s@1"


def test_versions_of_a_missing_store_is_an_error(tmp_path):
    r = CliRunner().invoke(app, ["versions", "--db", str(tmp_path / "no" / "such.duckdb")])
    assert r.exit_code == 1 and "no corpus store at" in r.output
