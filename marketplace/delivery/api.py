"""Delivery endpoints."""

from __future__ import annotations

import json

from flask import Response
from flask.views import MethodView

from marketplace.delivery import schemas as s
from marketplace.delivery import services as svc
from marketplace.delivery.records import read_records
from marketplace.identity.auth import as_caller
from marketplace.kernel.http import Blueprint, problems

blp = Blueprint("delivery", __name__, url_prefix="/api/v1", description="Download authorisation")


@blp.route("/grants/<uuid:grant_id>/downloads")
class Downloads(MethodView):
    @blp.arguments(s.DownloadRequestSchema)
    @blp.response(200, s.DownloadSchema)
    @problems(blp, 401, 402, 403, 404, 410)
    def post(self, data, grant_id):
        """Authorise downloads: checks, quota debit and audit, then short-lived presigned URLs with
        each file's size and SHA-256. 402 carries the remaining balance; 410 means withdrawn."""
        return as_caller(lambda principal: svc.authorize_download(principal, grant_id, **data))


@blp.route("/grants/<uuid:grant_id>/files")
class GrantFiles(MethodView):
    @blp.response(200, s.GrantFilesSchema)
    @problems(blp, 401, 403, 404, 409, 410)
    def get(self, grant_id):
        """The files this grant delivers now, with what downloading each would charge (nothing
        is charged by asking)."""
        return as_caller(lambda principal: svc.grant_files(principal, grant_id))


@blp.route("/grants/<uuid:grant_id>/records")
class Records(MethodView):
    @blp.arguments(s.RecordsQuerySchema, location="query")
    @blp.response(200, {"type": "string"}, content_type="application/x-ndjson")
    @problems(blp, 400, 401, 402, 403, 404, 409, 410)
    def get(self, args, grant_id):
        """Records of a JSONL, CSV or Parquet file as JSON Lines. Each record is debited; the next
        page's cursor is in the X-Next-Cursor header (absent at the end)."""
        page = as_caller(lambda principal: read_records(principal, grant_id, **args))
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in page["records"])
        resp = Response(body, mimetype="application/x-ndjson")
        resp.headers["X-Records"] = str(len(page["records"]))
        resp.headers["X-Records-Charged"] = str(page["charged"])
        if page["next_cursor"]:
            resp.headers["X-Next-Cursor"] = page["next_cursor"]
        return resp
