"""The audit actions of this domain. Licensing: licences, a version's licence, provenance declarations.

Every audit event names one of these (the audit writer refuses anything else), so the actions
are listed in one place, and compliance queries use the same names."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class LicensingAction(AuditAction):
    LICENSE_CREATE = "license.create"
    LICENSE_VERSION = "license.version"
    VERSION_LICENSE_SET = "version.license.set"
    VERSION_PROVENANCE_DECLARE = "version.provenance.declare"
