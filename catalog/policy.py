"""Who may see and change the catalogue, in one table, plus the public-visibility rules.

Readers: anyone for listed/unlisted datasets with a published version (the public catalogue);
members of the owning organisation (and platform staff) for everything, drafts included.
Writers: members (not auditors) of the owning organisation, with the catalog:write scope, and
the organisation must be an approved vendor (a state, checked after the table). Anything the
caller may not see is reported as not found.
"""

from __future__ import annotations

import enum

from catalog.models import Dataset, DatasetVersion, VersionStatus, Visibility
from marketplace.identity.models import Organization
from marketplace.kernel.errors import Forbidden, NotFound
from marketplace.kernel.policy import ANY_ROLE, MANAGERS, WRITERS, Platform, Policy, Rule
from marketplace.kernel.principal import Principal

PUBLIC_VISIBILITY = {Visibility.listed.value, Visibility.unlisted.value, Visibility.delisted.value}
PUBLIC_VERSION_STATUS = {VersionStatus.published.value, VersionStatus.deprecated.value, VersionStatus.withdrawn.value}
STAFF = frozenset({Platform.admin, Platform.compliance})


class CatalogPermission(enum.StrEnum):
    READ_PRIVATE = "catalog:read_private"  # drafts, uploads, ingest details, the vendor's own list
    WRITE = "catalog:write"  # datasets, versions, files, uploads, licences and provenance of a vendor
    WITHDRAW = "catalog:withdraw"  # a published version: cannot be undone, and its buyers lose access
    DOMAIN_ADD = "catalog:domains"
    ACCESS_REQUEST = "catalog:access_request"  # a buyer organisation asks for access to a gated dataset
    ACCESS_DECIDE = "catalog:access_decide"  # the vendor approves or rejects
    ACCESS_READ = "catalog:access_read"  # the vendor's inbox and report, the buyer's own requests
    OVERLAP_DECIDE = "catalog:overlap_decide"  # let a version held for overlap with another vendor's data publish, or not
    OVERLAP_SEARCH = "catalog:overlap_search"  # every overlap finding across the catalogue, both parties named


P = CatalogPermission
POLICY: Policy[CatalogPermission] = Policy("catalog", CatalogPermission, {
    P.READ_PRIVATE: Rule(scope="catalog:read", parties={"org": ANY_ROLE}, platform=STAFF),
    P.WRITE: Rule(scope="catalog:write", parties={"org": WRITERS}, why="Auditors have read-only access."),
    # Like marking money paid, a withdrawal changes what paying buyers get: the vendor's admins.
    P.WITHDRAW: Rule(scope="catalog:write", parties={"org": MANAGERS}, why="Only the vendor's owners and admins can withdraw a published version."),
    P.DOMAIN_ADD: Rule(platform=frozenset({Platform.admin}), why="Only a platform administrator may do this."),
    P.ACCESS_REQUEST: Rule(scope="commerce:write", parties={"buyer": WRITERS},
                           why="Access is asked for (and a request withdrawn) by the buyer organisation's owners, admins and members."),
    P.ACCESS_DECIDE: Rule(scope="catalog:write", parties={"vendor": MANAGERS}, why="Only the vendor's owners and admins answer access requests."),
    P.ACCESS_READ: Rule(scope="catalog:read", parties={"vendor": ANY_ROLE, "buyer": ANY_ROLE}, platform=STAFF),
    P.OVERLAP_DECIDE: Rule(platform=frozenset({Platform.compliance}), why="Only platform compliance decides on a version held for overlap."),
    P.OVERLAP_SEARCH: Rule(platform=STAFF, why="Only platform staff see overlap findings across vendors."),
}, hidden={"org": "No such organisation.", "vendor": "No such access request.", "buyer": "No such access request."})


def is_owner_member(principal: Principal, dataset: Dataset) -> bool:
    return principal.role_in(dataset.organization_id) is not None


def can_read_private(principal: Principal, dataset: Dataset) -> bool:
    """Drafts, uploads and ingest details: the vendor's members and platform staff."""
    return POLICY.allows(principal, P.READ_PRIVATE, org=dataset.organization_id)


def can_see_dataset(principal: Principal, dataset: Dataset) -> bool:
    if can_read_private(principal, dataset):
        return True
    return dataset.visibility in PUBLIC_VISIBILITY and dataset.published_at is not None


def require_dataset_visible(principal: Principal, dataset: Dataset | None) -> Dataset:
    if dataset is None or not can_see_dataset(principal, dataset):
        raise NotFound("No such dataset.")
    return dataset


def can_see_version(principal: Principal, dataset: Dataset, version: DatasetVersion) -> bool:
    if can_read_private(principal, dataset):
        return True
    return can_see_dataset(principal, dataset) and version.status in PUBLIC_VERSION_STATUS


def require_vendor_writer(principal: Principal, org: Organization) -> None:
    """The caller may change this vendor's catalogue: the table's rule, then the vendor state."""
    POLICY.require(principal, P.WRITE, org=org.id)
    require_approved_vendor(org)


def require_dataset_writer(principal: Principal, dataset: Dataset, org: Organization, action: CatalogPermission = CatalogPermission.WRITE) -> None:
    """The caller may change this dataset (another tenant's dataset does not exist for it)."""
    POLICY.require(principal, action, org=dataset.organization_id, hidden_as="No such dataset.")
    require_approved_vendor(org)


def require_approved_vendor(org: Organization) -> None:
    """Only approved vendors change a catalogue (a state of the organisation, not a role)."""
    if not org.is_approved_vendor:
        raise Forbidden("The organisation is not an approved vendor yet; apply at /api/v1/orgs/{id}/vendor-application.")
