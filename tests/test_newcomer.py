"""The README walked as a newcomer: a fresh checkout, the quickstart, then the commands the README
and the help teach, as written, with neither ``--db`` nor ``WORKBENCH_DB`` (the store is
``./workbench.duckdb`` for every command, ``workbench run`` included)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.pipeline_stages import quickstart_once

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def qs(tmp_path_factory):
    return quickstart_once(tmp_path_factory)


def _wb(qs, *args: str) -> subprocess.CompletedProcess:
    assert "--db" not in args and not any(k.startswith("WORKBENCH_DB") for k in qs["env"])
    r = subprocess.run([sys.executable, "-m", "workbench", *args], cwd=qs["checkout"], env=qs["env"],
                       capture_output=True, text=True, timeout=300)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r


def test_versions_and_show_see_the_quickstart(qs) -> None:
    r = _wb(qs, "versions")
    assert r.returncode == 0, r.stderr
    for ref in ("sample-en@1", "sample-en.de@1", "sample-en.de@2", "sample-en.de@3", "sample-en.es@3"):
        assert ref in r.stdout
    r = _wb(qs, "show", "sample-en.de")
    assert r.returncode == 0, r.stderr
    assert "sample-en.de@3 stage=filter" in r.stdout and "signature: wb:" in r.stdout
    assert len(re.findall(r"\[[^\]]+\](PER|ORG|LOC|MISC)", r.stdout)) >= 5  # the first examples' spans


def _strip_comments(q: str) -> str:
    return "\n".join(ln for ln in q.splitlines() if not ln.strip().startswith("--")).strip()


def test_each_readme_sql_example_through_the_cli(qs) -> None:
    queries = [_strip_comments(q) for q in (ROOT / "README.md").read_text().split("## SQL on the store")[1]
               .split("```sql\n")[1].split("```")[0].split(";") if _strip_comments(q)]
    assert len(queries) == 4
    want = {0: {"ref", "stage", "n_examples", "n_spans", "signature"}, 1: {"example_id", "label", "span_text"},
            3: {"ref", "examples"}}
    for i, q in enumerate(queries):
        r = _wb(qs, "sql", q, "-o", "json")
        assert r.returncode == 0, (q, r.stderr)
        rows = json.loads(r.stdout)
        if i in want:
            assert rows and set(rows[0]) == want[i], (q, rows[:1])
        if i == 0:
            assert len(rows) == 7  # sample-en@1, and @1..@3 of each translation
        if i == 1:
            assert len(rows) == 10
        if i == 3:  # the attached translations have no spans yet
            assert {"sample-en.de@1", "sample-en.es@1"} <= {r["ref"] for r in rows}
        if i == 2:
            assert {"ref", "label", "spans"} <= set(rows[0]) and len({r["ref"] for r in rows}) == 5  # with spans


def test_export_by_extension_and_report_html(qs, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    r = _wb(qs, "export", "sample-en.de", "-o", str(out))
    assert r.returncode == 0, r.stderr
    t = pq.read_table(out)
    assert {"id", "split", "lang", "text", "offsets", "spans", "outcomes", "meta"} <= set(t.column_names)
    assert set(t.column("lang").to_pylist()) == {"de"}
    shown = _wb(qs, "sql", "SELECT n_examples FROM version_refs WHERE ref = 'sample-en.de@3'", "-o", "json")
    assert t.num_rows == json.loads(shown.stdout)[0]["n_examples"] > 0
    page = tmp_path / "r.html"
    r = _wb(qs, "report", "sample-en.de", "--html", str(page))
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert "<h3>Examples</h3>" in html
    section = html.split("<h3>Examples</h3>", 1)[1]
    assert len(re.findall(r'<mark style="background:#[0-9a-fA-F]{6}', section)) >= 10  # coloured spans


def _help_examples() -> list[list[str]]:
    import typer.main

    from workbench.cli import app

    group = typer.main.get_command(app)
    out = []

    def walk(cmd) -> None:
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)
        for m in re.finditer(r"Example: (workbench [^\n]+)", cmd.help or ""):
            out.append(shlex.split(m.group(1)))
    walk(group)
    return out


def test_help_examples_name_versions_the_quickstart_made(qs) -> None:
    """A ref in a help example (sample-en..., a NAME@N) is one the quickstart stored, so a newcomer
    can paste it; the read-only ones run as written."""
    examples = _help_examples()
    assert len(examples) >= 10
    refs = _wb(qs, "sql", "SELECT ref, corpus FROM version_refs", "-o", "json")
    known = {r["ref"] for r in json.loads(refs.stdout)} | {r["corpus"] for r in json.loads(refs.stdout)}
    named = [(ex, a) for ex in examples for a in ex[2:] if a.startswith("sample-en")]
    assert named
    assert [(" ".join(ex), a) for ex, a in named if a not in known] == []
    for ex in examples:
        if ex[1] in ("show", "diff", "versions", "sql"):
            r = _wb(qs, *ex[1:])
            assert r.returncode == 0, (ex, r.stderr)
