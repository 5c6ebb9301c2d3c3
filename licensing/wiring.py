"""How licensing plugs into the application: its API blueprint, and its handlers for the
catalogue's events (the licence gate on publishing, the latest-version refresh)."""

from __future__ import annotations

from flask import Flask

from licensing.api import blp
from licensing.services import check_publishable, on_latest_changed
from marketplace.kernel import events
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register licensing's endpoints and subscribe it to the catalogue's events."""
    api.register_blueprint(blp)
    events.subscribe(events.VERSION_PUBLISHING, check_publishable)
    events.subscribe(events.DATASET_LATEST_CHANGED, on_latest_changed)
