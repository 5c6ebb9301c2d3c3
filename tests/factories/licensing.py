"""Licensing rows: licences (the standard ones are seeded by the migrations), a version's licence,
provenance declarations and lineage edges."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from typing import Any

import factory
from sqlalchemy import delete, func, select, update

from catalog.models import Dataset, DatasetVersion
from licensing.models import License, LineageEdge, ProvenanceDeclaration, VersionLicense
from licensing.schemas import ProvenanceBodySchema
from licensing.services import canonical_json, get_license, sha256_text
from licensing.terms import Terms, contradictions
from marketplace.identity.models import User
from marketplace.kernel.db import get_session, utcnow
from tests.factories.base import RowFactory, commit
from tests.factories.identity import OrganizationFactory, any_member, unique

# What the catalogue helpers declare for a first-hand dataset (tests/catalog/helpers.py).
FIRST_HAND: dict[str, Any] = {"sources": [{"kind": "first_hand", "name": "Collected by the vendor"}], "personal_data": {"status": "none"}}
OPEN_TERMS: dict[str, Any] = {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "allowed"}


def standard_license(identifier: str = "CC-BY-4.0") -> License:
    """A standard licence of the registry (seeded by the migrations), latest version."""
    return get_license(identifier)


class LicenseFactory(RowFactory):
    """A vendor's custom licence, as create_custom_license makes it: LicenseRef-<org>-<slug>,
    version 1, its text pinned by SHA-256, its terms normalised (contradictory terms are refused)."""

    class Meta:
        model = License
        exclude = ("owner", "slug")

    owner = factory.SubFactory(OrganizationFactory, vendor=True)
    owner_org_id = factory.SelfAttribute("owner.id")
    slug = factory.LazyFunction(lambda: unique("licence").lower())
    identifier = factory.LazyAttribute(lambda o: f"LicenseRef-{o.owner.slug}-{o.slug}")
    version = 1
    name = "Custom licence"
    url = None
    text = factory.LazyAttribute(lambda o: f"{o.name}: use the data as its terms say.")
    text_sha256 = factory.LazyAttribute(lambda o: sha256_text(o.text))
    terms = factory.LazyFunction(lambda: dict(OPEN_TERMS))
    use_class = None  # from the terms

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> License:
        t = Terms.from_dict(kwargs["terms"])
        errors = contradictions(t)
        if errors:
            raise ValueError(f"contradictory licence terms: {errors}")
        kwargs.update(terms=t.to_dict(), use_class=t.use_class)
        return super()._create(model_class, *args, **kwargs)


class VersionLicenseFactory(RowFactory):
    """The licence a version is offered under (a standard CC-BY-4.0 unless given)."""

    class Meta:
        model = VersionLicense
        exclude = ("version", "license")

    version = factory.SubFactory("tests.factories.catalog.DatasetVersionFactory")
    license = factory.LazyFunction(standard_license)
    version_id = factory.SelfAttribute("version.id")
    license_id = factory.SelfAttribute("license.id")


def _org_of(version: DatasetVersion) -> uuid.UUID:
    return get_session().scalar(select(Dataset.organization_id).where(Dataset.id == version.dataset_id))


def normalise_body(declared: dict[str, Any]) -> dict[str, Any]:
    """A declaration's body as the API stores it: validated and completed by the request schema,
    then as JSON (dates and ids as strings)."""
    return json.loads(canonical_json(ProvenanceBodySchema().load(copy.deepcopy(declared))))


class ProvenanceDeclarationFactory(RowFactory):
    """An attested provenance declaration, as declare_provenance records it: `declared` is the
    request body (first-hand, no personal data by default); the previous revision is superseded
    and the lineage edges of its registry sources are written. Attested by a member of the
    vendor unless `user` is given."""

    class Meta:
        model = ProvenanceDeclaration
        exclude = ("version", "user", "declared")

    version = factory.SubFactory("tests.factories.catalog.DatasetVersionFactory")
    user = factory.LazyAttribute(lambda o: get_session().get(User, any_member(_org_of(o.version))))
    declared = factory.LazyFunction(lambda: copy.deepcopy(FIRST_HAND))
    version_id = factory.SelfAttribute("version.id")
    revision = factory.LazyAttribute(lambda o: (get_session().scalar(select(func.max(ProvenanceDeclaration.revision))
                                                                     .where(ProvenanceDeclaration.version_id == o.version.id)) or 0) + 1)
    body = factory.LazyAttribute(lambda o: normalise_body(o.declared))
    digest = factory.LazyAttribute(lambda o: hashlib.sha256(canonical_json(o.body)).hexdigest())
    attested_by = factory.SelfAttribute("user.id")
    attested_name = factory.SelfAttribute("user.name")
    attested_at = factory.LazyFunction(utcnow)
    superseded_at = None

    @classmethod
    def _complete(cls, decl: ProvenanceDeclaration, **_: Any) -> None:
        session = get_session()
        session.execute(update(ProvenanceDeclaration).where(ProvenanceDeclaration.version_id == decl.version_id, ProvenanceDeclaration.id != decl.id,
                                                            ProvenanceDeclaration.superseded_at.is_(None)).values(superseded_at=decl.attested_at))
        session.execute(delete(LineageEdge).where(LineageEdge.version_id == decl.version_id))
        for src in decl.body["sources"]:
            if src["kind"] == "registry":
                session.add(LineageEdge(version_id=decl.version_id, upstream_version_id=uuid.UUID(src["version_id"]), relation=src.get("relation", "derived")))
        commit()


class LineageEdgeFactory(RowFactory):
    """version → upstream edge. (ProvenanceDeclarationFactory writes these from registry
    sources; an edge alone is a graph the declarations do not explain.)"""

    class Meta:
        model = LineageEdge
        exclude = ("version", "upstream")

    version = factory.SubFactory("tests.factories.catalog.DatasetVersionFactory")
    upstream = factory.SubFactory("tests.factories.catalog.DatasetVersionFactory")
    version_id = factory.SelfAttribute("version.id")
    upstream_version_id = factory.SelfAttribute("upstream.id")
    relation = "derived"
