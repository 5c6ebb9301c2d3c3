"""HTTP plumbing shared by every blueprint: request ids, the acting principal, body guards, CSRF,
JSON logs, and the flask-smorest `Api` whose error responses are problem+json."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
import uuid
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import urlsplit

import marshmallow as ma
from flask import Flask, Response, g, has_request_context, request, session
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from flask_smorest.spec.plugins import FlaskPlugin  # noqa: F401  (kept importable for apispec)
from flask_smorest.utils import prepare_response
from flask_wtf.csrf import CSRFError, CSRFProtect
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import ClientDisconnected
from werkzeug.routing import IntegerConverter
from werkzeug.serving import WSGIRequestHandler

from marketplace.kernel import metrics
from marketplace.kernel.config import Settings, current_settings
from marketplace.kernel.errors import PROBLEM_JSON, PayloadTooLarge, RequestTimeout, ValidationFailed, problem
from marketplace.kernel.principal import ANONYMOUS, Principal

log = logging.getLogger("marketplace.http")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# --------------------------------------------------------------------------- OpenAPI / errors


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error of this API is answered."""

    type = ma.fields.String(metadata={"description": "URI identifying the problem type"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Field name -> list of messages (validation failures)"})
    request_id = ma.fields.String()
    # Extension members some problems carry (RFC 9457 §3.2), each documented here so that
    # clients, and the response-schema checks, know them.
    missing_parts = ma.fields.List(ma.fields.Integer(), metadata={"description": "Multipart: part numbers still to send"})
    balance = ma.fields.Integer(metadata={"description": "402: units left on the grant"})
    needed = ma.fields.Integer(metadata={"description": "402: units the request needs"})
    unit = ma.fields.String(metadata={"description": "402: the grant's unit"})
    required_scope = ma.fields.String(metadata={"description": "403: the API-key scope the operation needs"})
    findings = ma.fields.List(ma.fields.Dict(), metadata={"description": "409: the lineage findings that block the offer, with their paths"})


MAX_JSON_DEPTH = 64
INT64 = 2**63


def hostile_value(value: Any) -> tuple[str, str] | None:
    """Where a decoded request value is unusable, and why, or None: nesting deeper than
    MAX_JSON_DEPTH, text that is not valid Unicode (a lone surrogate, which no encoder, hash or
    database takes), or an integer beyond 64 bits (no column holds it). The place is a dotted
    path ("terms.term_months", "_body" for the whole). Walked without recursion, so a hostile
    body cannot exhaust the stack here either."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        v, depth, path = stack.pop()
        where = path or "_body"
        if depth > MAX_JSON_DEPTH:
            return where, f"nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return where, "text that is not valid Unicode (a lone surrogate)"
        elif isinstance(v, bool):
            continue
        elif isinstance(v, int):
            if not -INT64 <= v < INT64:
                return where, "a whole number beyond the 64-bit range"
        elif isinstance(v, dict):
            for k, x in v.items():
                key = k if isinstance(k, str) else str(k)
                sub = f"{path}.{key}" if path else key
                stack.append((k, depth + 1, sub))
                stack.append((x, depth + 1, sub))
        elif isinstance(v, (list, tuple, set, frozenset)):
            stack.extend((x, depth + 1, f"{path}.{i}" if path else str(i)) for i, x in enumerate(v))
    return None


def _safe_field(path: str) -> str:
    """A field path fit to echo back: a hostile key (a lone surrogate) is not repeated."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "_body"
    return path[:200]


class Parser(FlaskParser):
    """Malformed or invalid input is a 400 with field errors, not webargs' default 422; hostile
    JSON (too deep, lone surrogates, numbers too long or too large) is a 400 naming what is wrong."""

    DEFAULT_VALIDATION_STATUS = 400
    # A misspelt filter (?langauge=en) silently ignored returns wrong results; refuse it.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE, "querystring": ma.RAISE}

    def _raw_load_json(self, req: Any) -> Any:
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            raise ValidationFailed("The JSON body is nested too deeply.", errors={"json": [f"At most {MAX_JSON_DEPTH} levels of nesting."]}) from None
        except json.JSONDecodeError:
            raise
        except ValueError as e:  # e.g. an integer literal of thousands of digits
            raise ValidationFailed("The JSON body holds a value that cannot be read.", errors={"json": [str(e)[:200]]}) from None
        found = hostile_value(data)
        if found:
            where, problem = found
            raise ValidationFailed(f"The JSON body holds {problem}.", errors={_safe_field(where): [f"Not accepted: {problem}."]})
        return data

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        data = super().parse(*args, **kwargs)
        found = hostile_value(data)  # query and path values too: a 20-digit integer fits no column
        if found:
            where, problem = found
            raise ValidationFailed(f"A parameter holds {problem}.", errors={_safe_field(where): [f"Not accepted: {problem}."]})
        return data


class Blueprint(_Blueprint):
    ARGUMENTS_PARSER = Parser()


def _int64_range(self: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every integer is a 64-bit one (no column holds more, and the parser refuses more): say so
    in the OpenAPI document, so clients and fuzzers know the range and probe its edges."""
    if not isinstance(field, ma.fields.Integer):
        return {}
    out: dict[str, Any] = {"format": ret.get("format", "int64")}
    if "maximum" not in ret:
        out["maximum"] = INT64 - 1
    if "minimum" not in ret:
        out["minimum"] = -INT64
    return out


# What each error status means on this API, whichever operation answers it (the operation's
# own description says when it happens).
ERROR_MEANINGS = {
    400: "Bad request: the body or a parameter is invalid; `errors` names each field and what is wrong.",
    401: "Not authenticated: no credentials, or an API key that is unknown, expired or revoked.",
    402: "Payment required: the grant's quota does not cover this; `balance`, `needed` and `unit` say by how much. Nothing was charged.",
    403: "Forbidden: your role, or the API key's scopes (`required_scope`), do not allow this.",
    404: "Not found: no such resource, or one another organisation owns (the two are never told apart).",
    405: "Method not allowed on this path.",
    408: "Request timeout: the body stopped arriving; nothing was stored.",
    409: "Conflict: the resource's state does not allow this now (a published version, a paid order, a lineage that forbids the offer: see `detail` and `findings`).",
    410: "Gone: the version was withdrawn; `detail` gives the vendor's reason.",
    413: "Payload too large: JSON bodies and direct uploads have limits; large files use multipart upload.",
    415: "Unsupported media type: send JSON as application/json.",
    422: "Unprocessable: the request is well-formed but its values cannot be used together.",
    429: "Too many attempts from your address: `retry_after` (seconds) and the Retry-After header say when to try again.",
    500: "Internal error: a bug; the `request_id` helps us find it.",
    503: "A service the request needs (database, object store, payment provider) is unavailable; nothing changed. Retry after Retry-After seconds.",
}


class Api(_Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:  # our one mapping lives in core.errors
        return None

    def _register_responses(self) -> None:
        self.ma_plugin.converter.add_attribute_function(_int64_range)
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": ERROR_MEANINGS.get(status.value, status.phrase)}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def problems(blp: _Blueprint, *codes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the error responses of an endpoint in its OpenAPI operation."""
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        for code in codes:
            fn = blp.alt_response(code, response=HTTPStatus(code).name)(fn)
        return fn

    return decorator


def answers_as(blp: _Blueprint, status: int, *media_types: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document every media type an operation answers with (a format parameter chooses); this
    replaces the single one its @blp.response declares."""
    def schema(mt: str) -> dict[str, Any]:
        return {"type": "object"} if mt == "application/json" or mt.endswith("+json") else {"type": "string"}

    return blp.doc(responses={str(status): {"description": HTTPStatus(status).phrase, "content": {mt: {"schema": schema(mt)} for mt in media_types}}})


# --------------------------------------------------------------------------- principal


def anonymous_principal() -> Principal:
    return Principal(request_id=g.get("request_id", "-"), ip=request.remote_addr) if has_request_context() else ANONYMOUS


# --------------------------------------------------------------------------- request hooks


def content_security_policy(connect_origin: str | None, form_origins: tuple[str, ...] = ()) -> str:
    """The pages' policy: their own scripts and styles from /static and nothing inline, no
    framing, no plugins; uploads may PUT to the object store's origin (presigned part URLs),
    and media previews (clips, thumbnails, posters) load from it."""
    store = [connect_origin] if connect_origin else []
    connect = " ".join(["'self'", *store])
    forms = " ".join(["'self'", *form_origins])
    images = " ".join(["'self'", "data:", *store])
    media = " ".join(["'self'", *store])
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; media-src {media}; font-src 'self'; connect-src {connect}; "
            f"form-action {forms}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def install_request_hooks(app: Flask, csrf: CSRFProtect, settings: Settings, *, csp: str) -> None:

    @app.before_request
    def _begin() -> Response | None:
        # An app context can outlive a request (tests, CLI); identity must not leak across requests.
        g.pop("principal", None)
        g.pop("auth_kind", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
        rid = request.headers.get("X-Request-ID", "")
        g.request_id = rid if REQUEST_ID_RE.match(rid) else uuid.uuid4().hex
        g.started = time.perf_counter()
        view = app.view_functions.get(request.endpoint or "")
        raw_ok = _accepts_raw_body(view, request.method)
        if request.routing_exception is not None:
            return None  # 404 or 405 from routing: say that, not what the body lacks
        if request.path.startswith("/api/") and request.method in UNSAFE:
            has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding", "").lower() == "chunked"
            if not raw_ok:
                # JSON bodies are small; cap them well below the upload limit (chunked bodies too).
                limit = settings.max_json_bytes
                if (request.content_length or 0) > limit:
                    raise PayloadTooLarge(f"JSON bodies are limited to {limit} bytes.")
                if request.content_length is None and has_body:
                    # A chunked body has no length to check up front: read one byte past the
                    # limit (Werkzeug would silently truncate at it) and keep what was read.
                    request.max_content_length = None
                    data = request.stream.read(limit + 1)
                    if len(data) > limit:
                        raise PayloadTooLarge(f"JSON bodies are limited to {limit} bytes.")
                    request._cached_data = data
                request.max_content_length = limit
                takes_body = _takes_json_body(view, request.method)
                if has_body and takes_body is False:
                    return problem(400, "Unexpected request body", "This operation takes no request body.", slug="unexpected-body", errors={"_body": ["Send no body."]})
                if not has_body and _json_body_required(view, request.method):
                    return problem(400, "Missing request body", "This operation needs a JSON body.", slug="missing-body", errors={"_body": ["Send a JSON object."]})
                if has_body and not request.is_json:
                    return problem(415, "Unsupported Media Type", "Send the body as application/json.")
        if request.method in UNSAFE and _needs_csrf():
            csrf.protect()
        return None

    @app.after_request
    def _end(resp: Response) -> Response:
        resp.headers["X-Request-ID"] = g.get("request_id", "-")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/storage/"):
            resp.headers.setdefault("X-Frame-Options", "DENY")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", csp)
        if "Cache-Control" not in resp.headers and _personal():
            # Pages and answers for a signed-in caller show personal data or secrets (a new key,
            # a presigned URL, a CSRF token): no cache, shared or private, may keep them.
            resp.headers["Cache-Control"] = "no-store"
            resp.headers.setdefault("Pragma", "no-cache")
        started = g.get("started")
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
            method = request.method if request.method in _METHODS else "other"  # a client picks the method: bound the series
            metrics.REQUEST_SECONDS.labels(method, rule, str(resp.status_code)).observe(time.perf_counter() - started)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": resp.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            },
        )
        return resp


def _personal() -> bool:
    """Whether this response was made for someone: a credential came with the request, or a
    session cookie is being set (login), or the caller is known. Static files never are."""
    if request.path.startswith("/static/"):
        return False
    if request.headers.get("Authorization") or session.get("user_id") or session.modified:
        return True
    p = g.get("principal")
    return bool(p is not None and p.authenticated)


class AsciiIntConverter(IntegerConverter):
    """`<int:...>` path segments in ASCII digits only (Werkzeug's \\d also matches "١٢")."""

    regex = r"[0-9]{1,19}"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without the server and Python versions in `Server:`."""

    def version_string(self) -> str:
        return "marketplace"


class SlowBodyGuard(io.RawIOBase):
    """The request body, read with an idle timeout and a minimum average rate.

    A client that stalls, or trickles a few bytes a second to hold a worker (slowloris), gets a
    408 instead of occupying the server; whatever was read is discarded by the caller (stores
    write to a temporary object and only publish it on a complete body)."""

    def __init__(self, stream: Any, *, idle_timeout: float, min_rate: int, grace: float = 10.0):
        self._stream = stream
        self._min_rate = min_rate
        self._grace = grace
        self._started = time.monotonic()
        self._read = 0
        sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.settimeout(idle_timeout)  # a stalled client: recv() gives up after this long
            except OSError:
                pass

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            data = self._stream.read(len(b))
        except (OSError, ClientDisconnected):  # a timed-out recv() surfaces as either
            raise RequestTimeout("The request body stopped arriving; nothing was stored. Retry, or use multipart upload.") from None
        n = len(data)
        b[:n] = data
        self._read += n
        elapsed = time.monotonic() - self._started
        if elapsed > self._grace and self._read / elapsed < self._min_rate:
            raise RequestTimeout(f"The request body arrives slower than {self._min_rate} bytes/s; nothing was stored.")
        return n


def raw_body(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an operation that streams a raw (non-JSON) body, e.g. a small file upload."""
    fn.accepts_raw_body = True  # type: ignore[attr-defined]
    return fn


def _accepts_raw_body(view: Any, method: str) -> bool:
    cls = getattr(view, "view_class", None)
    fn = getattr(cls, method.lower(), None) if cls is not None else view
    return bool(getattr(fn, "accepts_raw_body", False) or getattr(view, "accepts_raw_body", False))


def _takes_json_body(view: Any, method: str) -> bool | None:
    """Whether an API operation declares a JSON body (None: not a documented API operation)."""
    cls = getattr(view, "view_class", None)
    fn = getattr(cls, method.lower(), None) if cls is not None else view
    doc = getattr(fn, "_apidoc", None)
    if doc is None:
        return None
    params = doc.get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" for p in params)


def _json_body_required(view: Any, method: str) -> bool:
    """Whether the operation's OpenAPI description says its JSON body is required."""
    cls = getattr(view, "view_class", None)
    fn = getattr(cls, method.lower(), None) if cls is not None else view
    doc = getattr(fn, "_apidoc", None) or {}
    return any(p.get("in") == "json" and p.get("required") for p in doc.get("arguments", {}).get("parameters", []))


def _needs_csrf() -> bool:
    """Cookie-authenticated writes need a CSRF token; API-key calls carry no ambient credential."""
    if request.headers.get("Authorization"):
        return False
    if request.path.startswith(("/storage/", "/notifications/unsubscribe/")):
        return False  # authorised by the signed URL itself (an unsubscribe link: RFC 8058 one-click from a mail client)
    if request.path.startswith("/delta-sharing/"):
        return False  # a share token in the Authorization header, never a cookie: nothing ambient to forge
    if request.path.startswith("/api/"):
        return bool(session.get("user_id"))
    return True


def csrf_error_is_problem(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError) -> Response:
        # A page's form sent after the session expired: the web layer may send the person to
        # sign in and keep what they typed (`app.extensions["csrf_recover"]`); the API, and
        # any request from another site, gets the problem.
        recover = app.extensions.get("csrf_recover")
        if recover is not None and not request.path.startswith("/api/") and _same_origin():
            resp: Response | None = recover()
            if resp is not None:
                return resp
        return problem(400, "CSRF check failed", err.description, slug="csrf-failed")


def _same_origin() -> bool:
    """Whether the browser says the request comes from this site (Origin, else Referer)."""
    ours = urlsplit(current_settings().public_url)
    sent = request.headers.get("Origin") or request.headers.get("Referer") or ""
    theirs = urlsplit(sent)
    return bool(sent) and (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


# --------------------------------------------------------------------------- logging


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request that logged it."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str, as_json: bool) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_marketplace", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._marketplace = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(request_id)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("werkzeug").setLevel("WARNING")
    # botocore logs request details at DEBUG, including presigned query strings: keep it quiet.
    logging.getLogger("botocore").setLevel("WARNING")
