"""How compliance plugs into the application: its API blueprint."""

from __future__ import annotations

from flask import Flask

from marketplace.compliance.api import blp
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register the endpoints of compliance reports."""
    api.register_blueprint(blp)
