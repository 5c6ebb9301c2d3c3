"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Response, jsonify, request

from catalog.storage import object_store
from marketplace.auditlog.services import seal_lag
from marketplace.kernel import metrics
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import get_db
from marketplace.kernel.errors import NotFound

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """The process is up (no dependency is touched)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database and the object store answer. 503 with the failing check otherwise."""
    checks: dict[str, dict[str, object]] = {}
    for name, probe in (("database", get_db().ping), ("object_store", object_store().check)):
        started = time.perf_counter()
        try:
            probe()
            checks[name] = {"status": "ok"}
        except Exception as e:  # a probe reports, it never raises
            log.warning("readiness check failed", extra={"check": name, "error": type(e).__name__})
            checks[name] = {"status": "fail", "error": getattr(e, "detail", None) or type(e).__name__}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 2)
    ok = all(c["status"] == "ok" for c in checks.values())
    resp = jsonify(status="ok" if ok else "fail", checks=checks)
    resp.status_code = 200 if ok else 503
    return resp


FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host")


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus metrics. With MARKETPLACE_METRICS_TOKEN set, the scraper sends it as a bearer
    token; without it only loopback callers are answered. Anyone else gets the 404 of a page
    that does not exist (the metrics name routes and volumes: not for the public)."""
    token = current_settings().metrics_token
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise NotFound("Not found.")
    elif not _loopback(request.remote_addr) or any(h in request.headers for h in FORWARDED):
        # A request relayed by a reverse proxy on this host comes from loopback too: the proxy's
        # forwarding headers give it away, and without a token it is refused like any other.
        raise NotFound("Not found.")
    unsealed, lag = seal_lag()
    get_db().remove()
    body = metrics.exposition({
        "marketplace_audit_unsealed_events": ("Audit events not yet sealed into a signed block.", unsealed),
        "marketplace_audit_seal_lag_seconds": ("Age of the oldest audit event not yet sealed (0 when all are).", lag),
    })
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _loopback(addr: str | None) -> bool:
    try:
        return addr is not None and ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False
