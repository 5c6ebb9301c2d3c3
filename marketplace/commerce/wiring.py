"""How commerce plugs into the application: its API blueprint, and its handlers for withdrawn
versions (their holders are told) and new latest versions (grants for "latest" follow them only
while their terms cover them), and the private offer an approved access request asks for."""

from __future__ import annotations

from flask import Flask

from marketplace.commerce.api import blp
from marketplace.commerce.services import on_access_approved, on_latest_changed, on_version_withdrawn
from marketplace.kernel import events
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register commerce's endpoints and subscribe it to the catalogue's events."""
    api.register_blueprint(blp)
    events.subscribe(events.VERSION_WITHDRAWN, on_version_withdrawn)
    events.subscribe(events.DATASET_LATEST_CHANGED, on_latest_changed)
    events.subscribe(events.ACCESS_APPROVED, on_access_approved)
