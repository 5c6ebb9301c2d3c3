"""Compliance report endpoints."""

from __future__ import annotations

import json

from flask import Response
from flask.views import MethodView

from marketplace.compliance import services as svc
from marketplace.compliance.schemas import BomQuery, ReportQuery
from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, answers_as, problems

blp = Blueprint("compliance", __name__, url_prefix="/api/v1", description="Provenance reports and data bills of materials")


@blp.route("/versions/<uuid:version_id>/report")
class ProvenanceReport(MethodView):
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, {"type": "object"})
    @answers_as(blp, 200, "application/json", "text/html")
    @problems(blp, 400, 404)
    def get(self, args, version_id):
        """Provenance report: sources, lineage, findings, attestations; the access summary for the
        vendor and platform compliance. JSON or HTML."""
        report = svc.provenance_report(current_principal(), version_id)
        if args["format"] == "html":
            return Response(svc.render_report_html(report), mimetype="text/html")
        return Response(json.dumps(report, indent=2, default=str), mimetype="application/json")


@blp.route("/orgs/<uuid:org_id>/bom")
class Bom(MethodView):
    @blp.arguments(BomQuery, location="query")
    @blp.response(200, {"type": "object"}, content_type="application/vnd.cyclonedx+json")
    @answers_as(blp, 200, "application/vnd.cyclonedx+json", "application/spdx+json")
    @problems(blp, 400, 401, 403, 404)
    def get(self, args, org_id):
        """The organisation's data bill of materials (any member, auditors included: everyone who may
        use the data may see what it is and under which terms; platform compliance too):
        CycloneDX 1.6 or SPDX 3.0."""
        p = current_principal()
        if args["format"] == "spdx":
            return Response(json.dumps(svc.bom_spdx(p, org_id), indent=2), mimetype="application/spdx+json")
        return Response(json.dumps(svc.bom_cyclonedx(p, org_id), indent=2), mimetype="application/vnd.cyclonedx+json")
