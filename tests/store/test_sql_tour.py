"""Every query of examples/sql-tour.md runs on a corpus produced by the quickstart data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures.pipeline_stages import quickstart_once
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _queries() -> list[tuple[str, str]]:
    text = (ROOT / "examples" / "sql-tour.md").read_text()
    out, title = [], ""
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        title = block.splitlines()[0]
        out += [(title, q.strip()) for q in re.findall(r"```sql\n(.*?)```", block, flags=re.S)]
    return out


@pytest.fixture(scope="module")
def tour_store(tmp_path_factory) -> Store:
    """The store of the quickstart run (``workbench run examples/quickstart.toml``)."""
    qs = quickstart_once(tmp_path_factory)
    return Store(qs["db"])


def test_the_tour_has_queries() -> None:
    assert len(_queries()) >= 8


@pytest.mark.parametrize("title,query", _queries(), ids=[t.split(".")[0] for t, _ in _queries()])
def test_tour_query_runs(tour_store, title: str, query: str) -> None:
    rows = tour_store.sql(query).to_pylist()
    if title.startswith(("1.", "2.", "3.", "4.", "5.", "9.")):
        assert rows, f"{title}: no rows"
    if title.startswith("3."):
        assert rows[0]["source"].startswith("Maria Schmidt") and rows[0]["translation"].startswith("Maria")


def test_tour_query_through_the_cli(tour_store) -> None:
    import json

    from typer.testing import CliRunner

    from workbench.cli import app

    query = _queries()[0][1]
    r = CliRunner().invoke(app, ["sql", query, "--db", str(tour_store.path), "-o", "json"])
    assert r.exit_code == 0, r.output
    refs = [row["ref"] for row in json.loads(r.output)]
    assert refs[:3] == ["sample-en@1", "sample-en.de@1", "sample-en.es@1"]
