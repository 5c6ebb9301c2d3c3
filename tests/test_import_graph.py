"""The import graph: no cycle among module-level imports, dependencies point one way (formats <-
kernel <- identity <- catalog <- licensing <- the other domains <- web <- app; the SDK imports
only the formats), and imports inside functions only defer an optional heavy dependency, each
saying so with a `# deferred:` comment (any other one is a cycle or a layering break hidden)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("marketplace", "catalog", "licensing")
# Imports inside functions: only deferred optional heavy dependencies (pyarrow, boto3, stripe,
# prov, spdx_python_model, and cryptography in the SDK's formats), each with a `# deferred:`
# comment. This number may only go down.
FUNCTION_LEVEL_IMPORTS_CEILING = 9
DEFERRED = "# deferred:"


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


# The layers, lowest first: a module may import its own layer and the layers below it, never
# one above. The SDK stands apart: it may import only the wire formats (a training cluster
# installs it without the server).
LAYERS: list[tuple[str, ...]] = [
    ("marketplace.formats",),
    ("marketplace.kernel",),
    ("marketplace.identity",),
    ("catalog",),
    ("licensing",),
    ("marketplace.commerce", "marketplace.delivery", "marketplace.auditlog", "marketplace.compliance", "marketplace.notifications", "marketplace.sharing"),
    ("marketplace.web",),
    ("marketplace.app",),
]
SDK = "marketplace.sdk"


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _layer(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(_within(module, p) for p in prefixes):
            return i
    return None


def test_every_module_has_a_layer():
    graph, _ = _graph()
    homeless = [m for m in graph if _layer(m) is None and not _within(m, SDK) and m not in ("marketplace",)]
    assert homeless == [], f"modules outside every layer (add them to LAYERS or move them): {homeless}"


def test_dependencies_point_one_way():
    graph, _ = _graph()
    for m, deps in graph.items():
        if _within(m, SDK):
            bad = [d for d in deps if not (_within(d, SDK) or _within(d, "marketplace.formats"))]
            assert bad == [], f"the SDK module {m} imports server code {bad}"
            continue
        mine = _layer(m)
        if mine is None:
            continue
        up = [d for d in deps if (_layer(d) or 0) > mine or _within(d, SDK) and not _within(m, "marketplace.app")]
        assert up == [], f"{m} (layer {LAYERS[mine]}) imports upward: {up}"


def test_the_layer_check_sees_an_upward_import():
    assert _layer("catalog.services.search") < _layer("marketplace.commerce.services")  # type: ignore[operator]
    assert _layer("marketplace.kernel.db") < _layer("marketplace.identity.models")  # type: ignore[operator]


def test_imports_hidden_in_functions_only_become_fewer():
    _, hidden = _graph()
    assert hidden <= FUNCTION_LEVEL_IMPORTS_CEILING, f"{hidden} imports inside functions (ceiling {FUNCTION_LEVEL_IMPORTS_CEILING}): import at module level"


def _undeclared_function_level_imports(source: str, where: str) -> list[str]:
    """Imports inside functions whose line lacks a `# deferred: why` comment."""
    lines = source.splitlines()
    out = []
    for f in ast.walk(ast.parse(source)):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for s in ast.walk(f):
                if isinstance(s, (ast.Import, ast.ImportFrom)) and not any(DEFERRED in lines[i - 1] for i in range(s.lineno, (s.end_lineno or s.lineno) + 1)):
                    out.append(f"{where}:{s.lineno}: {lines[s.lineno - 1].strip()}")
    return out


def test_every_import_inside_a_function_says_why_it_is_deferred():
    bad = [x for p in _modules().values() for x in _undeclared_function_level_imports(p.read_text(), str(p.relative_to(ROOT)))]
    assert bad == [], "imports inside functions without a `# deferred: <why>` comment (import at module level, or defer only an optional heavy dependency):\n" + "\n".join(bad)


def test_the_deferred_check_sees_an_undeclared_import():
    src = "def f():\n    import json\n    import pyarrow  # deferred: heavy\n"
    assert _undeclared_function_level_imports(src, "m.py") == ["m.py:2: import json"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_views_never_touch_the_database():
    """A view parses, makes one service call and dumps: the API modules and the pages reach the
    database only through services (which load what a list needs in one query)."""
    graph, _ = _graph()
    views = [m for m in graph if m.endswith(".api") or _within(m, "marketplace.web")]
    assert len(views) > 8
    session_names = {"get_session", "unit_of_work", "transactional", "Database", "end_read"}
    for m in views:
        tree = ast.parse(_modules()[m].read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("sqlalchemy"), f"{m} builds queries (imports {node.module})"
                if node.module == "marketplace.kernel.db":
                    used = session_names & {a.name for a in node.names}
                    assert not used, f"{m} opens the database itself ({sorted(used)})"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("sqlalchemy") for a in node.names), f"{m} imports sqlalchemy"


DOMAINS = ["catalog", "licensing", "marketplace.identity", "marketplace.commerce", "marketplace.delivery", "marketplace.auditlog", "marketplace.compliance",
           "marketplace.sharing"]
ROOMS = ("models", "schemas", "services", "policy", "api", "actions", "wiring")
# Rooms a domain may lack, and why (a room with nothing in it would only hide that).
WITHOUT = {
    ("marketplace.delivery", "models"): "delivery reads grants and writes quota entries: commerce's tables",
    ("marketplace.auditlog", "actions"): "the audit log's writer is the kernel's; sealing and exports write no event of their own",
}


def test_every_domain_has_the_same_rooms():
    mods = _modules()
    missing = [f"{d}.{room}" for d in DOMAINS for room in ROOMS
               if (d, room) not in WITHOUT and f"{d}.{room}" not in mods and not any(m.startswith(f"{d}.{room}.") for m in mods)]
    assert missing == [], f"rooms missing: {missing}"
    stale = [k for k in WITHOUT if f"{k[0]}.{k[1]}" in mods]
    assert stale == [], f"listed as absent but present: {stale}"
    for d in DOMAINS:
        wiring = mods[f"{d}.wiring"].read_text()
        assert "def init_app(" in wiring, f"{d}.wiring has no init_app"


# The typed accessors: the only places that read the app's wiring.
ACCESSORS = {
    "marketplace.kernel.config": "current_settings()",
    "marketplace.kernel.db": "get_db() / get_session()",
    "marketplace.kernel.jobs": "job_queue()",
    "catalog.storage": "object_store()",
    "marketplace.commerce.payments": "payment_gateway()",
    "marketplace.notifications.mailer": "mailer()",
    "marketplace.kernel.errors": "rolls back after an error, possibly before the database is wired",
    "marketplace.web.apidocs": "the OpenAPI document of the Api the factory built",
    "catalog.services.search": "its per-app facet cache (not a port)",
    "marketplace.identity.keycache": "its per-app cache of resolved API keys, and the hook on the app's sessions (not a port)",
}


def test_ports_and_settings_are_read_one_way():
    """Ports are wired in marketplace.app.factory and reached through typed accessors; settings
    are read through current_settings(). Nothing else digs into current_app."""
    offenders = []
    for m, path in _modules().items():
        if m in ACCESSORS or m.startswith("marketplace.app"):
            continue
        text = path.read_text()
        for needle in ("current_app.extensions", "current_app.config", 'config["SETTINGS"]'):
            if needle in text:
                offenders.append(f"{m}: {needle}")
    assert offenders == [], offenders
