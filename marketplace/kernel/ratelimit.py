"""Brute-force protection with Flask-Limiter (Redis storage in production, memory by default).

- Logins: a limit per client address and e-mail address on the API and web login, counting
  only failures.
- Failed authentication anywhere (a wrong, revoked or expired API key; a wrong password): a
  limit per client address over every endpoint, counting only 401 answers. Past it, the address
  gets 429 (problem+json, with Retry-After) on every request until the window passes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Callable

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from marketplace.kernel.config import Settings, current_settings
from marketplace.kernel.errors import problem

LOGIN_ENDPOINTS = ("identity.Login", "web.login")


def _login_key() -> str:
    email = ""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except (RecursionError, ValueError):  # a hostile body: keyed by address alone (the view answers 400)
            body = None
        email = body.get("email", "") if isinstance(body, dict) else ""
        email = email if isinstance(email, str) else ""
        email = email.encode("utf-8", "replace").decode("utf-8")
    else:
        email = request.form.get("email", "")
    return f"{get_remote_address()}|{email.strip().lower()[:320]}"


def _failures_only(response: Response) -> bool:
    return response.status_code == 401


def _honest_retry_after(response: Response) -> Response:
    """Retry-After on a 429 (the limiter's, for the limit that was hit), on a 503 the value the
    error chose (errors.RETRY_AFTER_UNAVAILABLE), and nowhere else."""
    if response.status_code == 429:
        return response
    chosen = g.get("retry_after")
    if response.status_code == 503 and chosen is not None:
        response.headers["Retry-After"] = str(chosen)
    else:
        response.headers.pop("Retry-After", None)
    return response


def init(app: Flask, settings: Settings) -> Limiter:
    """One limiter per application (each app may use its own storage)."""
    # Registered before the limiter so it runs after the limiter's own header injection (Flask
    # runs after_request functions in reverse order): the limiter writes Retry-After on every
    # response (0 on a 200, the window's reset on a 503), which would tell a client to retry an
    # outage at once or a minute late. Keep it only where it means something.
    app.after_request(_honest_retry_after)
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=settings.ratelimit_storage_url,
        application_limits=[settings.auth_failure_rate_limit],
        application_limits_deduct_when=_failures_only,
        headers_enabled=True,
        key_prefix=f"marketplace:{id(app)}" if settings.testing else "marketplace",
        swallow_errors=True,  # a Redis outage must not take logins down: the limiter fails open
        in_memory_fallback_enabled=True,
    )
    for endpoint in LOGIN_ENDPOINTS:
        # One callable type (not the sync | async union a view may be) for the decorator to preserve.
        view: Callable[..., Any] = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(lambda: current_settings().login_rate_limit, key_func=_login_key,
                                                     deduct_when=_failures_only, methods=["POST"])(view)
    app.extensions["limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, lambda _exc: _too_many(limiter))
    return limiter


def _too_many(limiter: Limiter) -> Response:
    """429 that says when to come back: `retry_after` (seconds) in the problem, and a page for
    people that says it in words instead of the limiter's "10 per 1 minute"."""
    limit = limiter.current_limit
    now = time.time()
    wait = max(1, int(limit.reset_at - now)) if limit is not None else 60
    at = datetime.fromtimestamp(now + wait, UTC).isoformat(timespec="seconds")
    return problem(429, "Too many attempts", f"Too many attempts from your address; wait {_duration(wait)} and try again.", retry_after=wait, retry_at=at)


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"
