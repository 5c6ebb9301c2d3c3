"""How compliance plugs into the application: its API blueprint."""

from __future__ import annotations

from flask import Flask

from marketplace.compliance.api import blp
from marketplace.compliance.documents import section_title, when
from marketplace.kernel.http import Api


def init_app(app: Flask, api: Api) -> None:
    """Register the endpoints of compliance reports and models, and the documents' title filter."""
    api.register_blueprint(blp)
    app.jinja_env.filters["section_title"] = section_title
    app.jinja_env.filters["when"] = when
