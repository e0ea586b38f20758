"""The shape of the code, checked: no import circles (function-local imports included), no
module loaded by name, no oversized module. The layer rules themselves are import-linter
contracts in pyproject.toml (``lint-imports``, run by ``just lint``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (pip install -e '.[dev]')")

#: longest module allowed (aim ~500 lines)
MAX_LINES = 600


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself
    (Tarjan, iterative: the graph has a few hundred edges)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1 or node in graph.get(node, ()):
                    found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", ["workbench", "projectors"])
def test_the_module_graph_has_no_cycle(package):
    g = grimp.build_graph(package)  # every import statement, in functions and TYPE_CHECKING too
    graph = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    assert _cycles(graph) == []


def _python_files() -> list[Path]:
    return sorted([*ROOT.joinpath("workbench").rglob("*.py"), *ROOT.joinpath("projectors").rglob("*.py")])


def test_no_module_is_loaded_by_name():
    """The graph the linter sees is the real one: nothing of ours is imported by a string."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in ("import_module", "__import__") and node.args:
                    arg = node.args[0]
                    if not isinstance(arg, ast.Constant) or str(arg.value).startswith(("workbench", "projectors")):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_no_module_passes_the_size_limit():
    long = {str(p.relative_to(ROOT)): n for p in _python_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
