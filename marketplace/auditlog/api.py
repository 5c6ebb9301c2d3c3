"""Audit endpoints: role-scoped queries, exports with checkpoints, inclusion proofs, the public
verification key, and (platform compliance) a live verification of the whole log."""

from __future__ import annotations

import base64

from flask import Response
from flask.views import MethodView

from marketplace.auditlog import schemas as s
from marketplace.auditlog import services as svc
from marketplace.formats.auditchain import key_id
from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, answers_as, problems

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Tamper-evident audit log")


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(s.AuditQuerySchema, location="query")
    @blp.response(200, s.AuditPageSchema)
    @problems(blp, 400, 401, 403, 404)
    def get(self, args):
        """Events, newest first, with filters and a signed cursor. Organisations see events they
        caused or that concern them; platform compliance sees everything."""
        return svc.query(current_principal(), **args)


@blp.route("/events/<int:event_id>/proof")
class Proof(MethodView):
    @blp.response(200, s.ProofSchema)
    @problems(blp, 401, 404, 409)
    def get(self, event_id):
        """Inclusion proof of one sealed event: its Merkle path to a signed checkpoint."""
        return svc.proof(current_principal(), event_id)


@blp.route("/export")
class Export(MethodView):
    @blp.arguments(s.ExportQuerySchema, location="query")
    @blp.response(200, {"type": "string"}, content_type="application/x-ndjson")
    @answers_as(blp, 200, "application/x-ndjson", "text/csv")
    @problems(blp, 400, 401, 403, 404)
    def get(self, args):
        """JSON Lines (or CSV) with the checkpoints, verifiable offline: `marketplace audit verify FILE`."""
        p = current_principal()
        if args["format"] == "csv":
            return Response(svc.export_csv(p, org_id=args.get("org_id")), mimetype="text/csv",
                            headers={"Content-Disposition": "attachment; filename=audit.csv"})
        body = "\n".join(svc.export_lines(p, org_id=args.get("org_id"))) + "\n"
        return Response(body, mimetype="application/x-ndjson", headers={"Content-Disposition": "attachment; filename=audit.jsonl"})


@blp.route("/key")
class Key(MethodView):
    @blp.response(200, s.KeySchema)
    def get(self):
        """The public key that verifies checkpoints (publish it where auditors can find it)."""
        pk = svc.public_key_b64()
        return {"public_key": pk, "key_id": key_id(base64.b64decode(pk)), "algorithm": "Ed25519"}


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, s.VerifyReportSchema)
    @problems(blp, 401, 403)
    def get(self):
        """Verify every sealed block against the live events (platform compliance)."""
        return svc.verify_whole_log(current_principal()).to_dict()


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.response(200, s.CheckpointsSchema)
    @problems(blp, 401, 403)
    def get(self):
        """The newest signed checkpoint, and the one witnessed outside the database: copy it
        somewhere else; a later consistency proof shows the log only grew from it."""
        return svc.checkpoints(current_principal())


@blp.route("/consistency")
class Consistency(MethodView):
    @blp.arguments(s.ConsistencyQuerySchema, location="query")
    @blp.response(200, s.ConsistencySchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def get(self, args):
        """RFC 6962 consistency proof between a checkpoint you kept and a later one (verify it
        offline: `marketplace audit consistency OLD.json`)."""
        return svc.consistency(current_principal(), **args)
