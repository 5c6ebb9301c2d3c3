"""The import graph: no cycle among module-level imports, dependencies point one way (kernel <-
catalog <- licensing <- the other domains <- app and web), and imports hidden inside functions
only become fewer (each one is a cycle or a layering break waiting to be seen)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("marketplace", "catalog", "licensing")
# Imports inside functions today; R2 2/11 removes them (deferring only optional heavy
# dependencies, with a comment). This number may only go down.
FUNCTION_LEVEL_IMPORTS_CEILING = 125


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            parts = p.relative_to(ROOT).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


def _graph() -> tuple[dict[str, set[str]], int]:
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    hidden = 0
    for m, p in mods.items():
        tree = ast.parse(p.read_text())
        for node in tree.body:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for n in names:
                r = resolve(n)
                if r and r != m:
                    graph[m].add(r)
        hidden += sum(1 for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for s in ast.walk(f) if isinstance(s, (ast.Import, ast.ImportFrom)))
    return graph, hidden


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_cycle_among_module_level_imports():
    graph, _ = _graph()
    assert _cycles(graph) == []


def test_dependencies_point_one_way():
    graph, _ = _graph()
    kernel = {m for m in graph if m.startswith("marketplace.core")}
    for m in kernel:
        bad = [d for d in graph[m] if not d.startswith("marketplace.core")]
        assert bad == [], f"the kernel module {m} imports {bad}"
    for m in (m for m in graph if m.startswith("catalog")):
        bad = [d for d in graph[m] if d.startswith(("licensing", "marketplace.")) and not d.startswith("marketplace.core")]
        assert bad == [], f"{m} imports {bad}"


def test_imports_hidden_in_functions_only_become_fewer():
    _, hidden = _graph()
    assert hidden <= FUNCTION_LEVEL_IMPORTS_CEILING, f"{hidden} imports inside functions (ceiling {FUNCTION_LEVEL_IMPORTS_CEILING}): import at module level"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
