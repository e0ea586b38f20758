"""Text is shown as it is: corpus text, file names, SQL results, errors and help keep their square
brackets (rich markup is off for them), and ``sql`` prints every documented table and view in
every output format."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "200"}


def _run(*args: str):
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    src = tmp_path / "x[abc].conll"
    shutil.copy(ROOT / "data" / "sample-en.conll", src)
    db = tmp_path / "wb.duckdb"
    r = _run("ingest", str(src), "--name", "xabc", "--lang", "en", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert "stored xabc@1" in r.output
    return db


def test_file_names_and_corpus_text_keep_their_brackets(db):
    r = _run("show", "xabc", "--limit", "1", "--db", str(db))
    assert r.exit_code == 0 and "x[abc].conll" in r.output and "[Maria Schmidt]PER" in r.output


def test_sql_results_are_not_read_as_markup(db):
    r = _run("sql", "SELECT '[bold]x[/bold] [citation needed]' AS t", "--db", str(db))
    assert r.exit_code == 0 and "[bold]x[/bold] [citation needed]" in r.output


def test_errors_keep_their_brackets(db):
    r = _run("sql", "SELECT * FROM [nope]", "--db", str(db))
    assert r.exit_code == 1 and "error:" in r.output and "[nope]" in r.output
    assert "Traceback" not in r.output


def test_help_keeps_its_brackets():
    r = _run("translate", "--help")
    assert r.exit_code == 0 and "'workbench[ray]'" in r.output


@pytest.mark.parametrize("rel", ["versions", "examples", "version_refs", "span_rows", "label_counts",
                                 "outcome_rows", "translate_cache", "filter_rows"])
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_sql_prints_every_documented_table_and_view(db, rel, fmt):
    r = _run("sql", f"SELECT * FROM {rel} LIMIT 3", "-o", fmt, "--db", str(db))
    assert r.exit_code == 0, r.output
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        if rel == "version_refs":  # nested values as JSON text
            assert json.loads(rows[0]["parents"]) == [] and rows[0]["ref"] == "xabc@1"
        if rel == "examples":
            assert json.loads(rows[0]["spans"])[0]["label"] == "PER"
    elif fmt == "json":
        assert isinstance(json.loads(r.stdout), list)


def test_sql_prints_each_statement_and_refuses_an_empty_query(db):
    r = _run("sql", "SELECT 1 AS one; SELECT 2 AS two", "-o", "json", "--db", str(db))
    assert r.exit_code == 0 and [json.loads(x) for x in r.stdout.splitlines()] == [[{"one": 1}], [{"two": 2}]]
    r = _run("sql", "  ", "--db", str(db))
    assert r.exit_code == 1 and "the query is empty" in r.output


def test_export_takes_its_format_from_the_output_name(db, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "x.parquet"
    r = _run("export", "xabc", "-o", str(out), "--db", str(db))
    assert r.exit_code == 0 and "(parquet)" in r.output, r.output
    table = pq.read_table(out)  # a real Parquet file, not CoNLL text under a .parquet name
    assert table.num_rows == 36 and {"id", "text", "spans"} <= set(table.column_names)
    r = _run("export", "xabc", "-f", "conll", "-o", str(tmp_path / "y.parquet"), "--db", str(db))
    assert r.exit_code == 1 and "named like parquet" in r.output and not (tmp_path / "y.parquet").exists()
    r = _run("export", "xabc", "-o", str(tmp_path / "z.xml"), "--db", str(db))
    assert r.exit_code == 1 and "cannot tell the export format" in r.output
    r = _run("export", "xabc", "-o", str(tmp_path / "hf"), "--db", str(db))
    assert r.exit_code == 0 and (tmp_path / "hf" / "README.md").is_file(), r.output


def test_report_html_to_an_unwritable_place_is_an_error(db, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run("report", "xabc", "--html", str(blocker / "r.html"), "--db", str(db))
    assert r.exit_code == 1 and "cannot write the report" in r.output and "Traceback" not in r.output


def _commands():
    import typer.main

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield path
    yield from walk(typer.main.get_command(app), [])


def test_flags_show_no_value_type_in_help() -> None:
    """An on/off flag takes no value, so help shows no ``<bool>`` beside it (options that take
    a value keep their type)."""
    paths = list(_commands())
    assert len(paths) >= 15
    for path in paths:
        r = _run(*path, "--help")
        assert r.exit_code == 0, path
        assert "<bool>" not in r.output, path
    assert "<int>" in _run("translate", "--help").output
