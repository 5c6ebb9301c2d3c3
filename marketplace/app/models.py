"""Imports every domain's models so that `Base.metadata` describes the whole schema
(for Alembic and for the models-versus-migrations test)."""

from catalog.models import Blob, CatalogState, Dataset, DatasetFacet, DatasetVersion, Domain, VersionFile  # noqa: F401
from catalog.overlap.models import OverlapBand, OverlapFinding, OverlapRecord, OverlapReport  # noqa: F401
from licensing.models import License, LineageEdge, ProvenanceDeclaration, VersionLicense  # noqa: F401
from marketplace.auditlog.models import AuditBlock, AuditLeaf  # noqa: F401
from marketplace.commerce.models import Grant, Offer, Order, QuotaEntry, StripeEvent  # noqa: F401
from marketplace.compliance.models import AIModel, TrainingInput, TrainingRun  # noqa: F401
from marketplace.identity.models import ApiKey, Membership, Organization, User  # noqa: F401
from marketplace.kernel.audit import AuditEvent  # noqa: F401
from marketplace.kernel.db import Base
from marketplace.sharing.models import ShareToken  # noqa: F401

metadata = Base.metadata
