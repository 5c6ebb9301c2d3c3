"""How auditlog plugs into the application: its API blueprint."""

from __future__ import annotations

from flask import Flask

from marketplace.auditlog.api import blp
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register the endpoints of the audit log, its proofs, checkpoints and exports."""
    api.register_blueprint(blp)
