"""Gated access endpoints: a dataset's gate and questions, buyers' requests, the vendor's inbox,
decisions and the CSV access report. Views parse, make one service call, and dump."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from catalog import schemas as s
from catalog.policy import CatalogPermission
from catalog.services import access
from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import NotFound
from marketplace.kernel.http import Blueprint, problems
from marketplace.kernel.policy import requires

blp = Blueprint("access", __name__, url_prefix="/api/v1", description="Gated access: requests for a dataset's samples or a private offer")

UNGATED = {"samples": False, "private_offers": False, "fields": [], "response_days": 0, "instructions": "", "updated_at": None}


@blp.route("/datasets/<uuid:dataset_id>/access-gate")
class Gate(MethodView):
    @blp.response(200, s.AccessGateSchema)
    @problems(blp, 404)
    def get(self, dataset_id):
        """The dataset's gate and the questions a request answers (404 if it takes no requests)."""
        gate = access.get_gate(current_principal(), dataset_id)
        if gate is None:
            raise NotFound("This dataset does not take access requests.")
        return gate

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.AccessGateSetSchema)
    @blp.response(200, s.AccessGateSchema)
    @problems(blp, 400, 401, 403, 404)
    def put(self, data, dataset_id):
        """Make the dataset "access on request" for its samples, its private offers or both, with
        your questions (text, select, country, date, a checkbox with terms) and the response time
        you promise. Both flags off removes the gate."""
        gate = access.set_gate(current_principal(), dataset_id, **data)
        return gate if gate is not None else dict(UNGATED, dataset_id=dataset_id)


@blp.route("/datasets/<uuid:dataset_id>/access-requests")
class Ask(MethodView):
    @requires(CatalogPermission.ACCESS_REQUEST)
    @blp.arguments(s.AccessRequestCreateSchema)
    @blp.response(201, s.AccessRequestSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, dataset_id):
        """Ask for access for your organisation, answering the vendor's questions. One open
        request per dataset and organisation; the vendor is told at once."""
        req = access.request_access(current_principal(), dataset_id, **data)
        return access.get_request(current_principal(), req.id)


@blp.route("/orgs/<uuid:org_id>/access-requests")
class Inbox(MethodView):
    @blp.arguments(s.AccessListQuerySchema, location="query")
    @blp.response(200, s.AccessRequestSchema(many=True))
    @problems(blp, 400, 401, 403, 404)
    def get(self, args, org_id):
        """The vendor's inbox (`role=vendor`, oldest first, overdue ones flagged) or your
        organisation's own requests (`role=buyer`)."""
        return access.list_requests(current_principal(), org_id, as_vendor=args["role"] == "vendor", status=args["status"], dataset_id=args["dataset_id"])


@blp.route("/orgs/<uuid:org_id>/access-report")
class Report(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    @problems(blp, 401, 403, 404)
    def get(self, org_id):
        """The vendor's access report as CSV: every request to its datasets, one row each, the
        answers as columns."""
        return Response(access.report_csv(current_principal(), org_id), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=access-requests.csv"})


@blp.route("/access-requests/<uuid:request_id>")
class One(MethodView):
    @blp.response(200, s.AccessRequestSchema)
    @problems(blp, 401, 403, 404)
    def get(self, request_id):
        """One request, as its vendor or its buyer reads it."""
        return access.get_request(current_principal(), request_id)


@blp.route("/access-requests/<uuid:request_id>/approve")
class Approve(MethodView):
    @requires(CatalogPermission.ACCESS_DECIDE)
    @blp.arguments(s.AccessDecisionSchema)
    @blp.response(200, s.AccessRequestSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, request_id):
        """Approve (the vendor's owners and admins). With `offer`, the buyer also gets a private
        offer, made in the same transaction: if the offer is refused, nothing is approved."""
        p = current_principal()
        access.decide(p, request_id, approve=True, reason=data["reason"], offer=data["offer"])
        return access.get_request(p, request_id)


@blp.route("/access-requests/<uuid:request_id>/reject")
class Reject(MethodView):
    @requires(CatalogPermission.ACCESS_DECIDE)
    @blp.arguments(s.AccessRejectSchema)
    @blp.response(200, s.AccessRequestSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, request_id):
        """Reject, with a reason the buyer reads (at most 200 characters)."""
        p = current_principal()
        access.decide(p, request_id, approve=False, reason=data["reason"])
        return access.get_request(p, request_id)


@blp.route("/access-requests/<uuid:request_id>/withdraw")
class Withdraw(MethodView):
    @requires(CatalogPermission.ACCESS_REQUEST)
    @blp.response(200, s.AccessRequestSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, request_id):
        """Take back your organisation's pending request."""
        p = current_principal()
        access.withdraw(p, request_id)
        return access.get_request(p, request_id)
