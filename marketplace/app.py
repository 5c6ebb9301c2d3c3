"""The application factory. Nothing here runs at import time; `create_app()` wires everything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from marketplace.core.config import Settings
from marketplace.core.db import Database
from marketplace.core.errors import register_error_handlers
from marketplace.core.http import Api, AsciiIntConverter, configure_logging, content_security_policy, csrf_error_is_problem, install_request_hooks
from marketplace.core.jobs import InlineJobQueue


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the WSGI application from `settings` (default: the environment)."""
    settings = settings or Settings.from_env(**overrides)
    configure_logging(settings.log_level, settings.log_json)

    app = Flask("marketplace", instance_path=settings.instance_path, template_folder="web/templates", static_folder="web/static")
    app.url_map.converters["int"] = AsciiIntConverter
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        # The hard cap for any body; JSON endpoints get a much lower per-request cap.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in our before_request, only where a cookie authenticates
        WTF_CSRF_HEADERS=["X-CSRF-Token", "X-CSRFToken"],
        WTF_CSRF_TIME_LIMIT=None,  # bound to the session, which expires itself
        API_TITLE="Dataset Marketplace API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Find, license and pull vertical-domain AI training data. Errors are RFC 9457 problem+json."},
            "components": {
                "securitySchemes": {
                    "apiKey": {"type": "http", "scheme": "bearer", "description": "API key: Authorization: Bearer mk_xxx.secret"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"apiKey": []}, {"session": []}, {}],
        },
    )

    db = Database(settings.database_url)
    app.extensions["db"] = db
    app.teardown_appcontext(db.remove)

    from catalog.storage import presign_origin, store_from_url

    store = store_from_url(settings.storage_url, secret_key=settings.secret_key, public_url=settings.public_url)
    app.extensions["object_store"] = store
    if settings.broker_url:
        from marketplace.core.jobs_celery import CeleryJobQueue

        app.extensions["jobs"] = CeleryJobQueue(settings.broker_url, redelivery_seconds=settings.job_redelivery_seconds)
    else:
        app.extensions["jobs"] = InlineJobQueue()

    csrf = CSRFProtect(app)
    register_error_handlers(app)
    csrf_error_is_problem(app)
    # A card checkout's form is answered with a redirect to Stripe's hosted page, which
    # form-action also governs.
    forms = ("https://checkout.stripe.com",) if settings.payments == "stripe" else ()
    install_request_hooks(app, csrf, csp=content_security_policy(presign_origin(settings.storage_url), forms))

    api = Api(app)
    from marketplace.core.identity.api import blp as identity_blp

    api.register_blueprint(identity_blp)
    from catalog.api import blp as catalog_blp

    api.register_blueprint(catalog_blp)
    from licensing.api import blp as licensing_blp

    api.register_blueprint(licensing_blp)
    from licensing.services import wire as wire_licensing
    from marketplace.commerce.api import blp as commerce_blp
    from marketplace.commerce.payments import gateway_from_settings

    api.register_blueprint(commerce_blp)
    from marketplace.delivery.api import blp as delivery_blp

    api.register_blueprint(delivery_blp)
    from marketplace.audit.api import blp as audit_blp

    api.register_blueprint(audit_blp)
    from marketplace.compliance.api import blp as compliance_blp

    api.register_blueprint(compliance_blp)
    app.extensions["payments"] = gateway_from_settings(settings)
    from marketplace.commerce.services import wire as wire_commerce

    wire_commerce()

    wire_licensing()
    import catalog.services.ingest  # noqa: F401  (registers the ingest job)
    app.extensions["api"] = api

    from marketplace import health
    from marketplace.web import apidocs, views

    app.register_blueprint(health.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(views.bp)
    from marketplace.web import buyer_views, catalog_views, compliance_views, vendor_views

    app.register_blueprint(catalog_views.bp)
    app.register_blueprint(buyer_views.bp)
    app.register_blueprint(vendor_views.bp)
    app.register_blueprint(compliance_views.bp)

    from marketplace.core import ratelimit

    ratelimit.init(app)

    from catalog.storage.filesystem import FilesystemObjectStore

    if isinstance(store, FilesystemObjectStore):
        from catalog.storage.api import bp as fs_bp

        app.register_blueprint(fs_bp)

    return app
