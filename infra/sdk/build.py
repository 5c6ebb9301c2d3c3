"""Build the light client distribution (`dataset-marketplace-client`): the SDK and the
`marketplace-client` command, with only requests, click and PyYAML (cryptography as the `verify`
extra). A training cluster installs this wheel and nothing of the server.

    python infra/sdk/build.py            # -> build/sdk-dist/dataset_marketplace_client-<v>-py3-none-any.whl

The wheel is built from a staging copy of exactly the SDK's packages (marketplace/sdk and the
shared wire formats in marketplace/formats), so nothing else of the repository can slip in.
Needs `hatchling` and `build` (the dev extras install them); no network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("marketplace/sdk", "marketplace/formats")
PACKAGE_DOC = '"""The dataset marketplace\'s client: `marketplace.sdk` (and the wire formats it shares with the server)."""\n'


def build(out: Path | None = None) -> Path:
    """Stage the SDK and build its wheel; returns the wheel's path."""
    out = out or ROOT / "build" / "sdk-dist"
    stage = ROOT / "build" / "sdk-stage"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "marketplace").mkdir(parents=True)
    (stage / "marketplace" / "__init__.py").write_text(PACKAGE_DOC)
    (stage / "marketplace" / "py.typed").write_text("")  # PEP 561: the SDK's types reach its users' type checkers
    for pkg in PACKAGES:
        for src in sorted((ROOT / pkg).glob("*.py")):
            dst = stage / pkg / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    (stage / "pyproject.toml").write_text((Path(__file__).with_name("pyproject.toml")).read_text().replace("@VERSION@", version))
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("dataset_marketplace_client-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(stage)], check=True,
                   stdout=subprocess.DEVNULL)
    wheels = sorted(out.glob("dataset_marketplace_client-*.whl"))
    if len(wheels) != 1 or not re.search(re.escape(version), wheels[0].name):
        raise SystemExit(f"expected one wheel for {version} in {out}, found {wheels}")
    return wheels[0]


if __name__ == "__main__":
    print(build())
