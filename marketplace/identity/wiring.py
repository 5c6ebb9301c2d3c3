"""How identity plugs into the application: its API blueprint, and the per-process cache of
resolved API keys with the session hook that ends cached keys when access narrows."""

from __future__ import annotations

from flask import Flask

from marketplace.identity import keycache
from marketplace.identity.api import blp
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register identity's endpoints (users, sessions, organisations, members, API keys)."""
    api.register_blueprint(blp)
    keycache.init_app(app)
