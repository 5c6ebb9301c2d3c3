"""The light client distribution: a training cluster installs `dataset-marketplace-client` and
gets the SDK and `marketplace-client` with requests, click and PyYAML, and nothing of the server.
The wheel is built as the README says, unpacked alone on the import path, and used."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ["flask", "flask_smorest", "sqlalchemy", "alembic", "celery", "psycopg", "boto3", "werkzeug", "marshmallow", "catalog", "licensing"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdk-dist")
    done = subprocess.run([sys.executable, str(ROOT / "infra" / "sdk" / "build.py")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    built = Path(done.stdout.strip().splitlines()[-1])
    target = out / built.name
    target.write_bytes(built.read_bytes())
    return target


def test_the_wheel_holds_the_sdk_and_the_wire_formats_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    code = [n for n in names if not n.split("/")[0].endswith(".dist-info")]
    assert {n.rsplit("/", 1)[0] for n in code} == {"marketplace", "marketplace/sdk", "marketplace/formats"}, code
    assert {"marketplace/sdk/client.py", "marketplace/sdk/cli.py", "marketplace/sdk/transfer.py", "marketplace/formats/money.py",
            "marketplace/py.typed"} <= set(code)  # py.typed: mypy reads the SDK's types (PEP 561)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_depends_on_three_light_libraries(wheel):
    meta = next(zipfile.ZipFile(wheel).read(n).decode() for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    required = sorted(line.split(":", 1)[1].strip().split(";")[0].split(">")[0].split("=")[0].strip().lower()
                      for line in meta.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line)
    assert required == ["click", "pyyaml", "requests"], meta
    version = __import__("tomllib").loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"Version: {version}" in meta  # the client and the server are released together
    entry = next(zipfile.ZipFile(wheel).read(n).decode() for n in zipfile.ZipFile(wheel).namelist() if n.endswith("entry_points.txt"))
    assert "marketplace-client = marketplace.sdk.cli:client_main" in entry


def test_the_unpacked_wheel_works_alone(wheel, tmp_path):
    """Only the wheel and third-party libraries on the path (python -S: no .pth, so the
    repository's editable install is invisible), run from an empty directory."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    libs = sysconfig.get_paths()["purelib"]
    code = f"""
import sys, json, io, contextlib
sys.path[:0] = [{str(site)!r}, {libs!r}]
import marketplace.sdk, marketplace.sdk.cli, marketplace.sdk.transfer
from marketplace.sdk import Money, format_money, MarketplaceClient
from marketplace.sdk.cli import client_main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        client_main(["audit", "verify", "--help"], standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps({{"file": marketplace.sdk.__file__, "server": sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVER!r})),
                  "money": format_money(500, "EUR"), "help": out.getvalue()}}))
"""
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["file"].startswith(str(site)), got["file"]
    assert got["server"] == []
    assert got["money"] == "€5.00"
    assert "pinned key" in got["help"]
