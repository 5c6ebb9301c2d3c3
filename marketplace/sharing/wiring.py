"""How Delta Sharing plugs into the application: the token endpoints in the API, the protocol
beside it."""

from __future__ import annotations

from flask import Flask

from marketplace.kernel.http import Api
from marketplace.sharing.api import blp, protocol


def init_app(app: Flask, api: Api) -> None:
    """Register the share-token endpoints and the Delta Sharing protocol."""
    api.register_blueprint(blp)
    app.register_blueprint(protocol)
