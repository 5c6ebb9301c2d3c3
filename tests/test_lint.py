"""The lint gate of `make test`: ruff (pyflakes rules) over every package, mypy over the server
packages (the [tool.mypy] configuration in pyproject.toml), and mypy --strict over the SDK modules
a buyer installs (tests/sdk/test_client.py runs the latter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    r = subprocess.run([str(ruff), "check", "--no-cache", "marketplace", "catalog", "licensing", "migrations", "tests", "benchmarks", "infra"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_finds_nothing():
    # The configuration (packages, per-module settings) is pyproject.toml's; the cache stays in build/.
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--cache-dir", "build/mypy-cache"],
                       cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stdout + r.stderr
