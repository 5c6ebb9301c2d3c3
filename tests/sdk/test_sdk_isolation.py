"""The SDK loads no server code: importing it (and its CLI client) in a fresh interpreter must not
load Flask, flask-smorest, SQLAlchemy, Alembic, Celery, psycopg or boto3. A buyer installs it on a
training cluster; the server's dependencies have no business there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SERVER = ["flask", "flask_smorest", "sqlalchemy", "alembic", "celery", "psycopg", "boto3", "werkzeug", "marshmallow"]


def _loaded(*modules: str) -> list[str]:
    code = (f"import sys\nimport {', '.join(modules)}\n"
            f"print(__import__('json').dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVER!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_the_sdk_imports_no_server_module():
    assert _loaded("marketplace.sdk") == []


def test_the_client_transfer_and_types_modules_import_no_server_module():
    assert _loaded("marketplace.sdk.client", "marketplace.sdk.transfer", "marketplace.sdk.types", "marketplace.formats.money") == []


def test_the_client_cli_and_the_offline_audit_verifier_import_no_server_module():
    """`marketplace-client` (and `audit verify` / `consistency` in it) runs on an auditor's laptop."""
    assert _loaded("marketplace.sdk.cli", "marketplace.formats.auditchain") == []
    out = subprocess.run([str(Path(sys.executable).with_name("marketplace-client")), "audit", "verify", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "pinned key" in out.stdout


def test_the_check_itself_sees_a_server_module():
    """The probe is honest: importing the app factory is seen loading Flask and SQLAlchemy."""
    assert {"flask", "sqlalchemy"} <= set(_loaded("marketplace.app"))
