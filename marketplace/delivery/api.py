"""Delivery endpoints."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.core.http import Blueprint, current_principal, problems
from marketplace.delivery import schemas as s
from marketplace.delivery import services as svc

blp = Blueprint("delivery", __name__, url_prefix="/api/v1", description="Download authorisation")


@blp.route("/grants/<uuid:grant_id>/downloads")
class Downloads(MethodView):
    @blp.arguments(s.DownloadRequestSchema)
    @blp.response(200, s.DownloadSchema)
    @problems(blp, 401, 402, 403, 404, 410)
    def post(self, data, grant_id):
        """Authorise downloads: checks, quota debit and audit, then short-lived presigned URLs with
        each file's size and SHA-256. 402 carries the remaining balance; 410 means withdrawn."""
        return svc.authorize_download(current_principal(), grant_id, **data)
