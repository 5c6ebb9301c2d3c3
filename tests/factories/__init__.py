"""Test data, one module per domain.

- identity: users, organisations, memberships, API keys, tenants (`make_tenant` and the other
  `make_*` helpers go through the services; `make_tenant_rows` and the factories write rows)
- catalog: domains, datasets, versions, files, blobs; `published_version` (bytes in the store)
- licensing: licences, a version's licence, provenance declarations, lineage edges
- commerce: offers, orders, grants, the quota ledger; `paid_order` / `paid_grant`
- auditlog: the test-only audit actions, audit events

The `*Factory` classes are factory_boy factories writing rows into the current app's session
(tests/factories/base.py): for tests that need data to exist, not the behaviour of making it,
which the API tests of each domain cover over HTTP.
"""

from tests.factories.auditlog import AuditEventFactory, TestAction
from tests.factories.base import RowFactory, commit
from tests.factories.catalog import (
    DEFAULT_FILES,
    BlobFactory,
    BlobHolderFactory,
    DatasetFactory,
    DatasetVersionFactory,
    DomainFactory,
    Published,
    StoredFileFactory,
    VersionFileFactory,
    publish_version,
    published_version,
)
from tests.factories.commerce import GrantFactory, OfferFactory, OrderFactory, QuotaEntryFactory, paid_grant, paid_order
from tests.factories.identity import (
    BASE,
    PASSWORD,
    READ_ONLY_SCOPES,
    VENDOR_APPLICATION,
    ApiKeyFactory,
    MembershipFactory,
    OrganizationFactory,
    Tenant,
    UserFactory,
    add_member,
    any_member,
    bearer,
    make_key,
    make_org,
    make_tenant,
    make_tenant_rows,
    make_user,
    member_of,
    password_hash,
    principal,
    unique,
)
from tests.factories.licensing import (
    FIRST_HAND,
    OPEN_TERMS,
    LicenseFactory,
    LineageEdgeFactory,
    ProvenanceDeclarationFactory,
    VersionLicenseFactory,
    normalise_body,
    standard_license,
)

__all__ = [
    "BASE", "DEFAULT_FILES", "FIRST_HAND", "OPEN_TERMS", "PASSWORD", "READ_ONLY_SCOPES", "VENDOR_APPLICATION",
    "ApiKeyFactory", "AuditEventFactory", "BlobFactory", "BlobHolderFactory", "DatasetFactory", "DatasetVersionFactory", "DomainFactory",
    "GrantFactory", "LicenseFactory", "LineageEdgeFactory", "MembershipFactory", "OfferFactory", "OrderFactory", "OrganizationFactory",
    "ProvenanceDeclarationFactory", "Published", "QuotaEntryFactory", "RowFactory", "StoredFileFactory", "Tenant", "TestAction", "UserFactory",
    "VersionFileFactory", "VersionLicenseFactory",
    "add_member", "any_member", "bearer", "commit", "make_key", "make_org", "make_tenant", "make_tenant_rows", "make_user", "member_of",
    "normalise_body", "paid_grant", "paid_order", "password_hash", "principal", "publish_version", "published_version", "standard_license", "unique",
]
