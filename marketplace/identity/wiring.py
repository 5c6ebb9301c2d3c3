"""How identity plugs into the application: its API blueprint."""

from __future__ import annotations

from flask import Flask

from marketplace.identity.api import blp
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register identity's endpoints (users, sessions, organisations, members, API keys)."""
    api.register_blueprint(blp)
