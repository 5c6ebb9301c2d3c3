"""Licensing services: the licence registry, each version's licence and provenance, lineage
compatibility and the NOTICE file.

Licences and declarations are append-only: a published licence text never changes (a change is
a new licence version), and a new provenance declaration supersedes the previous one, which is
kept as history. Both can only be set while the dataset version is a draft.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from catalog.models import Dataset, DatasetVersion, VersionStatus
from catalog.overlap import services as overlap
from catalog.policy import can_see_version, require_approved_vendor
from catalog.services.datasets import get_version, writable_version
from licensing.actions import LicensingAction
from licensing.compat import LineageCycle, Node, Result, Source, check_offer, concluded_licence, resolve, resolve_effective
from licensing.models import License, LineageEdge, ProvenanceDeclaration, VersionLicense
from licensing.normalise import normalise
from licensing.policy import POLICY
from licensing.policy import LicensingPermission as Perm
from licensing.registry_data import STANDARD, reference_text
from licensing.terms import UNKNOWN_TERMS, Terms, contradictions
from marketplace.identity.models import Organization, User
from marketplace.kernel import audit
from marketplace.kernel.db import get_session, transactional, utcnow
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.principal import Principal

PUBLIC_STATUSES = (VersionStatus.published.value, VersionStatus.deprecated.value)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


# --------------------------------------------------------------------------- registry


# Standard licences whose registry entry changed after it was first published: the change is a new
# licence version (migration 0014), and versions already pinned by grants keep the old text.
STANDARD_VERSION = {"LicenseRef-OpenAI-Terms": 2, "LicenseRef-Llama-2": 2, "LicenseRef-Meta-Llama-3": 2}


def standard_rows() -> list[dict[str, Any]]:
    """Rows for the standard licences (used by the data migration)."""
    rows = []
    for e in STANDARD:
        t = Terms.from_dict(e["terms"])
        text = reference_text(e)
        rows.append({"identifier": e["identifier"], "version": STANDARD_VERSION.get(e["identifier"], 1), "name": e["name"], "url": e["url"] or None,
                     "text": text, "text_sha256": sha256_text(text), "terms": t.to_dict(), "use_class": t.use_class,
                     "provider": e.get("provider"), "effective_on": e.get("effective")})
    return rows


def _latest_versions_query():
    latest = select(License.identifier, func.max(License.version).label("v")).group_by(License.identifier).subquery()
    return select(License).join(latest, (latest.c.identifier == License.identifier) & (latest.c.v == License.version))


def list_licenses(*, kind: str | None = None, use_class: str | None = None) -> list[License]:
    q = _latest_versions_query()
    if kind == "standard":
        q = q.where(License.owner_org_id.is_(None))
    elif kind == "custom":
        q = q.where(License.owner_org_id.is_not(None))
    if use_class:
        q = q.where(License.use_class == use_class)
    return list(get_session().scalars(q.order_by(License.identifier)))


def find_license(identifier: str, version: int | None = None) -> License | None:
    q = select(License).where(func.lower(License.identifier) == identifier.lower())
    q = q.where(License.version == version) if version else q.order_by(License.version.desc())
    return get_session().scalars(q.limit(1)).first()


def get_license(identifier: str, version: int | None = None) -> License:
    lic = find_license(identifier, version)
    if lic is None:
        raise NotFound(f"No licence {identifier}{f' version {version}' if version else ''} in the registry.")
    return lic


def _check_terms(terms: dict[str, Any]) -> Terms:
    t = Terms.from_dict(terms)
    errors = contradictions(t)
    if errors:
        raise ValidationFailed("The terms contradict each other.", errors={f"terms.{k}": v for k, v in errors.items()})
    return t


def _vendor_org(principal: Principal, org_id: uuid.UUID | None, action: Perm) -> Organization:
    principal.require_authenticated()
    org_id = org_id or principal.key_org_id or (next(iter(principal.memberships)) if len(principal.memberships) == 1 else None)
    if org_id is None:
        raise ValidationFailed("Say which organisation owns the licence.", errors={"organization_id": ["Required."]})
    POLICY.require(principal, action, org=org_id)
    org = get_session().get(Organization, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    require_approved_vendor(org)
    return org


@transactional
def create_custom_license(principal: Principal, *, organization_id: uuid.UUID | None, slug: str, name: str, text: str,
                          terms: dict[str, Any], url: str | None = None) -> License:
    """A vendor's own licence: LicenseRef-<org>-<slug>, version 1, text pinned by SHA-256."""
    org = _vendor_org(principal, organization_id, Perm.LICENSE_CREATE)
    t = _check_terms(terms)
    identifier = f"LicenseRef-{org.slug}-{slug}"
    if find_license(identifier):
        raise Conflict(f"{identifier} exists; publish a new version of it instead.", errors={"slug": ["Already used."]})
    lic = License(identifier=identifier, version=1, name=name, url=url, text=text, text_sha256=sha256_text(text), terms=t.to_dict(),
                  use_class=t.use_class, owner_org_id=org.id)
    get_session().add(lic)
    get_session().flush()
    audit.record(principal, LicensingAction.LICENSE_CREATE, subject_type="license", subject_id=lic.id, subject_org_id=org.id, actor_org_id=org.id,
                 details={"identifier": identifier, "version": 1, "text_sha256": lic.text_sha256})
    return lic


@transactional
def new_license_version(principal: Principal, identifier: str, *, text: str, terms: dict[str, Any], name: str | None = None) -> License:
    """Publish a new version of a custom licence; earlier versions stay as they were."""
    current = get_license(identifier)
    if current.owner_org_id is None or principal.role_in(current.owner_org_id) is None:
        raise NotFound(f"No custom licence {identifier} of yours.")
    _vendor_org(principal, current.owner_org_id, Perm.LICENSE_VERSION)
    t = _check_terms(terms)
    lic = License(identifier=current.identifier, version=current.version + 1, name=name or current.name, url=current.url, text=text,
                  text_sha256=sha256_text(text), terms=t.to_dict(), use_class=t.use_class, owner_org_id=current.owner_org_id)
    get_session().add(lic)
    get_session().flush()
    audit.record(principal, LicensingAction.LICENSE_VERSION, subject_type="license", subject_id=lic.id, subject_org_id=lic.owner_org_id, actor_org_id=lic.owner_org_id,
                 details={"identifier": lic.identifier, "version": lic.version, "text_sha256": lic.text_sha256})
    return lic


# --------------------------------------------------------------------------- a version's licence


@transactional
def set_version_license(principal: Principal, version_id: uuid.UUID, *, identifier: str, version: int | None = None) -> tuple[DatasetVersion, License]:
    """Choose the licence a draft version is offered under (standard, or the vendor's own)."""
    v, ds = writable_version(principal, version_id)
    lic = find_license(identifier, version)
    if lic is None or (lic.owner_org_id is not None and lic.owner_org_id != ds.organization_id):
        raise ValidationFailed("Unknown licence.", errors={"identifier": [f"No licence {identifier} in the registry that you may use. Normalise free text with POST /api/v1/licenses/normalise."]})
    session = get_session()
    existing = session.get(VersionLicense, v.id)
    if existing:
        existing.license_id, existing.set_at = lic.id, utcnow()
    else:
        session.add(VersionLicense(version_id=v.id, license_id=lic.id))
    audit.record(principal, LicensingAction.VERSION_LICENSE_SET, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 details={"identifier": lic.identifier, "version": lic.version, "text_sha256": lic.text_sha256})
    return v, lic


def version_license(version_id: uuid.UUID) -> License | None:
    vl = get_session().get(VersionLicense, version_id)
    return get_session().get(License, vl.license_id) if vl else None


def get_license_by_id(license_id: uuid.UUID) -> License:
    """A licence row by id (offers, orders and grants pin one exact licence version)."""
    lic = get_session().get(License, license_id)
    if lic is None:
        raise NotFound("No such licence.")
    return lic


def get_version_license(principal: Principal, version_id: uuid.UUID) -> License:
    v, _ = get_version(principal, version_id)
    lic = version_license(v.id)
    if lic is None:
        raise NotFound("No licence is declared for this version yet.")
    return lic


# --------------------------------------------------------------------------- provenance


def _jsonable(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(canonical_json(body))


@transactional
def declare_provenance(principal: Principal, version_id: uuid.UUID, *, body: dict[str, Any], attest: bool) -> ProvenanceDeclaration:
    """Record a new provenance declaration for a draft version; the previous one is superseded.

    Registry sources must be published versions the vendor can see; the lineage must be acyclic.
    URLs are recorded as given and never fetched by the server.
    """
    v, ds = writable_version(principal, version_id)
    if not attest:
        raise ValidationFailed("The declaration must be attested.", errors={"attest": ["Set to true to attest that the declaration is accurate."]})
    session = get_session()
    errors: dict[str, list[str]] = {}
    upstream: dict[uuid.UUID, str] = {}
    for i, src in enumerate(body["sources"]):
        if src["kind"] != "registry":
            continue
        uid = src["version_id"]
        up = session.get(DatasetVersion, uid)
        up_ds = session.get(Dataset, up.dataset_id) if up else None
        if uid == v.id:
            errors[f"sources.{i}.version_id"] = ["A version cannot derive from itself."]
        elif up is None or up_ds is None or not can_see_version(principal, up_ds, up) or up.status not in PUBLIC_STATUSES:
            # the same answer whether it does not exist or is not visible: no probing
            errors[f"sources.{i}.version_id"] = ["No published dataset version with this id is visible to you."]
        else:
            upstream[uid] = src.get("relation", "derived")
    if errors:
        raise ValidationFailed("The declaration names sources that cannot be used.", errors=errors)
    body = _jsonable(body)
    digest = hashlib.sha256(canonical_json(body)).hexdigest()
    prev = session.scalars(select(ProvenanceDeclaration).where(ProvenanceDeclaration.version_id == v.id, ProvenanceDeclaration.superseded_at.is_(None))).first()
    revision = (session.scalar(select(func.max(ProvenanceDeclaration.revision)).where(ProvenanceDeclaration.version_id == v.id)) or 0) + 1
    now = utcnow()
    if prev:
        prev.superseded_at = now
    user = session.get(User, principal.user_id)
    decl = ProvenanceDeclaration(version_id=v.id, revision=revision, body=body, digest=digest, attested_by=principal.user_id,
                                 attested_name=user.name if user else "", attested_at=now)
    session.add(decl)
    session.execute(delete(LineageEdge).where(LineageEdge.version_id == v.id))
    for uid, relation in upstream.items():
        session.add(LineageEdge(version_id=v.id, upstream_version_id=uid, relation=relation))
    session.flush()
    try:
        resolve(build_graph(v.id))
    except LineageCycle as e:
        raise ValidationFailed("The lineage would contain a cycle.", errors={"sources": [f"Cycle: {' → '.join(e.path)}"]}) from None
    audit.record(principal, LicensingAction.VERSION_PROVENANCE_DECLARE, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"revision": revision, "digest": digest, "sources": len(body["sources"])})
    return decl


def get_provenance(principal: Principal, version_id: uuid.UUID, *, history: bool = False) -> list[ProvenanceDeclaration]:
    v, _ = get_version(principal, version_id)
    q = select(ProvenanceDeclaration).where(ProvenanceDeclaration.version_id == v.id).order_by(ProvenanceDeclaration.revision.desc())
    decls = list(get_session().scalars(q))
    if not decls:
        raise NotFound("No provenance is declared for this version yet.")
    return decls if history else decls[:1]


def current_declaration(version_id: uuid.UUID) -> ProvenanceDeclaration | None:
    return get_session().scalars(select(ProvenanceDeclaration).where(ProvenanceDeclaration.version_id == version_id,
                                                                      ProvenanceDeclaration.superseded_at.is_(None))).first()


# --------------------------------------------------------------------------- lineage graph


def _terms_for_text(text: str | None) -> tuple[str | None, Terms]:
    """A source's licence: a registry identifier (standard or custom, e.g. a registered contract),
    else the normaliser's reading of the free text, restrictions and all."""
    if not text:
        return None, UNKNOWN_TERMS
    lic = find_license(text.strip()) if len(text.strip()) <= 128 else None
    if lic is not None:
        return lic.identifier, Terms.from_dict(lic.terms)
    n = normalise(text)
    if n.identifier and not n.restrictions:
        lic = find_license(n.identifier)
        if lic is not None:
            return lic.identifier, Terms.from_dict(lic.terms)
        return n.identifier, n.terms
    if n.unknown and not n.matches:
        return None, UNKNOWN_TERMS
    return n.label, n.terms


def build_graph(version_id: uuid.UUID, memo: dict[uuid.UUID, Node] | None = None) -> Node:
    """The lineage graph of a version from the registry: its licence, declaration and sources,
    recursively through registry upstreams (each node built once, so diamonds share nodes)."""
    memo = {} if memo is None else memo
    if version_id in memo:
        return memo[version_id]
    session = get_session()
    v = session.get_one(DatasetVersion, version_id)
    ds = session.get_one(Dataset, v.dataset_id)
    lic = version_license(v.id)
    decl = current_declaration(v.id)
    body = decl.body if decl else {}
    pd = body.get("personal_data") or {}
    node = Node(key=str(v.id), label=f"{ds.slug}@{v.version}", license_identifier=lic.identifier if lic else None,
                terms=Terms.from_dict(lic.terms) if lic else None, license_provider=lic.provider if lic else None, personal_data=pd.get("status", "none"),
                sensitive_categories=pd.get("sensitive_categories", []), lawful_basis=(body.get("collection") or {}).get("lawful_basis"))
    memo[version_id] = node
    declared: set[uuid.UUID] = set()
    for src in body.get("sources", []):
        kind = src["kind"]
        if kind == "registry":
            declared.add(session.get_one(DatasetVersion, uuid.UUID(src["version_id"])).dataset_id)
            up = build_graph(uuid.UUID(src["version_id"]), memo)
            node.sources.append(Source(kind="registry", label=up.label, relation=src.get("relation", "derived"), upstream=up))
        elif kind in ("first_hand", "web_crawl"):
            node.sources.append(Source(kind=kind, label=src["name"], opt_outs_observed=src.get("opt_outs_observed", []), opt_outs_respected=src.get("opt_outs_respected")))
        else:
            ident, terms = _terms_for_text(src.get("license"))
            label = src["name"] if kind != "model" else f"{src.get('model_name')} ({src.get('model_provider')})"
            provider = src.get("model_provider") if kind == "model" else None
            if kind == "model" and ident:
                lic = find_license(ident)
                provider = (lic.provider if lic is not None else None) or provider
            node.sources.append(Source(kind=kind, label=label, relation=src.get("relation", "derived"), license_identifier=ident, terms=terms,
                                       provider=provider))
    # Overlap evidence counts as lineage: another vendor's earlier dataset whose records were
    # found here binds with its licence even though the declaration does not name it.
    for found in overlap.undeclared_overlaps(version_id, declared):
        up = build_graph(found["version_id"], memo)
        node.sources.append(Source(kind="registry", label=up.label, relation="derived", upstream=up, found=found["share"]))
    return node


def lineage_graph(root: Node) -> dict[str, Any]:
    """Nodes and edges for drawing the lineage."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []

    def visit(n: Node) -> None:
        if n.key in nodes:
            return
        nodes[n.key] = {"id": n.key, "label": n.label, "kind": "version", "license": n.license_identifier}
        for i, s in enumerate(n.sources):
            if s.kind == "registry" and s.upstream is not None:
                edges.append({"from": n.key, "to": s.upstream.key, "relation": "overlap" if s.found is not None else s.relation})
                visit(s.upstream)
            else:
                sid = f"{n.key}/{i}"
                nodes[sid] = {"id": sid, "label": s.label, "kind": s.kind, "license": s.license_identifier}
                edges.append({"from": n.key, "to": sid, "relation": s.relation if s.kind in ("external", "licensed") else s.kind})

    visit(root)
    return {"nodes": list(nodes.values()), "edges": edges}


def effective_licence(version_id: uuid.UUID) -> tuple[Node, Result]:
    """THE effective licence of a version: its own declared licence combined with its whole
    lineage. Every surface asks this one function (compatibility and the dataset page, the offer
    gate, the publish gate, the catalogue badge, NOTICE files, reports, the BOM and the exports),
    so none of them can tell a buyer something the others do not.

    The lineage is resolved upstream by upstream; the version's own licence then binds as the
    vendor's promise: its use class caps the result (most restrictive wins), and a share-alike
    licence of its own fixes the licence of every offer."""
    root = build_graph(version_id)
    return root, resolve_effective(root)


def compatibility(principal: Principal, version_id: uuid.UUID, *, license: str | None = None) -> dict[str, Any]:
    """Effective terms (own licence and whole lineage), the findings with their paths, and what
    forbids offering the version under `license` (default: its own declared licence)."""
    v, _ = get_version(principal, version_id)
    root, res = effective_licence(v.id)
    ident: str | None
    terms: Terms | None
    if license:
        lic = find_license(license)
        if lic is None:
            raise ValidationFailed("Unknown licence.", errors={"license": [f"No licence {license} in the registry."]})
        ident, terms = lic.identifier, Terms.from_dict(lic.terms)
        # The digest a buyer accepts is that of the terms under this licence (it may add its own).
        model_digest = _model_terms_digest(resolve_effective(root, offer=(ident, terms, lic.provider)))[1]
    else:
        ident, terms = root.license_identifier, root.terms
        model_digest = _model_terms_digest(res)[1]
    offer = check_offer(res, ident, terms) if ident else []
    return dict(res.to_dict(), version_id=v.id, model_terms_sha256=model_digest, license=ident, license_findings=[f.to_dict() for f in offer], lineage=lineage_graph(root))


def evaluate_offer(version_id: uuid.UUID, license_identifier: str) -> list[dict[str, Any]]:
    """Blocking findings for offering a version under a licence (used by commerce): an offer may
    be more restrictive than the effective licence, never less, and share-alike (upstream or the
    version's own) fixes the licence of every offer."""
    lic = find_license(license_identifier)
    terms = Terms.from_dict(lic.terms) if lic else None
    _, res = effective_licence(version_id)
    return [f.to_dict() for f in check_offer(res, license_identifier, terms)]


def notice(principal: Principal, version_id: uuid.UUID) -> str:
    """The attribution / NOTICE file of a version, from its licence and upstream duties."""
    v, ds = get_version(principal, version_id)
    _, res = effective_licence(v.id)
    lic = version_license(v.id)
    lines = [f"NOTICE — {ds.title}, version {v.version}", ""]
    if v.manifest_digest:
        lines.append(f"Manifest root digest (SHA-256): {v.manifest_digest}")
    if lic:
        lines.append(f"Licensed under {lic.identifier} (version {lic.version}): {lic.name}{' — ' + lic.url if lic.url else ''}")
        lines.append(f"Licence text SHA-256: {lic.text_sha256}")
    else:
        lines.append("No licence has been declared for this version.")
    lines += ["", f"Effective use over the whole lineage: {res.use_class}."]
    if res.attribution:
        lines += ["", "This dataset contains or is derived from the following works, which must be credited:"]
        seen = set()
        for a in res.attribution:
            key = (a["source"], a["license"])
            if key in seen:
                continue
            seen.add(key)
            unknown = " [its licence is unknown: credit it, as if required]" if a["status"] == "unknown" else ""
            lines.append(f"  - {a['source']}, licensed under {a['license'] or 'its own terms'} (via {' > '.join(a['path'])}){unknown}")
    required_sa = sorted({s["license"] or "?" for s in res.share_alike if s["status"] == "required"})
    if required_sa:
        lines += ["", "Share-alike: derived data must be distributed under " + ", ".join(required_sa) + "."]
    unknown_sa = [s for s in res.share_alike if s["status"] == "unknown"]
    if unknown_sa:
        lines += ["", "Share-alike: unknown, treat as required, for " + ", ".join(sorted({s["source"] for s in unknown_sa})) + "."]
    if res.model_terms:
        lines += ["", "Model-output terms (from the models that generated part of this data; they bind every holder):"]
        for code, text in sorted({(m["code"], m["text"]) for m in res.model_terms}):
            paths = sorted({" > ".join(m["path"]) for m in res.model_terms if m["code"] == code and m["text"] == text})
            lines.append(f"  - {text} (via {'; '.join(paths)})")
    for f in res.findings:
        if f.code in ("field-of-use", "no-ai-training", "personal-data", "sensitive-data"):
            lines.append(f"Note: {f.message}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- catalogue events


def check_publishable(principal: Principal, version_id: uuid.UUID) -> None:
    """A version is published only with a licence, an attested provenance declaration, and a
    licence that its lineage allows."""
    errors: dict[str, list[str]] = {}
    lic = version_license(version_id)
    if lic is None:
        errors["license"] = ["Declare the version's licence first: PUT /api/v1/versions/{id}/license."]
    if current_declaration(version_id) is None:
        errors["provenance"] = ["Declare and attest the version's provenance first: PUT /api/v1/versions/{id}/provenance."]
    if errors:
        raise ValidationFailed("The version cannot be published yet.", errors=errors)
    assert lic is not None
    blocking = check_offer(effective_licence(version_id)[1], lic.identifier, Terms.from_dict(lic.terms))
    if blocking:
        raise Conflict(f"The lineage does not allow publishing under {lic.identifier}.", errors={"license": [f.message for f in blocking]},
                       findings=[f.to_dict() for f in blocking])


def effective_use_class(version_id: uuid.UUID) -> str | None:
    """What buyers may do with a version (the catalogue badge, search's licence filter, the BOM):
    the use class of its effective licence, or None while it has no licence."""
    if version_license(version_id) is None:
        return None
    return effective_licence(version_id)[1].use_class


@dataclass(frozen=True)
class OfferVerdict:
    """What a buyer gets under one offer: the findings that forbid offering the version under the
    offer's licence, the effective terms with that licence binding beside the version's own (it
    may be more restrictive; a version published later under a stricter licence stays stricter),
    and the model-output terms the buyer must accept
    explicitly, with the SHA-256 of their canonical JSON (the `accept_model_terms` of an order)."""

    blocking: list[dict[str, Any]]
    effective_terms: dict[str, Any]
    model_terms: list[dict[str, str]]
    model_terms_sha256: str | None
    concluded: tuple[str, str]  # the concluded licence (SPDX expression) and why

    def to_dict(self) -> dict[str, Any]:
        return {"effective_terms": self.effective_terms, "model_terms": self.model_terms, "model_terms_sha256": self.model_terms_sha256}


def offer_verdicts(version_id: uuid.UUID, licences: list[License]) -> dict[uuid.UUID, OfferVerdict]:
    """THE terms of offers of a version, by licence id: one lineage walk for all of them. Orders,
    offers, grants, checkout and the CLI all ask this, so the terms a buyer is shown are the
    terms the buyer accepts and the grant records."""
    root = build_graph(version_id)
    own = resolve_effective(root)
    out: dict[uuid.UUID, OfferVerdict] = {}
    for lic in licences:
        terms = Terms.from_dict(lic.terms)
        res = resolve_effective(root, offer=(lic.identifier, terms, lic.provider))
        items, digest = _model_terms_digest(res)
        out[lic.id] = OfferVerdict([f.to_dict() for f in check_offer(own, lic.identifier, terms)], res.effective_terms(), items, digest,
                                   concluded_licence(res))
    return out


def offer_verdict(version_id: uuid.UUID, license: License) -> OfferVerdict:
    """`offer_verdicts` for one offer's licence."""
    return offer_verdicts(version_id, [license])[license.id]


def _model_terms_digest(res: Result) -> tuple[list[dict[str, str]], str | None]:
    rows = sorted({(m["code"], m["text"]) for m in res.model_terms})
    items = [{"code": code, "text": text} for code, text in rows]
    return items, model_terms_sha256(items)


def model_terms_sha256(items: list[dict[str, str]] | None) -> str | None:
    """The digest a buyer accepts model-output terms by (None when there are none)."""
    return hashlib.sha256(canonical_json(items)).hexdigest() if items else None


def on_latest_changed(dataset: Dataset, version_id: uuid.UUID | None, **_: Any) -> None:
    dataset.license_use_class = effective_use_class(version_id) if version_id else None


