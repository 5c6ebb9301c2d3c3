"""Delta Sharing endpoints: the protocol under /delta-sharing/ (PROTOCOL.md of delta-io/
delta-sharing, answered in its own JSON and error format, not in this API's problem+json), and
the share tokens of a grant under /api/v1."""

from __future__ import annotations

import json
import time
from typing import Any, Iterable

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Response, g, request
from flask.views import MethodView

from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import PayloadTooLarge, Unauthenticated, ValidationFailed
from marketplace.kernel.http import Blueprint, hostile_value, problems
from marketplace.kernel.policy import requires
from marketplace.kernel.principal import Principal
from marketplace.sharing import schemas as s
from marketplace.sharing import services as svc
from marketplace.sharing.policy import SharingPermission as Perm

blp = Blueprint("sharing", __name__, url_prefix="/api/v1", description="Delta Sharing profiles of a grant")


def _with_profile(made: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    tok, prof = made
    return {**{k: getattr(tok, k) for k in ("id", "grant_id", "name", "created_at", "expires_at", "revoked_at", "last_used_at")}, "profile": prof}


@blp.route("/grants/<uuid:grant_id>/share-tokens")
class Tokens(MethodView):
    @blp.response(200, s.ShareTokenSchema(many=True))
    @problems(blp, 401, 403, 404)
    def get(self, grant_id):
        """The grant's Delta Sharing tokens (never their secrets), newest first."""
        return svc.list_tokens(current_principal(), grant_id)

    @requires(Perm.MANAGE_TOKENS)
    @blp.arguments(s.ShareTokenCreateSchema)
    @blp.response(201, s.ShareTokenWithProfileSchema)
    @problems(blp, 400, 401, 403, 404, 410)
    def post(self, data, grant_id):
        """Make a Delta Sharing profile for the grant: a bearer token, shown only in this answer,
        in the profile file format that pandas, Spark, Polars and DuckDB clients read. It expires
        after `days` and never after the grant; every table query is metered and audited."""
        return _with_profile(svc.create_token(current_principal(), grant_id, **data))


@blp.route("/grants/<uuid:grant_id>/share-tokens/<uuid:token_id>")
class Token(MethodView):
    @requires(Perm.MANAGE_TOKENS)
    @blp.response(200, s.ShareTokenSchema)
    @problems(blp, 401, 403, 404)
    def delete(self, grant_id, token_id):
        """Revoke a token: its next call is refused (401)."""
        return svc.revoke_token(current_principal(), grant_id, token_id)


# --------------------------------------------------------------------------- the protocol

protocol = FlaskBlueprint("delta_sharing", __name__, url_prefix="/delta-sharing")
MAX_BODY = 64 * 1024
_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 402: "QUOTA_EXCEEDED", 403: "PERMISSION_DENIED", 404: "RESOURCE_DOES_NOT_EXIST",
          405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 410: "RESOURCE_DOES_NOT_EXIST", 413: "INVALID_PARAMETER_VALUE", 429: "TOO_MANY_REQUESTS",
          503: "TEMPORARILY_UNAVAILABLE"}


def protocol_error(status: int, message: str) -> Response:
    """An error in the protocol's format: {"errorCode", "message"}."""
    resp = Response(json.dumps({"errorCode": _CODES.get(status, "INTERNAL_ERROR"), "message": message}), status=status, mimetype="application/json")
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="delta-sharing"'
    return resp


def _caller() -> svc.Caller:
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the profile's bearer token: Authorization: Bearer <token>.")
    base = Principal(request_id=g.get("request_id", "-"), ip=request.remote_addr)
    return svc.authenticate(base, token.strip())


def _page_args() -> None:
    """maxResults and pageToken: every listing fits one page here (a token sees one grant), so a
    page token can only be one this server never gave."""
    unknown = set(request.args) - {"maxResults", "pageToken"}
    if unknown:
        raise ValidationFailed(f"Unknown parameter: {sorted(unknown)[0][:50]}.")
    raw = request.args.get("maxResults")
    if raw is not None and (len(raw) > 4 or not raw.isascii() or not raw.isdigit() or not 0 <= int(raw) <= 1000):
        raise ValidationFailed("maxResults must be a whole number from 0 to 1000.")
    if request.args.get("pageToken"):
        raise ValidationFailed("Unknown pageToken: this server never returns a next page.")


def _json(body: dict[str, Any], version: int | None = None) -> Response:
    resp = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    if version is not None:
        resp.headers["delta-table-version"] = str(version)
    return resp


def _wants_delta() -> bool:
    return svc.delta_format(request.headers.get("delta-sharing-capabilities", ""))


def _ndjson(lines: Iterable[dict[str, Any]], version: int, *, delta: bool) -> Response:
    resp = Response("".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n" for x in lines), mimetype="application/x-ndjson")
    resp.headers["delta-table-version"] = str(version)
    resp.headers["delta-sharing-capabilities"] = "responseformat=delta" if delta else "responseformat=parquet"
    return resp


def _table_json(v: svc.View, t: svc.Table) -> dict[str, Any]:
    return {"name": t.name, "schema": v.schema, "share": v.share, "shareId": str(v.share_id), "id": str(t.id)}


@protocol.get("/shares")
def list_shares() -> Response:
    caller = _caller()
    _page_args()
    v = svc.view(caller)
    return _json({"items": [{"name": v.share, "id": str(v.share_id)}]})


@protocol.get("/shares/<share>")
def get_share(share: str) -> Response:
    v = svc.view(_caller())
    svc.find_table(v, share)
    return _json({"share": {"name": v.share, "id": str(v.share_id)}})


@protocol.get("/shares/<share>/schemas")
def list_schemas(share: str) -> Response:
    caller = _caller()
    _page_args()
    v = svc.view(caller)
    svc.find_table(v, share)
    return _json({"items": [{"name": v.schema, "share": v.share}]})


@protocol.get("/shares/<share>/schemas/<schema>/tables")
def list_tables(share: str, schema: str) -> Response:
    caller = _caller()
    _page_args()
    v = svc.view(caller)
    svc.find_table(v, share, schema)
    return _json({"items": [_table_json(v, t) for t in v.tables.values()]})


@protocol.get("/shares/<share>/all-tables")
def list_all_tables(share: str) -> Response:
    caller = _caller()
    _page_args()
    v = svc.view(caller)
    svc.find_table(v, share)
    return _json({"items": [_table_json(v, t) for t in v.tables.values()]})


@protocol.route("/shares/<share>/schemas/<schema>/tables/<table>/version", methods=["GET", "HEAD"])
def table_version(share: str, schema: str, table: str) -> Response:
    unknown = set(request.args) - {"startingTimestamp"}
    if unknown:
        raise ValidationFailed(f"Unknown parameter: {sorted(unknown)[0][:50]}.")
    v = svc.view(_caller())
    svc.find_table(v, share, schema, table)
    if request.args.get("startingTimestamp"):
        raise ValidationFailed("startingTimestamp is not supported: only the table's current version is shared.")
    resp = Response(status=200)
    resp.headers["delta-table-version"] = str(v.table_version)
    return resp


def _metadata(v: svc.View, t: svc.Table, *, delta: bool, files: int | None = None, size: int | None = None) -> list[dict[str, Any]]:
    files = len(t.files) if files is None else files
    size = t.size if size is None else size
    meta = {"id": str(t.id), "name": t.name, "format": {"provider": "parquet"}, "schemaString": json.dumps(t.schema),
            "partitionColumns": [], "configuration": {"enableChangeDataFeed": "false"}}
    if delta:
        return [{"protocol": {"deltaProtocol": {"minReaderVersion": 1, "minWriterVersion": 2}}},
                {"metaData": {"deltaMetadata": {**meta, "format": {"provider": "parquet", "options": {}}, "createdTime": v.published_ms},
                              "version": v.table_version, "size": size, "numFiles": files}}]
    return [{"protocol": {"minReaderVersion": 1}}, {"metaData": {**meta, "size": size, "numFiles": files}}]


@protocol.get("/shares/<share>/schemas/<schema>/tables/<table>/metadata")
def table_metadata(share: str, schema: str, table: str) -> Response:
    if request.args:
        raise ValidationFailed(f"Unknown parameter: {sorted(request.args)[0][:50]}.")
    v = svc.view(_caller())
    t = svc.find_table(v, share, schema, table)
    assert t is not None
    delta = _wants_delta()
    return _ndjson(_metadata(v, t, delta=delta), v.table_version, delta=delta)


def _query_body() -> dict[str, Any]:
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge(f"A query body is at most {MAX_BODY} bytes.")
    raw = request.stream.read(MAX_BODY + 1)  # a chunked body has no length to check first
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"A query body is at most {MAX_BODY} bytes.")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ValidationFailed("The JSON body is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"The body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except ValueError:  # an integer literal of thousands of digits
        raise ValidationFailed("The body holds a number too long to read.") from None
    found = hostile_value(body)
    if found:
        raise ValidationFailed(f"The JSON body holds {found[1]}.")
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.")
    try:
        return s.QueryBodySchema().load(body)
    except ma.ValidationError as exc:
        raise ValidationFailed("The query body is not valid.", errors=exc.normalized_messages()) from None


@protocol.post("/shares/<share>/schemas/<schema>/tables/<table>/query")
def query_table(share: str, schema: str, table: str) -> Response:
    if request.args:
        raise ValidationFailed(f"Unknown parameter: {sorted(request.args)[0][:50]}.")
    caller = _caller()
    body = _query_body()
    if body.get("timestamp") or body.get("startingVersion") is not None or body.get("endingVersion") is not None:
        raise ValidationFailed("Time travel and version ranges are not supported: only the table's current version is shared.")
    if body.get("maxFiles") is not None or body.get("pageToken"):
        raise ValidationFailed("Paging through a table's files is not supported: omit maxFiles and pageToken (one answer lists every file).")
    v, t, out = svc.query(caller, share, schema, table, limit=body.get("limitHint"), version=body.get("version"))
    expires = int(time.time() * 1000) + (out["files"][0]["expires_in"] * 1000 if out["files"] else 0)
    delta = _wants_delta()
    lines = _metadata(v, t, delta=delta)
    for f in out["files"]:
        stats = json.dumps({"numRecords": f["records"] or 0})
        if delta:
            lines.append({"file": {"id": f["sha256"], "expirationTimestamp": expires, "deltaSingleAction": {"add": {
                "path": f["url"], "partitionValues": {}, "size": f["size"], "modificationTime": v.published_ms, "dataChange": True, "stats": stats}}}})
        else:
            lines.append({"file": {"url": f["url"], "id": f["sha256"], "partitionValues": {}, "size": f["size"], "stats": stats,
                                   "expirationTimestamp": expires}})
    return _ndjson(lines, v.table_version, delta=delta)


@protocol.get("/shares/<share>/schemas/<schema>/tables/<table>/changes")
def table_changes(share: str, schema: str, table: str) -> Response:
    v = svc.view(_caller())
    svc.find_table(v, share, schema, table)
    raise ValidationFailed("The change data feed is not supported: each version of a dataset is shared whole. Read the table again for its "
                           f"current version ({v.table_version}).")


