"""Who may see and change datasets.

Readers: anyone for listed/unlisted datasets with a published version (the public catalogue);
members of the owning organisation for everything, drafts included. Writers: members (not
auditors) of an approved vendor organisation, with the catalog:write scope. Anything the caller
may not see is reported as not found.
"""

from __future__ import annotations

from catalog.models import Dataset, DatasetVersion, Visibility, VersionStatus
from marketplace.kernel.errors import Forbidden, NotFound
from marketplace.identity.models import Organization, OrgRole
from marketplace.kernel.principal import Principal

PUBLIC_VISIBILITY = {Visibility.listed.value, Visibility.unlisted.value, Visibility.delisted.value}
PUBLIC_VERSION_STATUS = {VersionStatus.published.value, VersionStatus.deprecated.value, VersionStatus.withdrawn.value}


def is_owner_member(principal: Principal, dataset: Dataset) -> bool:
    return principal.role_in(dataset.organization_id) is not None


def can_read_private(principal: Principal, dataset: Dataset) -> bool:
    """Drafts, uploads and ingest details: the vendor's members and platform staff."""
    return (is_owner_member(principal, dataset) and principal.has_scope("catalog:read")) or principal.platform_admin or principal.platform_compliance


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
    """The caller may change this vendor's catalogue."""
    principal.require_scope("catalog:write")
    role = principal.role_in(org.id)
    if role is None:
        raise NotFound("No such organisation.")
    if role == OrgRole.auditor:
        raise Forbidden("Auditors have read-only access.")
    if not org.is_approved_vendor:
        raise Forbidden("The organisation is not an approved vendor yet; apply at /api/v1/orgs/{id}/vendor-application.")


def require_dataset_writer(principal: Principal, dataset: Dataset, org: Organization) -> None:
    principal.require_authenticated()
    if not is_owner_member(principal, dataset):
        raise NotFound("No such dataset.")
    require_vendor_writer(principal, org)
