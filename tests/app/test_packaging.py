"""The server's distribution holds everything the server reads from its own tree at run time.
An image built with `pip install .` (infra/Dockerfile) once lacked every page template in a
subfolder and the licence registry's data, which editable installs hide."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILES = ["marketplace/web/templates", "marketplace/web/static", "licensing/data", "migrations/versions", "migrations/script.py.mako",
                 "marketplace/py.typed"]


def test_the_wheel_carries_templates_static_files_licence_data_and_migrations(tmp_path):
    # What the image copies (infra/Dockerfile), into a clean directory: a build in the working
    # tree would reuse a stale build/lib and hide a missing file.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "alembic.ini"):
        shutil.copy(ROOT / name, src / name)
    for pkg in ("marketplace", "catalog", "licensing", "migrations"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("dataset_marketplace-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = []
    for entry in RUNTIME_FILES:
        path = ROOT / entry
        files = [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts] if path.is_dir() else [path]
        wanted += [p.relative_to(ROOT).as_posix() for p in files]
    assert len(wanted) > 40
    missing = sorted(w for w in wanted if w not in names)
    assert missing == [], f"not in the wheel: {missing}"
