"""Catalogue endpoints: domains, datasets, versions, files, uploads, publishing, manifests,
previews and search. Views parse, make one service call, and dump."""

from __future__ import annotations

from typing import BinaryIO, cast

from flask import request
from flask.views import MethodView

from catalog import schemas as s
from catalog.policy import CatalogPermission
from catalog.services import datasets as svc
from catalog.services import search as search_svc
from catalog.services import uploads
from marketplace.identity.auth import current_principal
from marketplace.kernel.config import current_settings
from marketplace.kernel.http import Blueprint, SlowBodyGuard, problems, raw_body
from marketplace.kernel.policy import requires

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Datasets, versions, files, uploads and search")


@blp.route("/domains")
class Domains(MethodView):
    @blp.response(200, s.DomainSchema(many=True))
    def get(self):
        """The domain taxonomy."""
        return svc.list_domains()


@blp.route("/admin/domains")
class AdminDomains(MethodView):
    @requires(CatalogPermission.DOMAIN_ADD)
    @blp.arguments(s.DomainCreateSchema)
    @blp.response(201, s.DomainSchema)
    @problems(blp, 401, 403, 409)
    def post(self, data):
        """Add a domain to the taxonomy (platform admin)."""
        return svc.add_domain(current_principal(), **data)


@blp.route("/datasets")
class Datasets(MethodView):
    @blp.arguments(s.SearchQuerySchema, location="query")
    @blp.response(200, s.SearchResultSchema)
    @problems(blp, 400)
    def get(self, args):
        """Search the public catalogue: full text, filters, facet counts, sorting, cursor pages."""
        return search_svc.search(current_principal(), **args)

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.DatasetCreateSchema)
    @blp.response(201, s.DatasetSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data):
        """List a new dataset (approved vendors)."""
        return svc.create_dataset_view(current_principal(), **data)


@blp.route("/datasets/<uuid:dataset_id>")
class DatasetItem(MethodView):
    @blp.response(200, s.DatasetSchema)
    @problems(blp, 404)
    def get(self, dataset_id):
        """One dataset, with its card rendered as sanitised HTML."""
        return svc.dataset_view(current_principal(), dataset_id)

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.DatasetUpdateSchema)
    @blp.response(200, s.DatasetSchema)
    @problems(blp, 401, 403, 404)
    def patch(self, data, dataset_id):
        """Change a dataset's metadata or visibility."""
        return svc.update_dataset_view(current_principal(), dataset_id, **data)


@blp.route("/orgs/<uuid:org_id>/datasets")
class OrgDatasets(MethodView):
    @blp.response(200, s.DatasetSchema(many=True))
    @problems(blp, 401, 403, 404)
    def get(self, org_id):
        """Every dataset of a vendor organisation, drafts included (members)."""
        return svc.org_dataset_views(current_principal(), org_id)


@blp.route("/datasets/<uuid:dataset_id>/versions")
class Versions(MethodView):
    @blp.response(200, s.VersionSchema(many=True))
    @problems(blp, 404)
    def get(self, dataset_id):
        """The dataset's versions you can see, newest first."""
        return svc.list_versions(current_principal(), dataset_id)

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.VersionCreateSchema)
    @blp.response(201, s.VersionSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, dataset_id):
        """Start a new draft version."""
        return svc.create_version(current_principal(), dataset_id, **data)


@blp.route("/versions/<uuid:version_id>")
class VersionItem(MethodView):
    @blp.response(200, s.VersionSchema)
    @problems(blp, 404)
    def get(self, version_id):
        """One version with its status and ingest report."""
        return svc.get_version(current_principal(), version_id)[0]

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.VersionUpdateSchema)
    @blp.response(200, s.VersionSchema)
    @problems(blp, 401, 403, 404, 409)
    def patch(self, data, version_id):
        """Edit a draft's changelog (published versions are immutable: 409)."""
        return svc.update_version(current_principal(), version_id, **data)


@blp.route("/versions/<uuid:version_id>/files")
class Files(MethodView):
    @blp.response(200, s.FileSchema(many=True))
    @problems(blp, 404)
    def get(self, version_id):
        """The version's files with sizes, digests and record counts."""
        return svc.list_files(current_principal(), version_id)

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.FileCreateSchema)
    @blp.response(201, s.FileCreatedSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, version_id):
        """Declare a file (path, size, SHA-256). `already_stored` means no upload is needed."""
        f, stored = svc.add_file(current_principal(), version_id, **data)
        return dict(_file_dict(f), already_stored=stored)


def _file_dict(f) -> dict:
    return {c: getattr(f, c) for c in ("id", "version_id", "path", "size", "sha256", "media_type", "format", "records", "status", "failure_reason", "schema", "stats", "created_at")}


@blp.route("/versions/<uuid:version_id>/files/<uuid:file_id>")
class FileItem(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.response(204)
    @problems(blp, 401, 403, 404, 409)
    def delete(self, version_id, file_id):
        """Remove a file from a draft (its open upload is aborted)."""
        svc.delete_file(current_principal(), version_id, file_id)


@blp.route("/files/<uuid:file_id>/content")
class FileContent(MethodView):
    @requires(CatalogPermission.WRITE)
    @raw_body
    @blp.response(200, s.FileSchema)
    @problems(blp, 400, 401, 403, 404, 408, 409, 413)
    @blp.doc(requestBody={"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}, "required": True})
    def put(self, file_id):
        """Upload a small file's bytes in one request (larger files: multipart)."""
        settings = current_settings()
        body = SlowBodyGuard(request.stream, idle_timeout=settings.upload_idle_timeout_seconds, min_rate=settings.upload_min_rate)
        # A raw binary stream (io.RawIOBase); typeshed does not count RawIOBase as a BinaryIO.
        return uploads.upload_small(current_principal(), file_id, cast(BinaryIO, body), request.content_length)


@blp.route("/files/<uuid:file_id>/multipart")
class Multipart(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.MultipartStartSchema)
    @blp.response(201, s.MultipartSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, file_id):
        """Open a multipart upload (or resume the open one) and get the first part URLs."""
        return uploads.open_multipart(current_principal(), file_id, **data)

    @blp.arguments(s.PartUrlQuerySchema, location="query")
    @blp.response(200, s.MultipartSchema)
    @problems(blp, 401, 403, 404, 409)
    def get(self, args, file_id):
        """Presigned part URLs from `first`, and the parts received so far (to resume)."""
        return uploads.part_urls(current_principal(), file_id, **args)

    @requires(CatalogPermission.WRITE)
    @blp.response(200, s.FileSchema)
    @problems(blp, 401, 403, 404, 409)
    def delete(self, file_id):
        """Abort the upload; every part received is discarded."""
        return uploads.abort_multipart(current_principal(), file_id)


@blp.route("/files/<uuid:file_id>/multipart/complete")
class MultipartComplete(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.MultipartCompleteSchema)
    @blp.response(200, s.FileSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, file_id):
        """Assemble the parts. Missing parts are named; a wrong total size discards the upload."""
        return uploads.complete_multipart(current_principal(), file_id, data["parts"])


@blp.route("/versions/<uuid:version_id>/publish")
class Publish(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.response(202, s.VersionSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, version_id):
        """Verify every file server-side and publish (inline by default; poll the version otherwise)."""
        return svc.publish(current_principal(), version_id)


@blp.route("/versions/<uuid:version_id>/deprecate")
class Deprecate(MethodView):
    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.ReasonSchema, required=False)
    @blp.response(200, s.VersionSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, version_id):
        """Mark a published version as superseded (still downloadable)."""
        return svc.deprecate_version(current_principal(), version_id, **data)


@blp.route("/versions/<uuid:version_id>/withdraw")
class Withdraw(MethodView):
    @requires(CatalogPermission.WITHDRAW)
    @blp.arguments(s.WithdrawSchema)
    @blp.response(200, s.VersionSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, version_id):
        """Withdraw a version (a reason is required): no new downloads."""
        return svc.withdraw_version(current_principal(), version_id, **data)


@blp.route("/versions/<uuid:version_id>/manifest")
class Manifest(MethodView):
    @blp.response(200, s.ManifestSchema)
    @problems(blp, 404, 409)
    def get(self, version_id):
        """The version's manifest: path, size, sha256, records and format per file, and the root digest."""
        v, ds, entries = svc.get_manifest(current_principal(), version_id)
        return {"dataset_id": ds.id, "version_id": v.id, "version": v.version, "root_digest": v.manifest_digest, "files": entries}


@blp.route("/files/<uuid:file_id>/preview")
class Preview(MethodView):
    @blp.response(200, s.PreviewSchema)
    @problems(blp, 404, 410)
    def get(self, file_id):
        """The sample records of a file (as redacted by the vendor)."""
        return svc.preview_view(svc.get_preview(current_principal(), file_id))

    @requires(CatalogPermission.WRITE)
    @blp.arguments(s.PreviewRedactSchema)
    @blp.response(200, s.PreviewSchema)
    @problems(blp, 401, 403, 404, 409)
    def put(self, data, file_id):
        """Redact the sample: mask fields, drop records, or hide it."""
        return svc.preview_view(svc.redact_preview(current_principal(), file_id, **data))


