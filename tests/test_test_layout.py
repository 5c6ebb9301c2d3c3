"""The suite's own hygiene: no test module imports another test module (shared helpers live in
helpers modules and conftest), and tests write their output under build/, not into the tree."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_another():
    offenders = []
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                names = [a.name for a in node.names]
                if any(p.startswith("test_") for p in parts) or any(n.startswith("test_") for n in names if parts[0] == "tests"):
                    offenders.append(f"{path.relative_to(TESTS)}: from {node.module} import {', '.join(names)}")
            elif isinstance(node, ast.Import):
                offenders += [f"{path.relative_to(TESTS)}: import {a.name}" for a in node.names if any(p.startswith("test_") for p in a.name.split("."))]
    assert offenders == []
