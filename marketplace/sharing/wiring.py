"""How Delta Sharing plugs into the application: the token endpoints in the API, the protocol
beside it."""

from __future__ import annotations

from flask import Flask

from marketplace.kernel import events
from marketplace.kernel.errors import other_error_format
from marketplace.kernel.http import Api
from marketplace.sharing.api import blp, protocol, protocol_error
from marketplace.sharing.services import on_credentials_reset, on_member_removed


def init_app(app: Flask, api: Api) -> None:
    """Register the share-token endpoints and the Delta Sharing protocol; end browser-made
    tokens when their user's credentials are reset."""
    api.register_blueprint(blp)
    app.register_blueprint(protocol)
    other_error_format(app, protocol.url_prefix or "/delta-sharing", protocol_error)
    events.subscribe(events.CREDENTIALS_RESET, on_credentials_reset)
    events.subscribe(events.MEMBER_REMOVED, on_member_removed)
