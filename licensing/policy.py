"""Who may change licensing records, in one table. A vendor's own licences, the licence a version
is offered under and its provenance are part of the vendor's listing, so each action follows the
catalogue's write rule: the same rule object, not a copy that could drift. Reading licences and
provenance follows the visibility of the version they belong to (catalog.policy)."""

from __future__ import annotations

import enum

from catalog.policy import POLICY as CATALOG_POLICY
from catalog.policy import CatalogPermission
from marketplace.kernel.policy import Policy


class LicensingPermission(enum.StrEnum):
    LICENSE_CREATE = "license:create"
    LICENSE_VERSION = "license:version"
    VERSION_LICENSE_SET = "version:license"  # checked by catalog's writable_version (the same rule)
    PROVENANCE_DECLARE = "version:provenance"  # likewise


P = LicensingPermission
POLICY: Policy[LicensingPermission] = Policy("licensing", LicensingPermission, {p: CATALOG_POLICY.rule(CatalogPermission.WRITE) for p in LicensingPermission},
                                             hidden={"org": "No such organisation."})
