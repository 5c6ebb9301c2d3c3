"""Compliance reports.

- Provenance report of a dataset version: sources, lineage graph, licence findings, the
  attestation history and (for the vendor and platform compliance) an access summary.
- Data bill of materials of a buyer organisation: every version it holds or held a grant for,
  with the version digest, licence, effective terms, a provenance summary and the quota used,
  as CycloneDX 1.6 and as SPDX 3.0.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import render_template
from sqlalchemy import func, select

from catalog.models import Dataset, DatasetVersion, VersionFile
from catalog.overlap import services as overlap
from catalog.services.datasets import get_version
from licensing.models import License
from licensing.services import compatibility, current_declaration, get_provenance, offer_verdict, version_license
from marketplace.commerce.models import Grant, Order, QuotaEntry
from marketplace.commerce.services import grant_covers
from marketplace.compliance.models import AIModel
from marketplace.compliance.policy import POLICY
from marketplace.compliance.policy import CompliancePermission as Perm
from marketplace.compliance.training import detail_of, model_for
from marketplace.delivery.actions import DeliveryAction
from marketplace.identity.models import Organization
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import get_session
from marketplace.kernel.errors import NotFound
from marketplace.kernel.principal import Principal


def provenance_report(principal: Principal, version_id: uuid.UUID) -> dict[str, Any]:
    v, ds = get_version(principal, version_id)
    session = get_session()
    vendor = session.get_one(Organization, ds.organization_id)
    lic = version_license(v.id)
    comp = compatibility(principal, v.id)
    try:
        history = get_provenance(principal, v.id, history=True)
    except NotFound:
        history = []
    current = history[0].body if history else None
    report: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "dataset": {"id": str(ds.id), "slug": ds.slug, "title": ds.title, "domain": ds.domain, "vendor": vendor.name},
        "version": {"id": str(v.id), "version": v.version, "status": v.status, "manifest_digest": v.manifest_digest, "published_at": v.published_at.isoformat() if v.published_at else None,
                    "total_bytes": v.total_bytes, "total_records": v.total_records, "withdrawn_reason": v.status_reason if v.status == "withdrawn" else None,
                    "media": v.media},
        "license": {"identifier": lic.identifier, "version": lic.version, "name": lic.name, "text_sha256": lic.text_sha256, "terms": lic.terms} if lic else None,
        "provenance": current,
        "attestations": [{"revision": d.revision, "digest": d.digest, "attested_by": d.attested_name, "attested_at": d.attested_at.isoformat(),
                          "superseded_at": d.superseded_at.isoformat() if d.superseded_at else None} for d in history],
        "effective": {k: comp[k] for k in ("use_class", "allowed_offer_kinds", "required_license", "attribution", "share_alike", "attribution_duty",
                                           "share_alike_duty", "field_of_use_exclusions", "model_terms", "effective_terms", "blocked")},
        "findings": comp["findings"],
        "lineage": comp["lineage"],
        "quality": {"duplicates": overlap.duplicate_rate(v.id)},
    }
    if POLICY.allows(principal, Perm.ACCESS_SUMMARY, vendor=ds.organization_id):
        report["access"] = _access_summary(v.id)
    return report


def _access_summary(version_id: uuid.UUID) -> dict[str, Any]:
    session = get_session()
    rows = session.execute(select(AuditEvent.actor_org_id, AuditEvent.outcome, func.count()).where(
        AuditEvent.action == DeliveryAction.DELIVERY_AUTHORIZE.value, AuditEvent.subject_id == str(version_id)).group_by(AuditEvent.actor_org_id, AuditEvent.outcome)).all()
    orgs = {o for o, _, _ in rows if o}
    names: dict[uuid.UUID | None, str] = {o.id: o.name for o in session.scalars(select(Organization).where(Organization.id.in_(orgs)))} if orgs else {}
    by_org: dict[str, dict[str, Any]] = {}
    for org, outcome, n in rows:
        entry = by_org.setdefault(str(org), {"organization": names.get(org, "?"), "authorisations": 0, "denied": 0})
        entry["authorisations" if outcome == "success" else "denied"] += n
    return {"organisations": len(orgs), "authorisations": sum(n for _, o, n in rows if o == "success"),
            "denied": sum(n for _, o, n in rows if o != "success"), "by_organisation": list(by_org.values())}


def subject_labels(subjects: list[tuple[str | None, str | None]]) -> dict[tuple[str, str], str]:
    """Readable names of audit subjects (a version as "Dataset 1.0.0", an order by its number...),
    for the console's table; a subject that names nothing known keeps its id."""
    session = get_session()
    want: dict[str, set[uuid.UUID]] = {}
    for kind, sid in subjects:
        if kind and sid:
            try:
                want.setdefault(kind, set()).add(uuid.UUID(sid))
            except ValueError:
                continue
    out: dict[tuple[str, str], str] = {}
    if want.get("version"):
        for v, title in session.execute(select(DatasetVersion, Dataset.title).join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                                        .where(DatasetVersion.id.in_(want["version"]))):
            out[("version", str(v.id))] = f"{title} {v.version}"
    if want.get("dataset"):
        for d in session.scalars(select(Dataset).where(Dataset.id.in_(want["dataset"]))):
            out[("dataset", str(d.id))] = d.title
    if want.get("grant"):
        for g, title in session.execute(select(Grant, Dataset.title).join(Dataset, Dataset.id == Grant.dataset_id).where(Grant.id.in_(want["grant"]))):
            out[("grant", str(g.id))] = f"grant for {title}"
    if want.get("order"):
        for o in session.scalars(select(Order).where(Order.id.in_(want["order"]))):
            out[("order", str(o.id))] = f"order {o.number}"
    if want.get("model"):
        for m in session.scalars(select(AIModel).where(AIModel.id.in_(want["model"]))):
            out[("model", str(m.id))] = f"{m.name} {m.version}"
    return out


def render_report_html(report: dict[str, Any]) -> str:
    return render_template("provenance_report.html", r=report)


# --------------------------------------------------------------------------- bill of materials


def held_versions(principal: Principal, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every dataset version the organisation holds under a grant, with licence, vendor, quota
    used, effective use class and declared sources (the rows of the bill of materials)."""
    POLICY.require(principal, Perm.HOLDINGS, org=org_id)
    session = get_session()
    out = []
    for g in session.scalars(select(Grant).where(Grant.buyer_org_id == org_id).order_by(Grant.created_at)):
        ds = session.get_one(Dataset, g.dataset_id)
        versions = [session.get_one(DatasetVersion, g.version_id)] if g.version_id else list(session.scalars(
            select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id, DatasetVersion.published_at.is_not(None))))
        used = session.scalar(select(func.coalesce(func.sum(QuotaEntry.amount), 0)).where(QuotaEntry.grant_id == g.id, QuotaEntry.kind == "debit",
                                                                                           QuotaEntry.reason == "delivery")) or 0
        lic = session.get_one(License, g.license_id)
        vendor = session.get_one(Organization, g.vendor_org_id)
        for v in versions:
            # The terms the holder has: the grant's licence over the version's whole lineage (one
            # walk, also deciding coverage: a grant for "latest" holds only the versions it covers).
            verdict = offer_verdict(v.id, lic)
            if not grant_covers(g, v.id, {lic.id: verdict}):
                continue
            decl = current_declaration(v.id)
            body = decl.body if decl else {}
            terms = verdict.effective_terms
            out.append({"grant": g, "dataset": ds, "version": v, "license": lic, "vendor": vendor, "quota_used": used,
                        "effective_use": terms["use_class"], "effective_terms": terms, "concluded": verdict.concluded, "declaration": decl,
                        "sources": [f"{s['kind']}: {s['name']}" for s in body.get("sources", [])],
                        "personal_data": (body.get("personal_data") or {}).get("status")})
    return out


def media_properties(media: dict[str, Any] | None) -> list[dict[str, str]]:
    """A version's measured media figures as BOM properties (hours, files, speakers and the
    sample-rate and resolution distributions)."""
    if not media:
        return []
    keys = ("audio_hours", "audio_files", "video_hours", "video_files", "images", "speakers", "segments")
    props = [{"name": f"marketplace:media:{k}", "value": str(media[k])} for k in keys if media.get(k)]
    props += [{"name": f"marketplace:media:sample_rate:{rate}", "value": str(n)} for rate, n in (media.get("sample_rates") or {}).items()]
    props += [{"name": f"marketplace:media:resolution:{res}", "value": str(n)} for res, n in (media.get("resolutions") or {}).items()]
    return props


def bom_cyclonedx(principal: Principal, org_id: uuid.UUID) -> dict[str, Any]:
    """CycloneDX 1.6: one `data` component per held dataset version."""
    held = held_versions(principal, org_id)
    org = get_session().get_one(Organization, org_id)
    components = []
    for h in held:
        v, ds, lic, g = h["version"], h["dataset"], h["license"], h["grant"]
        props = [
            {"name": "marketplace:grant_id", "value": str(g.id)},
            {"name": "marketplace:grant_status", "value": g.status},
            {"name": "marketplace:accepted_license_sha256", "value": g.accepted_text_sha256},
            {"name": "marketplace:effective_use_class", "value": h["effective_use"] or "unknown"},
            {"name": "marketplace:quota_unit", "value": g.unit},
            {"name": "marketplace:quota_used", "value": str(h["quota_used"])},
            {"name": "marketplace:version_status", "value": v.status},
        ]
        terms = h["effective_terms"]
        if terms:
            props += [{"name": "marketplace:attribution", "value": terms["attribution"]},
                      {"name": "marketplace:share_alike", "value": terms["share_alike"]},
                      {"name": "marketplace:ai_training", "value": terms["ai_training"]}]
            # Model-output terms are rights of their own: each one a property the model's BOM keeps.
            props += [{"name": f"marketplace:model_term:{m['code']}", "value": m["text"]} for m in terms["model_terms"]]
        if h["declaration"] is not None:
            props.append({"name": "marketplace:provenance_digest", "value": h["declaration"].digest})
        if h["personal_data"]:
            props.append({"name": "marketplace:personal_data", "value": h["personal_data"]})
        props += media_properties(v.media)
        comp = {
            "type": "data",
            "bom-ref": f"version:{v.id}",
            "name": ds.slug,
            "version": v.version,
            "description": ds.summary or ds.title,
            "publisher": h["vendor"].name,
            "supplier": {"name": h["vendor"].name},
            "licenses": [{"license": {"id": lic.identifier}} if not lic.identifier.startswith("LicenseRef-") else {"license": {"name": lic.identifier}}],
            "properties": props,
            "data": [{"type": "dataset", "name": f"{ds.slug}@{v.version}",
                      "contents": {"attachment": {"contentType": "application/json", "content": f"manifest:{v.manifest_digest}"}} if v.manifest_digest else None,
                      "governance": {"owners": [{"organization": {"name": h["vendor"].name}}]},
                      "description": "; ".join(h["sources"])[:1000] or None}],
        }
        comp["data"] = [{k: val for k, val in d.items() if val is not None} for d in comp["data"]]
        if v.manifest_digest:
            comp["hashes"] = [{"alg": "SHA-256", "content": v.manifest_digest}]
        components.append(comp)
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": f"urn:uuid:{uuid.uuid4()}", "version": 1,
        "metadata": {"timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), "component": {"type": "application", "name": f"{org.name} training data", "bom-ref": f"org:{org.id}"},
                     "tools": {"components": [{"type": "application", "name": "dataset-marketplace"}]}},
        "components": components,
        "dependencies": [{"ref": f"org:{org.id}", "dependsOn": [c["bom-ref"] for c in components]}] if components else [],
    }


def model_bom(principal: Principal, model_id: uuid.UUID) -> dict[str, Any]:
    """CycloneDX 1.6 of one model: exactly the data its training runs were fed. Each input
    licensed here is a `data` component with its grant, licence, effective terms and the files
    used (by SHA-256); each declared input is a component marked as declared by the provider."""
    model = model_for(principal, model_id, Perm.MODEL_READ)
    detail = detail_of(model)
    session = get_session()
    components: list[dict[str, Any]] = []
    for run in detail["runs"]:
        for i in run["inputs"]:
            props = [{"name": "marketplace:training_run", "value": run["name"]}, {"name": "marketplace:input_kind", "value": i["kind"]}]
            if i["kind"] != "grant":
                props.append({"name": "marketplace:declared_by_provider", "value": "true"})
                comp: dict[str, Any] = {"type": "data", "bom-ref": f"input:{i['id']}", "name": i["name"], "description": i["description"] or None,
                                        "properties": props + ([{"name": "marketplace:modality", "value": i["modality"]}] if i["modality"] else [])}
                if i["url"]:
                    comp["externalReferences"] = [{"type": "distribution", "url": i["url"]}]
                components.append({k: v for k, v in comp.items() if v is not None})
                continue
            grant = session.get_one(Grant, i["grant_id"])
            version = session.get_one(DatasetVersion, i["version_id"])
            ds = session.get_one(Dataset, version.dataset_id)
            lic = session.get_one(License, grant.license_id)
            verdict = offer_verdict(version.id, lic)
            props += [{"name": "marketplace:grant_id", "value": str(grant.id)}, {"name": "marketplace:accepted_license_sha256", "value": grant.accepted_text_sha256},
                      {"name": "marketplace:effective_use_class", "value": verdict.effective_terms["use_class"]},
                      {"name": "marketplace:concluded_license", "value": verdict.concluded[0]},
                      {"name": "marketplace:files_used", "value": str(len(i["files"])) if i["files"] else "all"}]
            props += [{"name": f"marketplace:model_term:{m['code']}", "value": m["text"]} for m in verdict.model_terms]
            files = i["files"] or [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in
                                   session.scalars(select(VersionFile).where(VersionFile.version_id == version.id).order_by(VersionFile.path))]
            components.append({
                "type": "data", "bom-ref": f"input:{i['id']}", "name": ds.slug, "version": version.version, "description": ds.title,
                "supplier": {"name": session.get_one(Organization, grant.vendor_org_id).name},
                "licenses": [{"license": {"id": lic.identifier}} if not lic.identifier.startswith("LicenseRef-") else {"license": {"name": lic.identifier}}],
                "hashes": [{"alg": "SHA-256", "content": version.manifest_digest}] if version.manifest_digest else [],
                "properties": props,
                "components": [{"type": "file", "bom-ref": f"input:{i['id']}:{n}", "name": f["path"], "hashes": [{"alg": "SHA-256", "content": f["sha256"]}]}
                               for n, f in enumerate(files)],
            })
    ref = f"model:{model.id}"
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": f"urn:uuid:{uuid.uuid4()}", "version": 1,
        "metadata": {"timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                     "component": {"type": "machine-learning-model", "name": model.name, "version": model.version, "bom-ref": ref,
                                   "supplier": {"name": model.provider}},
                     "tools": {"components": [{"type": "application", "name": "dataset-marketplace"}]}},
        "components": components,
        "dependencies": [{"ref": ref, "dependsOn": [c["bom-ref"] for c in components]}] if components else [],
    }


def bom_spdx(principal: Principal, org_id: uuid.UUID) -> dict[str, Any]:
    """SPDX 3.0.1: one dataset package per held version, with the licence of the grant as declared
    and, as concluded, every licence the data comes under over its whole lineage."""
    from spdx_python_model import v3_0_1 as s  # deferred: spdx_python_model is heavy and only the SPDX bill of materials needs it

    held = held_versions(principal, org_id)
    org = get_session().get_one(Organization, org_id)
    ns = f"{current_settings().public_url.rstrip('/')}/spdx/bom/{org.id}/"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ci = s.CreationInfo(specVersion="3.0.1", created=now)
    me = s.Organization(spdxId=ns + "holder", name=org.name, creationInfo=ci)
    ci.createdBy = [me]
    objects: list[Any] = [me]
    pkgs = []
    for i, h in enumerate(held):
        v, ds, lic = h["version"], h["dataset"], h["license"]
        pkg = s.dataset_DatasetPackage(spdxId=ns + f"pkg/{i}", name=ds.slug, software_packageVersion=v.version, creationInfo=ci,
                                       software_primaryPurpose=s.software_SoftwarePurpose.data, dataset_datasetType=[s.dataset_DatasetType.other],
                                       software_downloadLocation="NOASSERTION", releaseTime=(v.published_at or now).replace(microsecond=0),
                                       comment=f"grant {h['grant'].id}; quota used {h['quota_used']} {h['grant'].unit}; effective use {h['effective_use']}")
        if v.manifest_digest:
            pkg.verifiedUsing = [s.Hash(algorithm=s.HashAlgorithm.sha256, hashValue=v.manifest_digest)]
        declared = s.simplelicensing_LicenseExpression(spdxId=ns + f"lic/{i}/declared", creationInfo=ci, simplelicensing_licenseExpression=lic.identifier)
        expression, why = h["concluded"]
        concluded = s.simplelicensing_LicenseExpression(spdxId=ns + f"lic/{i}/concluded", creationInfo=ci, simplelicensing_licenseExpression=expression, comment=why)
        objects += [pkg, declared, concluded,
                    s.Relationship(spdxId=ns + f"rel/{i}/declared", creationInfo=ci, from_=pkg, to=[declared], relationshipType=s.RelationshipType.hasDeclaredLicense),
                    s.Relationship(spdxId=ns + f"rel/{i}/concluded", creationInfo=ci, from_=pkg, to=[concluded], relationshipType=s.RelationshipType.hasConcludedLicense)]
        pkgs.append(pkg)
    doc = s.SpdxDocument(spdxId=ns + "document", name=f"{org.slug}-data-bom", creationInfo=ci, rootElement=pkgs or [me], element=objects,
                         profileConformance=[s.ProfileIdentifierType.core, s.ProfileIdentifierType.software, s.ProfileIdentifierType.dataset, s.ProfileIdentifierType.simpleLicensing])
    objset = s.SHACLObjectSet()
    for o in [doc, *objects]:
        objset.add(o)
    out = io.BytesIO()
    s.JSONLDSerializer().write(objset, out)
    return json.loads(out.getvalue())
