"""The suite's own hygiene: no module of the suite imports a test module (shared helpers live in
helpers modules, the test data in the tests/factories package, fixtures in conftest), the
factories build on nothing but the application (helpers may use them, not the other way round),
and tests write their output under build/, not into the tree."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import of a file: `import a.b` is ("a.b", [])."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return out


def test_no_module_imports_a_test_module():
    offenders = []
    for path in TESTS.rglob("*.py"):
        for module, names in _imports(path):
            parts = module.split(".")
            if any(p.startswith("test_") for p in parts) or (parts[0] == "tests" and any(n.startswith("test_") for n in names)):
                offenders.append(f"{path.relative_to(TESTS)}: {module} {', '.join(names)}".strip())
    assert offenders == []


def test_factories_build_on_the_application_only():
    factories = TESTS / "factories"
    assert (factories / "__init__.py").exists() and not (TESTS / "factories.py").exists()
    assert not list(factories.rglob("test_*.py")), "tests of the factories live in tests/test_factories.py"
    offenders = [f"{path.relative_to(TESTS)}: {module}" for path in factories.rglob("*.py") for module, _ in _imports(path)
                 if module.split(".")[0] == "tests" and not module.startswith("tests.factories")]
    assert offenders == []
