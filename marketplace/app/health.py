"""Liveness and readiness probes."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, jsonify

from catalog.storage import object_store
from marketplace.kernel.db import get_db

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
