"""Standard exports of a dataset version: Croissant 1.1 JSON-LD (with RAI fields), W3C PROV-JSON
of its lineage, and an SPDX 3.0 dataset package with declared and concluded licences.

All three are built from the same registry facts (manifest, licence, provenance, lineage), and
are readable without login for public versions.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timezone
from types import ModuleType
from typing import Any, cast

from sqlalchemy import select

from catalog.models import Dataset, DatasetVersion, VersionFile
from catalog.services.datasets import get_version
from licensing.compat import Node
from licensing.models import License
from licensing.services import current_declaration, effective_licence, version_license
from marketplace.identity.models import Organization
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import get_session
from marketplace.kernel.errors import Conflict
from marketplace.kernel.principal import Principal

# Croissant 1.1 @context (as mlcroissant writes it), plus PROV for lineage.
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "arrayShape": "cr:arrayShape", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "containedIn": "cr:containedIn", "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty", "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract",
    "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format",
    "includes": "cr:includes", "isArray": "cr:isArray", "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath", "key": "cr:key",
    "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet", "references": "cr:references",
    "regex": "cr:regex", "repeated": "cr:repeated", "replace": "cr:replace", "samplingRate": "cr:samplingRate", "sc": "https://schema.org/",
    "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform", "prov": "http://www.w3.org/ns/prov#",
}


def _base_url() -> str:
    return current_settings().public_url.rstrip("/")


def _facts(principal: Principal, version_id: uuid.UUID) -> dict[str, Any]:
    v, ds = get_version(principal, version_id)
    if v.manifest_digest is None:
        raise Conflict("Exports describe published versions; this one is not published yet.")
    session = get_session()
    files = list(session.scalars(select(VersionFile).where(VersionFile.version_id == v.id).order_by(VersionFile.path)))
    org = session.get(Organization, ds.organization_id)
    decl = current_declaration(v.id)
    lic = version_license(v.id)
    root, effective = effective_licence(v.id)
    return {"version": v, "dataset": ds, "files": files, "org": org, "declaration": decl, "license": lic, "graph": root, "effective": effective}


def _licence_ref(lic: License | None) -> str:
    return (lic.url or f"{_base_url()}/api/v1/licenses/{lic.identifier}?version={lic.version}") if lic else "NOASSERTION"


# --------------------------------------------------------------------------- Croissant


def croissant(principal: Principal, version_id: uuid.UUID) -> dict[str, Any]:
    f = _facts(principal, version_id)
    v: DatasetVersion = f["version"]
    ds: Dataset = f["dataset"]
    body = f["declaration"].body if f["declaration"] else {}
    base = _base_url()
    pd = body.get("personal_data") or {}
    ann = body.get("annotation") or {}
    col = body.get("collection") or {}
    sources = body.get("sources", [])
    doc: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "@id": f"{base}/api/v1/versions/{v.id}",
        "name": f"{ds.slug}",
        "description": ds.summary or ds.title,
        "url": f"{base}/api/v1/datasets/{ds.id}",
        "version": v.version,
        "datePublished": (v.published_at or datetime.now(timezone.utc)).date().isoformat(),
        "license": _licence_ref(f["license"]),
        "creator": {"@type": "sc:Organization", "name": f["org"].name},
        "citeAs": f"{f['org'].name}. {ds.title}, version {v.version}. Manifest SHA-256 {v.manifest_digest}.",
        "keywords": [ds.domain],
        "distribution": [
            {"@type": "cr:FileObject", "@id": fo.path, "name": fo.path, "contentUrl": fo.path, "encodingFormat": fo.media_type,
             "sha256": fo.sha256, "contentSize": f"{fo.size} B"} for fo in f["files"]
        ],
        "rai:dataCollection": "; ".join(f"{s['kind'].replace('_', ' ')}: {s['name']}" for s in sources) or "not declared",
        "rai:dataCollectionType": sorted({s["kind"] for s in sources}),
        "rai:personalSensitiveInformation": _pd_text(pd),
        "rai:dataBiases": body.get("biases") or "not declared",
        "rai:dataLimitations": body.get("limitations") or "not declared",
        "rai:dataUseCases": f"Use class over the whole lineage: {f['effective'].use_class}.",
    }
    if col.get("period_start") or col.get("period_end"):
        doc["rai:dataCollectionTimeframe"] = [d for d in (col.get("period_start"), col.get("period_end")) if d]
    if ann:
        doc["rai:dataAnnotationProtocol"] = "; ".join(f"{k.replace('_', ' ')}: {val}" for k, val in ann.items() if val is not None) or "not declared"
    upstream = [s for s in f["graph"].sources if s.kind == "registry" and s.upstream is not None]
    if upstream:
        doc["prov:wasDerivedFrom"] = [{"@id": f"{base}/api/v1/versions/{s.upstream.key}"} for s in upstream]
    return doc


def _pd_text(pd: dict[str, Any]) -> str:
    status = pd.get("status", "not declared")
    parts = [f"personal data: {status}"]
    if pd.get("anonymisation_method"):
        parts.append(f"method: {pd['anonymisation_method']}")
    if pd.get("sensitive_categories"):
        parts.append("sensitive categories: " + ", ".join(pd["sensitive_categories"]))
    return "; ".join(parts)


# --------------------------------------------------------------------------- PROV-JSON


def prov_json(principal: Principal, version_id: uuid.UUID) -> str:
    """The lineage as W3C PROV: versions and sources are entities, vendors are agents,
    derivations are wasDerivedFrom, model generation is an activity that used the model."""
    from prov.model import ProvDocument  # deferred: prov is heavy and only the PROV-JSON export needs it

    f = _facts(principal, version_id)
    base = _base_url()
    doc = ProvDocument()
    doc.add_namespace("mkt", f"{base}/api/v1/")
    doc.add_namespace("src", f"{base}/api/v1/versions/{f['version'].id}/sources/")
    doc.add_namespace("spdx", "https://spdx.org/licenses/")
    seen: set[str] = set()

    def entity_for(node: Node) -> str:
        eid = f"mkt:versions/{node.key}"
        if eid in seen:
            return eid
        seen.add(eid)
        doc.entity(eid, {"prov:label": node.label, "prov:type": "mkt:DatasetVersion", "mkt:license": node.license_identifier or "none declared"})
        for i, s in enumerate(node.sources):
            if s.kind == "registry" and s.upstream is not None:
                up = entity_for(s.upstream)
                doc.wasDerivedFrom(eid, up, other_attributes={"mkt:relation": s.relation})
                continue
            sid = f"src:{node.key}-{i}"
            doc.entity(sid, {"prov:label": s.label, "prov:type": f"mkt:{s.kind}", "mkt:license": s.license_identifier or "unknown"})
            if s.kind == "model":
                act = f"src:{node.key}-{i}-generation"
                doc.activity(act, other_attributes={"prov:label": f"generation with {s.label}"})
                doc.used(act, sid)
                doc.wasGeneratedBy(eid, act)
            elif s.kind == "first_hand":
                act = f"src:{node.key}-{i}-collection"
                doc.activity(act, other_attributes={"prov:label": f"collection: {s.label}"})
                doc.wasGeneratedBy(eid, act)
            else:
                doc.wasDerivedFrom(eid, sid, other_attributes={"mkt:relation": s.relation if s.kind != "web_crawl" else "crawl"})
        return eid

    root = entity_for(f["graph"])
    agent = f"mkt:orgs/{f['org'].id}"
    doc.agent(agent, {"prov:type": "prov:Organization", "prov:label": f["org"].name})
    doc.wasAttributedTo(root, agent)
    if f["declaration"]:
        d = f["declaration"]
        act = f"mkt:versions/{f['version'].id}/attestation/{d.revision}"
        doc.activity(act, d.attested_at, d.attested_at, {"prov:label": f"provenance attestation rev {d.revision}", "mkt:digest": d.digest})
        doc.wasAssociatedWith(act, agent)
    # Returns the text when no destination is given (prov types it str | None for either case).
    return cast(str, doc.serialize(format="json"))


# --------------------------------------------------------------------------- SPDX 3.0


def spdx(principal: Principal, version_id: uuid.UUID) -> dict[str, Any]:
    """An SPDX 3.0.1 document with one dataset package, its files, and its declared licence
    (the vendor's) and concluded licence (the registry's reading of the whole lineage)."""
    from spdx_python_model import v3_0_1 as s  # deferred: spdx_python_model is heavy and only the SPDX export needs it

    f = _facts(principal, version_id)
    v, ds = f["version"], f["dataset"]
    base = _base_url()
    ns = f"{base}/spdx/{v.id}/"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ci = s.CreationInfo(specVersion="3.0.1", created=now)
    tool = s.Tool(spdxId=ns + "tool", name="dataset-marketplace", creationInfo=ci)
    org = s.Organization(spdxId=ns + "vendor", name=f["org"].name, creationInfo=ci)
    ci.createdBy = [org]
    ci.createdUsing = [tool]
    pkg = s.dataset_DatasetPackage(
        spdxId=ns + "dataset", name=f"{ds.slug}", software_packageVersion=v.version, creationInfo=ci,
        software_primaryPurpose=s.software_SoftwarePurpose.data, dataset_datasetType=[_spdx_dataset_type(s, ds, f["files"])],
        software_downloadLocation=f"{base}/api/v1/versions/{v.id}/manifest", releaseTime=(v.published_at or now).replace(microsecond=0),
        originatedBy=[org], suppliedBy=org, description=ds.summary or ds.title,
        verifiedUsing=[s.Hash(algorithm=s.HashAlgorithm.sha256, hashValue=v.manifest_digest)],
    )
    body = f["declaration"].body if f["declaration"] else {}
    pd = body.get("personal_data") or {}
    if pd.get("anonymisation_method"):
        pkg.dataset_anonymizationMethodUsed = [pd["anonymisation_method"]]
    if body.get("biases"):
        pkg.dataset_knownBias = [body["biases"]]
    if pd.get("status"):
        pkg.dataset_hasSensitivePersonalInformation = {"contains": s.PresenceType.yes, "pseudonymised": s.PresenceType.yes,
                                                       "anonymised": s.PresenceType.no, "none": s.PresenceType.no}[pd["status"]]
    objects: list[Any] = [org, tool, pkg]
    files: list[Any] = []
    for fo in f["files"]:
        sf = s.software_File(spdxId=ns + "file/" + fo.sha256[:16] + "-" + str(len(files)), name=fo.path, creationInfo=ci,
                             verifiedUsing=[s.Hash(algorithm=s.HashAlgorithm.sha256, hashValue=fo.sha256)], software_primaryPurpose=s.software_SoftwarePurpose.data)
        files.append(sf)
    objects += files
    if files:
        objects.append(s.Relationship(spdxId=ns + "rel/contains", creationInfo=ci, from_=pkg, to=files, relationshipType=s.RelationshipType.contains))
    declared = s.simplelicensing_LicenseExpression(spdxId=ns + "license/declared", creationInfo=ci,
                                                   simplelicensing_licenseExpression=_spdx_expr(f["license"].identifier if f["license"] else "NOASSERTION"))
    concluded_ids = sorted({n for n in [f["license"].identifier if f["license"] else None] +
                            [sa["license"] for sa in f["effective"].share_alike] if n})
    concluded = s.simplelicensing_LicenseExpression(spdxId=ns + "license/concluded", creationInfo=ci,
                                                    simplelicensing_licenseExpression=" AND ".join(_spdx_expr(i) for i in concluded_ids) or "NOASSERTION")
    objects += [declared, concluded,
                s.Relationship(spdxId=ns + "rel/declared", creationInfo=ci, from_=pkg, to=[declared], relationshipType=s.RelationshipType.hasDeclaredLicense),
                s.Relationship(spdxId=ns + "rel/concluded", creationInfo=ci, from_=pkg, to=[concluded], relationshipType=s.RelationshipType.hasConcludedLicense)]
    document = s.SpdxDocument(spdxId=ns + "document", name=f"{ds.slug}-{v.version}", creationInfo=ci, rootElement=[pkg], element=objects,
                              profileConformance=[s.ProfileIdentifierType.core, s.ProfileIdentifierType.software, s.ProfileIdentifierType.dataset,
                                                  s.ProfileIdentifierType.simpleLicensing])
    objset = s.SHACLObjectSet()
    for o in [document, *objects]:
        objset.add(o)
    out = io.BytesIO()
    s.JSONLDSerializer().write(objset, out)
    return json.loads(out.getvalue())


def _spdx_expr(identifier: str) -> str:
    """SPDX ids as they are; our LicenseRef-* stay LicenseRef-*; anything else is NOASSERTION."""
    return identifier if identifier else "NOASSERTION"


def _spdx_dataset_type(s: ModuleType, ds: Dataset, files: list[VersionFile]) -> str:
    formats = {fo.format for fo in files}
    if formats & {"wav", "flac"}:
        return s.dataset_DatasetType.audio
    if formats & {"jpeg", "png"}:
        return s.dataset_DatasetType.image
    if "mp4" in formats:
        return s.dataset_DatasetType.video
    if formats & {"csv", "parquet"}:
        return s.dataset_DatasetType.structured
    return s.dataset_DatasetType.text
