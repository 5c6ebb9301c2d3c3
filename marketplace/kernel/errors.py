"""The domain error tree and its one mapping to problem+json (RFC 9457).

Services raise these; `register_error_handlers` turns them (and Werkzeug/webargs errors) into
`application/problem+json` responses. No database or driver message ever reaches a client:
anything unexpected becomes a generic 500 whose detail only carries the request id.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, json, render_template, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://marketplace.example/problems/"


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: dict[str, Any] | None = None, **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra


class ValidationFailed(DomainError):
    """Input is well formed but breaks a rule; `errors` maps field names to messages."""

    status = 400
    slug = "validation-failed"
    title = "Validation failed"


class Unauthenticated(DomainError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    """Also used for another tenant's resources, so that their existence is not revealed."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Gone(DomainError):
    status = 410
    slug = "gone"
    title = "Gone"


class PaymentRequired(DomainError):
    status = 402
    slug = "quota-exhausted"
    title = "Quota exhausted"


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class RequestTimeout(DomainError):
    status = 408
    slug = "request-timeout"
    title = "Request body too slow"


class DependencyUnavailable(DomainError):
    """An external system (object store, payment provider, broker) failed; state is unchanged."""

    status = 503
    slug = "dependency-unavailable"
    title = "A service the request depends on is unavailable"


RETRY_AFTER_UNAVAILABLE = 5  # seconds, on every 503


def problem(status: int, title: str, detail: str | None = None, *, slug: str | None = None, errors: Any = None, **extra: Any) -> Response:
    """Build one problem+json response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or _slug_for(status)),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    rid = getattr(g, "request_id", None) if _has_g() else None
    if rid:
        body["request_id"] = rid
    body.update({k: v for k, v in extra.items() if v is not None})
    if _wants_html():
        resp = Response(render_template("error.html", problem=body), status=status, mimetype="text/html")
    else:
        resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if status == 503:
        # An outage is usually short: tell clients when to come back (the SDK honours it).
        resp.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
        if _has_g():
            g.retry_after = RETRY_AFTER_UNAVAILABLE  # (ratelimit restores it after the limiter's headers)
    return resp


def _wants_html() -> bool:
    """Pages for people get an HTML error page; the API and signed URLs always get problem+json."""
    if not has_request_context():
        return False
    if request.path.startswith(("/api/", "/storage/", "/healthz", "/readyz")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", PROBLEM_JSON, "text/html"])
    return best == "text/html"


def _has_g() -> bool:
    return has_app_context()


_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    500: "internal-error",
}


def _slug_for(status: int) -> str:
    return _HTTP_SLUGS.get(status, f"http-{status}")


def _flatten_webargs(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {"field": [...]}}); clients want field names."""
    if not isinstance(messages, dict):
        return {"_body": messages}
    flat: dict[str, Any] = {}
    for location, errs in messages.items():
        if isinstance(errs, dict):
            for name, msgs in errs.items():
                key = name if location in ("json", "form", "files") else f"{location}.{name}"
                flat[key] = msgs
        else:
            flat[location] = errs
    return flat


def other_error_format(app: Flask, prefix: str, answer: Callable[[int, str], Response]) -> None:
    """Answer errors under `prefix` in another protocol's format (Delta Sharing's JSON errors),
    including those no view of its own raised: routing's 404 and 405."""
    app.extensions.setdefault("error_formats", {})[prefix] = answer


def _with_fields(err: DomainError) -> str:
    """The detail and the field errors, as one message (for formats without a field list)."""
    message = err.detail or err.title
    if err.errors:
        message += " " + "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in dict(err.errors).items())
    return message


def _other_format(status: int, message: str) -> Response | None:
    if not has_request_context():
        return None
    for prefix, answer in (current_app.extensions.get("error_formats") or {}).items():
        if request.path.startswith(prefix):
            return answer(status, message)
    return None


def register_error_handlers(app: Flask) -> None:
    """Install the single mapping from errors to problem+json."""

    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Response:
        other = _other_format(err.status, _with_fields(err))
        if other is not None:
            return other
        return problem(err.status, err.title, err.detail, slug=err.slug, errors=err.errors, **err.extra)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        other = _other_format(status, err.description if isinstance(err.description, str) else err.name)
        if other is not None:
            return other
        data = getattr(err, "data", None) or {}
        messages = data.get("messages")
        if messages is not None:
            # webargs/marshmallow validation: answer 400 with field errors, as for any bad input.
            errors = _flatten_webargs(messages)
            names = ", ".join(sorted(errors))
            if "_body" in errors or list(errors) == ["json"] and not isinstance(errors.get("json"), dict):
                detail: str | None = _first_message(errors) or "The request body is not valid."
            else:
                detail = f"Invalid fields: {names}"
            return problem(400, "Validation failed", detail, slug="validation-failed", errors=errors)
        detail = err.description if isinstance(err.description, str) else None
        if status == 413:
            detail = "The request body is larger than this endpoint accepts."
        resp = problem(status, err.name, detail)
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            resp.headers["Allow"] = ", ".join(err.valid_methods)
        return resp

    @app.errorhandler(DataError)
    def _data(err: DataError) -> Response:
        # A value the database cannot store (out of range, invalid encoding...) that slipped past
        # the schemas: the caller's input is at fault, and nothing was written (the unit of work
        # rolled back). The driver's message stays in the log.
        log.warning("database refused a value", extra={"error": type(err.orig).__name__ if err.orig else "DataError"})
        _reset_session()
        return problem(400, "Invalid value", "A value in the request cannot be stored (for example a NUL character or a number out of range).",
                       slug="invalid-value")

    @app.errorhandler(IntegrityError)
    def _integrity(err: IntegrityError) -> Response:
        # Two requests created the same thing at the same moment (a second registration of one
        # e-mail address, a dataset slug, a version string): the database's unique constraint
        # refused the later one after the services' own check had passed for both. Nothing was
        # written. Any other integrity error (NOT NULL, CHECK, a foreign key) is a bug: a 500.
        if not _unique_violation(err):
            return _unexpected(err)
        log.info("a concurrent change won", extra={"error": type(err.orig).__name__ if err.orig else "IntegrityError"})
        _reset_session()
        return problem(409, "Conflict", "This conflicts with a change made at the same moment (for example, the same name was just taken). "
                       "Reload and try again.", slug="concurrent-conflict")

    @app.errorhandler(DBAPIError)
    def _database(err: DBAPIError) -> Response:
        # The connection died under the request (server restart, failover, a killed backend):
        # the transaction never committed, so nothing was written. The pool drops the dead
        # connection; a retry gets a fresh one.
        if err.connection_invalidated or type(err).__name__ in ("OperationalError", "InterfaceError"):
            log.warning("database connection lost during a request", extra={"error": type(err.orig).__name__ if err.orig else type(err).__name__})
            _reset_session()
            detail = "The database connection was lost; nothing was changed. Retry the request."
            other = _other_format(503, detail)
            if other is not None:
                return other
            return problem(503, "The database is unavailable", detail, slug="database-unavailable")
        return _unexpected(err)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error")
        _reset_session()
        detail = "An unexpected error occurred; quote the request id when reporting it."
        return _other_format(500, detail) or problem(500, "Internal server error", detail)


def _unique_violation(err: IntegrityError) -> bool:
    """PostgreSQL's unique_violation (SQLSTATE 23505), or SQLite's UNIQUE constraint failure."""
    return getattr(err.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(err.orig)


def _reset_session() -> None:
    """A failed statement leaves the transaction aborted: roll it back so the next use of the
    session (in this request or, where an app context outlives requests, the next) starts clean."""
    db = current_app.extensions.get("db")  # not get_db(): an error may come before the database is wired
    if db is not None:
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be gone; the pool replaces it
            log.warning("could not roll back after an error")


def _first_message(errors: dict[str, Any]) -> str | None:
    for value in errors.values():
        if isinstance(value, list) and value and isinstance(value[0], str):
            return value[0]
        if isinstance(value, str):
            return value
    return None
