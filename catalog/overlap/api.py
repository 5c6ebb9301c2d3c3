"""Overlap endpoints: a version's findings, its text fields, appeals and compliance decisions,
and which datasets overlap with a dataset. Views parse, make one service call, and dump."""

from __future__ import annotations

from flask.views import MethodView

from catalog.overlap import schemas as s
from catalog.overlap import services as svc
from catalog.policy import CatalogPermission
from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, problems
from marketplace.kernel.policy import requires

blp = Blueprint("overlap", __name__, url_prefix="/api/v1", description="Overlap with other datasets: relisted and duplicated records")


@blp.route("/versions/<uuid:version_id>/overlap")
class VersionOverlap(MethodView):
    @blp.response(200, s.OverlapReportSchema)
    @problems(blp, 401, 404)
    def get(self, version_id):
        """What ingest found: records also in other published datasets (exact and near copies,
        per file), duplicates within the version, and whether publishing is held (the vendor's
        members and platform staff)."""
        return svc.version_overlap(current_principal(), version_id)


@blp.route("/versions/<uuid:version_id>/overlap/text-fields")
class TextFields(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.TextFieldsSchema)
    @blp.response(200, s.OverlapReportSchema)
    @problems(blp, 401, 403, 404, 409)
    def put(self, data, version_id):
        """Choose the fields whose text is compared (a draft version)."""
        return svc.set_text_fields(current_principal(), version_id, **data)


@blp.route("/versions/<uuid:version_id>/overlap/appeal")
class Appeal(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.AppealSchema)
    @blp.response(200, s.OverlapReportSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, version_id):
        """Ask platform compliance to let a version held for overlap publish."""
        return svc.appeal(current_principal(), version_id, **data)


@blp.route("/versions/<uuid:version_id>/overlap/decision")
class Decision(MethodView):
    @requires(CatalogPermission.OVERLAP_DECIDE)
    @blp.arguments(s.DecisionSchema)
    @blp.response(200, s.OverlapReportSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, version_id):
        """Let a held version publish its current files, or keep it held (platform compliance);
        the vendor then publishes again."""
        return svc.decide(current_principal(), version_id, **data)


@blp.route("/datasets/<uuid:dataset_id>/overlaps")
class DatasetOverlaps(MethodView):
    @blp.response(200, s.DatasetOverlapsSchema)
    @problems(blp, 401, 404)
    def get(self, dataset_id):
        """Which datasets overlap with this one, both ways (platform staff: every party named;
        the dataset's vendor: the other party when it is public)."""
        return svc.dataset_overlaps(current_principal(), dataset_id)
