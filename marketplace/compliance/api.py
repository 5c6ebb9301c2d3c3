"""Compliance report endpoints."""

from __future__ import annotations

import json

from flask import Response
from flask.views import MethodView

from marketplace.compliance import regulatory, training
from marketplace.compliance import schemas as s
from marketplace.compliance import services as svc
from marketplace.compliance.documents import render_docx, render_html
from marketplace.compliance.policy import CompliancePermission
from marketplace.compliance.schemas import BomQuery, ReportQuery
from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, answers_as, problems
from marketplace.kernel.policy import requires

blp = Blueprint("compliance", __name__, url_prefix="/api/v1",
                description="Provenance reports, data bills of materials, models and training runs, and regulatory documents")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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


# --------------------------------------------------------------------------- models and training runs


@blp.route("/orgs/<uuid:org_id>/models")
class Models(MethodView):
    @blp.response(200, s.ModelSchema(many=True))
    @problems(blp, 401, 403, 404)
    def get(self, org_id):
        """The organisation's models (members, auditors, platform compliance)."""
        return training.list_models(current_principal(), org_id)

    @requires(CompliancePermission.MODEL_WRITE)
    @blp.arguments(s.ModelCreateSchema)
    @blp.response(201, s.ModelSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, org_id):
        """Declare a model the organisation places on the market (unique by name and version)."""
        return training.create_model(current_principal(), org_id, **data)


@blp.route("/models/<uuid:model_id>")
class ModelItem(MethodView):
    @blp.response(200, s.ModelDetailSchema)
    @problems(blp, 401, 403, 404)
    def get(self, model_id):
        """A model with its training runs and what each was fed."""
        return training.model_detail(current_principal(), model_id)

    @requires(CompliancePermission.MODEL_WRITE)
    @blp.arguments(s.ModelUpdateSchema)
    @blp.response(200, s.ModelSchema)
    @problems(blp, 400, 401, 403, 404)
    def patch(self, data, model_id):
        """Change a model's provider, release date or description."""
        return training.update_model(current_principal(), model_id, **data)


@blp.route("/models/<uuid:model_id>/runs")
class Runs(MethodView):
    @requires(CompliancePermission.MODEL_WRITE)
    @blp.arguments(s.RunCreateSchema)
    @blp.response(201, s.RunSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, model_id):
        """Declare a training run of the model."""
        return training.create_run_view(current_principal(), model_id, **data)


@blp.route("/training-runs/<uuid:run_id>")
class RunItem(MethodView):
    @blp.response(200, s.RunSchema)
    @problems(blp, 401, 403, 404)
    def get(self, run_id):
        """A training run with its inputs."""
        return training.run_view(current_principal(), run_id)

    @requires(CompliancePermission.MODEL_WRITE)
    @blp.response(204)
    @problems(blp, 401, 403, 404, 409)
    def delete(self, run_id):
        """Remove a run declared by mistake, while nothing is attached to it (409 otherwise)."""
        training.delete_run(current_principal(), run_id)


@blp.route("/training-runs/<uuid:run_id>/inputs")
class RunInputs(MethodView):
    @requires(CompliancePermission.MODEL_WRITE)
    @blp.arguments(s.InputCreateSchema)
    @blp.response(201, s.InputSchema)
    @problems(blp, 400, 401, 403, 404)
    def post(self, data, run_id):
        """Attach what the run was fed: a grant (every file of its version, or the files of a
        verified download, each checked against the manifest by SHA-256), or a declared source."""
        return training.add_input(current_principal(), run_id, **data)


@blp.route("/training-runs/<uuid:run_id>/inputs/<uuid:input_id>")
class RunInputItem(MethodView):
    @requires(CompliancePermission.MODEL_WRITE)
    @blp.response(204)
    @problems(blp, 401, 403, 404)
    def delete(self, run_id, input_id):
        """Detach an input (a correction; the audit log keeps both)."""
        training.remove_input(current_principal(), run_id, input_id)


@blp.route("/models/<uuid:model_id>/bom")
class ModelBom(MethodView):
    @blp.response(200, {"type": "object"}, content_type="application/vnd.cyclonedx+json")
    @problems(blp, 401, 403, 404)
    def get(self, model_id):
        """The model's data bill of materials (CycloneDX 1.6): exactly what its runs were fed."""
        return Response(json.dumps(svc.model_bom(current_principal(), model_id), indent=2), mimetype="application/vnd.cyclonedx+json")


@blp.route("/models/<uuid:model_id>/eu-training-summary")
class EuSummary(MethodView):
    @blp.arguments(s.SummaryQuery, location="query")
    @blp.response(200, {"type": "object"})
    @answers_as(blp, 200, "application/json", "text/html", DOCX)
    @problems(blp, 400, 401, 403, 404)
    def get(self, args, model_id):
        """The EU AI Act Article 53(1)(d) public summary of training content, in the structure of
        the AI Office's template, pre-filled from evidence (each value links to it); what the
        platform cannot know is "to be provided". JSON, HTML or DOCX."""
        doc = regulatory.eu_summary(current_principal(), model_id)
        if args["format"] == "html":
            return Response(render_html(doc), mimetype="text/html")
        if args["format"] == "docx":
            return Response(render_docx(doc), mimetype=DOCX, headers={"Content-Disposition": f'attachment; filename="training-summary-{model_id}.docx"'})
        return Response(json.dumps(doc, indent=2, ensure_ascii=False), mimetype="application/json")


@blp.route("/models/<uuid:model_id>/cn-filing-evidence")
class CnFiling(MethodView):
    @blp.arguments(s.FilingQuery, location="query")
    @blp.response(200, {"type": "object"})
    @answers_as(blp, 200, "application/json", "text/html")
    @problems(blp, 400, 401, 403, 404)
    def get(self, args, model_id):
        """Training-data evidence for a Chinese generative-AI service filing (Interim Measures,
        Art. 7; TC260-003-2024): per source, its legality, share, personal information and
        annotation records. Chinese (lang=zh) or English (lang=en); JSON or HTML."""
        doc = regulatory.cn_filing(current_principal(), model_id, args["lang"])
        if args["format"] == "html":
            return Response(render_html(doc, lang=args["lang"]), mimetype="text/html")
        return Response(json.dumps(doc, indent=2, ensure_ascii=False), mimetype="application/json")
