"""The CLI: every command has --help, errors print ``error:`` and exit 1 without a traceback,
the core commands work end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from workbench.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def commands(group=None, prefix=()) -> list[tuple[str, ...]]:
    """Every registered command path, sub-apps included (so commands added later are covered)."""
    group = group or typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        out.append(path)
        if hasattr(cmd, "commands"):
            out.extend(commands(cmd, path))
    return out


def test_core_commands_are_registered() -> None:
    names = {c[0] for c in commands()}
    assert {"ingest", "versions", "show", "sql", "export", "diff"} <= names


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    r = runner.invoke(app, [*path, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output
    cmd = typer.main.get_command(app)
    for p in path:
        cmd = cmd.commands[p]
    if not hasattr(cmd, "commands"):
        assert "Example: workbench" in (cmd.help or ""), f"{' '.join(path)} docstring lacks an example"


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args, "--db", str(db)],
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "WORKBENCH_LOCK_TIMEOUT": "5", "COLUMNS": "200"})


def test_end_to_end(tmp_path, sample_conll) -> None:
    db = tmp_path / "wb.duckdb"
    r = run("ingest", str(sample_conll), "--name", "sample", "--lang", "en", db=db)
    assert r.returncode == 0, r.stderr
    assert "stored sample@1: 36 examples, 71 spans" in r.stdout
    r = run("versions", db=db)
    assert r.returncode == 0 and "sample@1" in r.stdout and "ingest" in r.stdout
    r = run("show", "sample", "--limit", "2", db=db)
    assert r.returncode == 0 and "Maria Schmidt" in r.stdout and "[Maria Schmidt]PER" in r.stdout
    r = run("sql", "SELECT label, spans FROM label_counts WHERE ref='sample@1' ORDER BY label",
            "-o", "json", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"label": "LOC", "spans": 27}, {"label": "MISC", "spans": 10},
                                    {"label": "ORG", "spans": 19}, {"label": "PER", "spans": 15}]
    r = run("sql", "SELECT ref, n_examples FROM version_refs", "-o", "csv", db=db)
    assert r.stdout.splitlines() == ['"ref","n_examples"', '"sample@1",36']
    r = run("sql", "SELECT count(*) AS n FROM span_rows", db=db)
    assert r.returncode == 0 and "71" in r.stdout
    out = tmp_path / "out.conll"
    r = run("export", "sample@1", "-f", "conll", "-o", str(out), "--scheme", "bioes", "--comments",
            db=db)
    assert r.returncode == 0 and "wrote 36 examples" in r.stdout
    assert "S-LOC" in out.read_text()
    r = run("ingest", str(out), "--name", "sample", "--scheme", "bioes", db=db)
    assert r.returncode == 0 and "sample@2" in r.stdout
    r = run("diff", "sample@1", "sample@2", db=db)
    assert r.returncode == 0 and "0 examples added, 0 removed, 0 changed" in r.stdout


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "wb.duckdb"
    r = run("ingest", str(ROOT / "data" / "sample-en.conll"), "--name", "sample", db=db)
    assert r.returncode == 0, r.stderr
    return db


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "error: no version 'nope'"),
        (["show", "sample@9"], "error: no version 'sample@9'"),
        (["sql", "SELEC 1"], "error: SQL error"),
        (["sql", "DROP TABLE examples"], "error: read-only inspection"),
        (["export", "sample", "-f", "xml", "-o", "x.xml"], "error: unknown export format 'xml'"),
        (["diff", "sample", "nope@2"], "error: no version 'nope@2'"),
        (["ingest", "/no/such/file.conll", "--name", "x"], "error: /no/such/file.conll: no such file"),
        (["ingest", "/no/such/file", "--name", "x"], "error: /no/such/file: cannot read"),
        (["ingest", "BAD", "--name", "x"], "BAD.conll:2: expected a token and a tag"),
        (["ingest", "BAD", "--name", "bad name"], "error: bad corpus name"),
    ],
)
def test_errors_exit_1_without_traceback(seeded_db, args, message) -> None:
    """In-process (fast); the uniform handler turns every WorkbenchError into ``error:``."""
    db = seeded_db
    bad = db.parent / "BAD.conll"
    bad.write_text("Ada B-PER\nLovelace\n")
    args = [str(bad) if a == "BAD" else a for a in args]
    r = runner.invoke(app, [*args, "--db", str(db)], env={"WORKBENCH_LOCK_TIMEOUT": "5"})
    assert r.exit_code == 1, r.output
    assert message in r.stderr
    assert r.stderr.startswith("error:") and "fix:" in r.stderr
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_real_process_errors_show_no_traceback(seeded_db) -> None:
    for args in (["show", "nope"], ["ingest", str(seeded_db.parent / "BAD.conll"), "--name", "x"]):
        r = run(*args, db=seeded_db)
        assert r.returncode == 1 and r.stderr.startswith("error:")
        assert "Traceback" not in r.stderr + r.stdout
    # nothing was stored by the failed commands
    r = run("sql", "SELECT count(*) AS n FROM versions", "-o", "csv", db=seeded_db)
    assert r.stdout.split() == ['"n"', "1"]


def test_no_store_yet(tmp_path) -> None:
    r = run("show", "x", db=tmp_path / "none.duckdb")
    assert r.returncode == 1 and "error: no corpus store at" in r.stderr and "fix:" in r.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_in_process_errors_are_uniform(tmp_path) -> None:
    r = runner.invoke(app, ["show", "x", "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 1
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "error: no corpus store" in r.output


def test_ingest_warnings_are_shown(tmp_path) -> None:
    f = tmp_path / "r.conll"
    f.write_text("Hello O\nAda I-PER\n\n" * 25)
    r = run("ingest", str(f), "--name", "r", db=tmp_path / "wb.duckdb")
    assert r.returncode == 0 and "warning:" in r.stderr and "I- without" in r.stderr
    assert r.stderr.count("warning:") == 20 and "... and 5 more warnings" in r.stderr
    r = run("ingest", str(f), "--name", "r2", "--strict", db=tmp_path / "wb.duckdb")
    assert r.returncode == 1 and "error:" in r.stderr and "strict" in r.stderr


@pytest.mark.shared
def test_uner_columns_via_cli(tmp_path, shared_data) -> None:
    src = shared_data / "uner-en-ewt" / "en_ewt-ud-dev.iob2"
    r = run("ingest", str(src), "--name", "uner", "--tag-column", "2", "--token-column", "1",
            db=tmp_path / "wb.duckdb")
    assert r.returncode == 0, r.stderr
    assert "stored uner@1: 2001 examples" in r.stdout


def test_ingest_hf_directory_with_other_columns(tmp_path) -> None:
    import datasets

    ds = datasets.Dataset.from_dict({"words": [["Ada", "spoke"]], "labels": [["B-PER", "O"]]})
    ds.save_to_disk(str(tmp_path / "ds"))
    db = tmp_path / "wb.duckdb"
    r = run("ingest", str(tmp_path / "ds"), "--name", "d", db=db)
    assert r.returncode == 1 and "no column 'tokens'" in r.stderr
    r = run("ingest", str(tmp_path / "ds"), "--name", "d", "--tokens-column", "words",
            "--tags-column", "labels", db=db)
    assert r.returncode == 0, r.stderr
    assert "stored d@1: 1 examples, 1 spans" in r.stdout
