"""The audit actions of this domain. Catalogue: datasets, versions, files, uploads, ingest and publication.

Every audit event names one of these (the audit writer refuses anything else), so the actions
are listed in one place, and compliance queries use the same names."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class CatalogAction(AuditAction):
    CATALOG_DOMAIN_ADD = "catalog.domain.add"
    DATASET_CREATE = "dataset.create"
    ACCESS_GATE_SET = "access.gate.set"
    ACCESS_REQUEST_APPROVE = "access.request.approve"
    ACCESS_REQUEST_CREATE = "access.request.create"
    ACCESS_REQUEST_REJECT = "access.request.reject"
    ACCESS_REQUEST_WITHDRAW = "access.request.withdraw"
    DATASET_UPDATE = "dataset.update"
    FILE_PREVIEW_REDACT = "file.preview.redact"
    VERSION_CREATE = "version.create"
    VERSION_DEPRECATE = "version.deprecate"
    VERSION_FILE_ADD = "version.file.add"
    VERSION_FILE_DELETE = "version.file.delete"
    VERSION_FILE_MULTIPART_ABORT = "version.file.multipart.abort"
    VERSION_FILE_MULTIPART_DISCARD = "version.file.multipart.discard"
    VERSION_FILE_MULTIPART_START = "version.file.multipart.start"
    VERSION_FILE_UPLOAD = "version.file.upload"
    VERSION_INGEST = "version.ingest"
    VERSION_OVERLAP_APPEAL = "version.overlap.appeal"
    VERSION_OVERLAP_BLOCK = "version.overlap.block"
    VERSION_OVERLAP_DECIDE = "version.overlap.decide"
    VERSION_OVERLAP_FIELDS = "version.overlap.fields"
    VERSION_OVERLAP_FOUND = "version.overlap.found"  # on the earlier version: its records were relisted by another vendor
    VERSION_PUBLISH = "version.publish"
    VERSION_PUBLISH_REQUEST = "version.publish.request"
    VERSION_TABLES = "version.tables"
    VERSION_UPDATE = "version.update"
    VERSION_WITHDRAW = "version.withdraw"
