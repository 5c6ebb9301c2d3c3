"""How the server-rendered pages plug into the application: one blueprint per area, and the
API documentation page."""

from __future__ import annotations

from flask import Flask

from marketplace.web import access_views, apidocs, buyer_views, catalog_views, compliance_views, notification_views, org_views, vendor_views, views


def init_app(app: Flask) -> None:
    """Register every page blueprint."""
    for module in (apidocs, views, catalog_views, buyer_views, vendor_views, compliance_views, notification_views, access_views, org_views):
        app.register_blueprint(module.bp)
    app.extensions["csrf_recover"] = views.resume_after_sign_in
