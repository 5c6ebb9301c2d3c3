"""Licensing endpoints: the licence registry (public), normalisation, a version's licence and
provenance, compatibility findings, NOTICE and standard exports."""

from __future__ import annotations

import json

from flask import Response
from flask.views import MethodView

from licensing import exports
from licensing import schemas as s
from licensing import services as svc
from licensing.normalise import normalise
from licensing.policy import LicensingPermission
from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, problems
from marketplace.kernel.policy import requires

blp = Blueprint("licensing", __name__, url_prefix="/api/v1", description="Licences, provenance, lineage compatibility and exports")


@blp.route("/licenses")
class Licenses(MethodView):
    @blp.arguments(s.LicenseQuerySchema, location="query")
    @blp.response(200, s.LicenseSummarySchema(many=True))
    @problems(blp, 400)
    def get(self, args):
        """The registry: latest version of every licence, standard and custom."""
        return svc.list_licenses(**args)

    @requires(LicensingPermission.LICENSE_CREATE)
    @blp.arguments(s.CustomLicenseSchema)
    @blp.response(201, s.LicenseSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data):
        """Register a custom licence (approved vendors): full text pinned by SHA-256, structured terms."""
        return svc.create_custom_license(current_principal(), **data)


@blp.route("/licenses/normalise")
class Normalise(MethodView):
    @blp.arguments(s.NormaliseSchema)
    @blp.response(200, s.NormalisedSchema)
    @problems(blp, 400)
    def post(self, data):
        """Map a free-text licence name or URL to an identifier or class, with a confidence."""
        return normalise(data["text"]).to_dict()

    @blp.arguments(s.NormaliseSchema, location="query")
    @blp.response(200, s.NormalisedSchema)
    @problems(blp, 400)
    def get(self, args):
        """The same as POST, with the text in the query string (?text=...): handy from a browser."""
        return normalise(args["text"]).to_dict()


@blp.route("/licenses/<string:identifier>")
class LicenseItem(MethodView):
    @blp.arguments(s.LicenseVersionQuerySchema, location="query")
    @blp.response(200, s.LicenseSchema)
    @problems(blp, 404)
    def get(self, args, identifier):
        """One licence (latest version unless `version` is given), with its text and terms."""
        return svc.get_license(identifier, args.get("version"))


@blp.route("/licenses/<string:identifier>/versions")
class LicenseVersions(MethodView):
    @requires(LicensingPermission.LICENSE_VERSION)
    @blp.arguments(s.LicenseVersionCreateSchema)
    @blp.response(201, s.LicenseSchema)
    @problems(blp, 401, 403, 404)
    def post(self, data, identifier):
        """Publish a new version of your custom licence (earlier versions never change)."""
        return svc.new_license_version(current_principal(), identifier, **data)


@blp.route("/versions/<uuid:version_id>/license")
class VersionLicenseView(MethodView):
    @blp.response(200, s.LicenseSchema)
    @problems(blp, 404)
    def get(self, version_id):
        """The licence the version is offered under."""
        return svc.get_version_license(current_principal(), version_id)

    @requires(LicensingPermission.VERSION_LICENSE_SET)
    @blp.arguments(s.VersionLicenseSetSchema)
    @blp.response(200, s.LicenseSchema)
    @problems(blp, 401, 403, 404, 409)
    def put(self, data, version_id):
        """Declare the version's licence (drafts only)."""
        return svc.set_version_license(current_principal(), version_id, **data)[1]


@blp.route("/versions/<uuid:version_id>/provenance")
class Provenance(MethodView):
    @blp.arguments(s.ProvenanceQuerySchema, location="query")
    @blp.response(200, s.ProvenanceSchema(many=True))
    @problems(blp, 404)
    def get(self, args, version_id):
        """The current declaration (and with history=true every superseded one)."""
        return svc.get_provenance(current_principal(), version_id, **args)

    @requires(LicensingPermission.PROVENANCE_DECLARE)
    @blp.arguments(s.ProvenanceDeclareSchema)
    @blp.response(201, s.ProvenanceSchema)
    @problems(blp, 401, 403, 404, 409)
    def put(self, data, version_id):
        """Declare sources, collection, personal data, annotation and limitations (drafts only), attested."""
        attest = data.pop("attest")
        return svc.declare_provenance(current_principal(), version_id, body=data, attest=attest)


@blp.route("/versions/<uuid:version_id>/compatibility")
class Compatibility(MethodView):
    @blp.arguments(s.CompatibilityQuerySchema, location="query")
    @blp.response(200, s.CompatibilitySchema)
    @problems(blp, 400, 404)
    def get(self, args, version_id):
        """Effective terms over the whole lineage, findings with their paths, allowed offer kinds."""
        return svc.compatibility(current_principal(), version_id, **args)


@blp.route("/versions/<uuid:version_id>/notice")
class Notice(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/plain")
    @problems(blp, 404)
    def get(self, version_id):
        """The NOTICE file: licence, attributions owed upstream, share-alike and model terms."""
        return Response(svc.notice(current_principal(), version_id), mimetype="text/plain")


def _json(body, mimetype: str) -> Response:
    return Response(body if isinstance(body, str) else json.dumps(body, indent=2, default=str), mimetype=mimetype)


@blp.route("/versions/<uuid:version_id>/croissant")
class CroissantExport(MethodView):
    @blp.response(200, {"type": "object"}, content_type="application/ld+json")
    @problems(blp, 404, 409)
    def get(self, version_id):
        """Croissant 1.1 JSON-LD: licence, a SHA-256 per file, RAI fields, lineage (prov:wasDerivedFrom)."""
        return _json(exports.croissant(current_principal(), version_id), "application/ld+json")


@blp.route("/versions/<uuid:version_id>/prov")
class ProvExport(MethodView):
    @blp.response(200, {"type": "object"}, content_type="application/json")
    @problems(blp, 404, 409)
    def get(self, version_id):
        """W3C PROV-JSON of the version's lineage."""
        return _json(exports.prov_json(current_principal(), version_id), "application/json")


@blp.route("/versions/<uuid:version_id>/spdx")
class SpdxExport(MethodView):
    @blp.response(200, {"type": "object"}, content_type="application/spdx+json")
    @problems(blp, 404, 409)
    def get(self, version_id):
        """SPDX 3.0.1 dataset package with declared and concluded licences."""
        return _json(exports.spdx(current_principal(), version_id), "application/spdx+json")
