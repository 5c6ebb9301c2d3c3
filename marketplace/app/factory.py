"""The application factory. Nothing here runs at import time; `create_app()` wires everything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from catalog import wiring as catalog_wiring
from catalog.storage import presign_origin, store_from_url
from licensing import wiring as licensing_wiring
from marketplace.app.api_intro import INTRO as API_INTRO
from marketplace.app.health import bp as health_bp
from marketplace.auditlog import wiring as auditlog_wiring
from marketplace.commerce import wiring as commerce_wiring
from marketplace.commerce.gateways import gateway_from_settings
from marketplace.compliance import wiring as compliance_wiring
from marketplace.delivery import wiring as delivery_wiring
from marketplace.identity import wiring as identity_wiring
from marketplace.kernel import ratelimit
from marketplace.kernel.config import Settings
from marketplace.kernel.db import Database
from marketplace.kernel.errors import register_error_handlers
from marketplace.kernel.http import Api, AsciiIntConverter, configure_logging, content_security_policy, csrf_error_is_problem, install_request_hooks
from marketplace.kernel.jobs import InlineJobQueue
from marketplace.kernel.jobs_celery import CeleryJobQueue
from marketplace.notifications import wiring as notifications_wiring
from marketplace.notifications.mailer import mailer_from_settings
from marketplace.sharing import wiring as sharing_wiring
from marketplace.web import wiring as web_wiring

# Every domain, in the order its endpoints appear in the API documentation.
DOMAINS = (identity_wiring, catalog_wiring, licensing_wiring, commerce_wiring, delivery_wiring, auditlog_wiring, compliance_wiring,
           notifications_wiring, sharing_wiring)


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
            "info": {"description": API_INTRO},
            "components": {
                "securitySchemes": {
                    "apiKey": {"type": "http", "scheme": "bearer", "description": "API key: Authorization: Bearer mk_xxx.secret"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"apiKey": []}, {"session": []}, {}],
        },
    )

    # The ports, wired here and nowhere else; services reach them through typed accessors
    # (`object_store()`, `job_queue()`, `payment_gateway()`, `get_session()`).
    db = Database(settings.database_url)
    app.extensions["db"] = db
    app.teardown_appcontext(db.remove)
    app.extensions["object_store"] = store_from_url(settings.storage_url, secret_key=settings.secret_key, public_url=settings.public_url)
    app.extensions["jobs"] = (CeleryJobQueue(settings.broker_url, redelivery_seconds=settings.job_redelivery_seconds) if settings.broker_url
                              else InlineJobQueue())
    app.extensions["payments"] = gateway_from_settings(settings)
    app.extensions["mailer"] = mailer_from_settings(settings.smtp_url, settings.mail_from)

    csrf = CSRFProtect(app)
    register_error_handlers(app)
    csrf_error_is_problem(app)
    # A card checkout's form is answered with a redirect to Stripe's hosted page, which
    # form-action also governs.
    forms = ("https://checkout.stripe.com",) if settings.payments == "stripe" else ()
    install_request_hooks(app, csrf, settings, csp=content_security_policy(presign_origin(settings.storage_url), forms))

    api = Api(app)
    app.extensions["api"] = api
    for domain in DOMAINS:
        domain.init_app(app, api)
    app.register_blueprint(health_bp)
    web_wiring.init_app(app)
    ratelimit.init(app, settings)
    return app
