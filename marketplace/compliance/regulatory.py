"""What compliance officers hand to regulators, pre-filled from evidence the platform holds.

- The EU AI Act Article 53(1)(d) public summary of training content, in the structure of the AI
  Office's template (July 2025): general information, data sources (2.1 to 2.6), processing.
- The evidence pack for a Chinese generative-AI service filing (Interim Measures for generative
  AI services, 2023, Art. 7; TC260-003-2024, training-data section), per source, in Chinese and
  English.

Every pre-filled value carries the evidence behind it: a grant, a manifest, a provenance
declaration, audit events, or the provider's own declaration in its model record (which says
so). A field nothing tells is "to be provided": tri-state fields are yes, no or "to be provided",
and never guessed. Sizes are counted only where ingest measured them (images by file, audio by
WAV duration); tokens are never estimated from bytes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from catalog.analysis import MEDIA_FORMATS, kind_of
from catalog.models import Dataset, DatasetFacet, DatasetVersion, VersionFile
from licensing.models import License, ProvenanceDeclaration
from licensing.services import current_declaration, offer_verdict
from marketplace.commerce.models import Grant
from marketplace.compliance.actions import ComplianceAction
from marketplace.compliance.models import AIModel, InputKind, Modality
from marketplace.compliance.policy import CompliancePermission as Perm
from marketplace.compliance.training import detail_of, model_for
from marketplace.delivery.actions import DeliveryAction
from marketplace.identity.models import Organization
from marketplace.kernel import audit
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session, transactional
from marketplace.kernel.principal import Principal

TBP = "to be provided"
TEMPLATE = ("Template for the public summary of training content for general-purpose AI models, European Commission AI Office, "
            "July 2025 (Article 53(1)(d) of Regulation (EU) 2024/1689)")
# Modality of a file by the format ingest detected.
FORMAT_MODALITY = {"jsonl": "text", "csv": "text", "parquet": "text", "json": "text", "txt": "text",
                   **{fmt: kind_of(fmt) or "other" for fmt in MEDIA_FORMATS}}
# The template's size bands: (unit, [(upper bound inclusive of the middle band...)]).
SIZE_UNITS = {"text": "tokens", "image": "images", "audio": "hours", "video": "hours"}
BANDS: dict[str, tuple[int, int, tuple[str, str, str]]] = {
    "text": (1_000_000_000, 10_000_000_000_000, ("less than 1 billion tokens", "1 billion to 10 trillion tokens", "more than 10 trillion tokens")),
    "image": (1_000_000, 1_000_000_000, ("less than 1 million images", "1 million to 1 billion images", "more than 1 billion images")),
    "audio": (10_000, 1_000_000, ("less than 10,000 hours", "10,000 to 1 million hours", "more than 1 million hours")),
    "video": (10_000, 1_000_000, ("less than 10,000 hours", "10,000 to 1 million hours", "more than 1 million hours")),
}
LARGE_SHARE = 0.03  # 2.1: public datasets are named when they are at least 3% of a modality


def size_band(modality: str, amount: float | None) -> str:
    """The template's band for an amount: below the lower bound, up to and including the upper
    bound, or above it ("to be provided" when the amount is not known)."""
    if amount is None or modality not in BANDS:
        return TBP
    low, high, labels = BANDS[modality]
    if amount < low:
        return labels[0]
    return labels[1] if amount <= high else labels[2]


def _ev(kind: str, label: str, url: str, **ids: Any) -> dict[str, Any]:
    return {"type": kind, "label": label, "url": url, **{k: str(v) for k, v in ids.items()}}


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else TBP


def _tri(value: str | float, evidence: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"value": value, "evidence": evidence, **extra}


@dataclass
class GrantInput:
    """One input licensed here, with every fact the documents read, and the evidence of each."""

    input_id: uuid.UUID
    runs: list[str]
    grant: Grant
    version: DatasetVersion
    dataset: Dataset
    vendor: Organization
    licence: License
    files: list[VersionFile]
    declaration: ProvenanceDeclaration | None
    lineage: list[tuple[dict[str, Any], list[str], str]]  # (source, path of titles, version id that declares it)
    languages: list[str]
    effective: dict[str, Any]
    acquired: list[AuditEvent] = field(default_factory=list)
    tokens: int | None = None  # declared by the provider for this input's text

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    def modalities(self) -> dict[str, list[VersionFile]]:
        out: dict[str, list[VersionFile]] = defaultdict(list)
        for f in self.files:
            out[FORMAT_MODALITY.get(f.format, "other")].append(f)
        # Media inside tar or WebDataset shards counts as its own modality.
        media = self.version.media or {}
        shards = [f for f in self.files if f.format == "tar"]
        for modality, key in (("audio", "audio_files"), ("video", "video_files"), ("image", "images")):
            if media.get(key) and modality not in out and shards:
                out[modality] = shards
        return dict(out)

    def measured(self, modality: str) -> float | None:
        """The size of a modality: images and hours of audio and video as ingest measured them
        (versions measured before media figures existed: audio hours from their WAV headers, None
        if any audio file has no measured duration); tokens only as the
        provider declared them for this input (never estimated from bytes)."""
        files = self.modalities().get(modality, [])
        if modality == "text":
            return float(self.tokens) if self.tokens is not None and files else None
        media = self.version.media
        if media is not None and modality in ("audio", "video") and media.get(f"{modality}_files"):
            return media[f"{modality}_ms"] / 3_600_000  # measured at ingest, shards' members included
        if modality == "image":
            return float(media["images"]) if media is not None and media.get("images") else float(len(files))
        if modality == "audio" and files and all((f.stats or {}).get("duration_seconds") is not None for f in files):
            return sum((f.stats or {})["duration_seconds"] for f in files) / 3600
        return None

    def evidence(self) -> list[dict[str, Any]]:
        ev = [_ev("grant", f"grant {self.grant.id} ({self.licence.identifier} v{self.licence.version})", f"/api/v1/grants/{self.grant.id}", id=self.grant.id),
              _ev("manifest", f"{self.dataset.title} {self.version.version}, manifest SHA-256 {self.version.manifest_digest}",
                  f"/api/v1/versions/{self.version.id}/manifest", version_id=self.version.id, digest=self.version.manifest_digest)]
        if self.declaration is not None:
            ev.append(_ev("provenance", f"provenance declaration rev {self.declaration.revision}, SHA-256 {self.declaration.digest}",
                          f"/api/v1/versions/{self.version.id}/provenance", version_id=self.version.id, digest=self.declaration.digest))
        return ev

    def delivery_evidence(self) -> list[dict[str, Any]]:
        """The audit events of the deliveries under this grant (downloads and record streams)."""
        out = []
        for action, what in ((DeliveryAction.DELIVERY_AUTHORIZE.value, "downloads authorised"), (DeliveryAction.DELIVERY_RECORDS.value, "records streamed")):
            events = [e for e in self.acquired if e.action == action]
            if events:
                out.append(_ev("audit", f"{len(events)} event(s) of {what} under grant {self.grant.id}, the last {events[-1].occurred_at.isoformat(timespec='seconds')}",
                               f"/api/v1/audit/events?org_id={self.grant.buyer_org_id}&action={action}", grant_id=self.grant.id))
        return out


def _lineage(version_id: uuid.UUID, titles: list[str], seen: set[uuid.UUID]) -> list[tuple[dict[str, Any], list[str], str]]:
    """Every declared source of a version and of its registry upstreams, with the path to it."""
    if version_id in seen:
        return []
    seen.add(version_id)
    decl = current_declaration(version_id)
    out = []
    for s in (decl.body.get("sources", []) if decl else []):
        out.append((s, [*titles, s["name"]], str(version_id)))
        if s["kind"] == "registry" and s.get("version_id"):
            up = get_session().get(DatasetVersion, uuid.UUID(str(s["version_id"])))
            if up is not None:
                out += _lineage(up.id, [*titles, s["name"]], seen)
    return out


def _grant_inputs(model: AIModel, detail: dict[str, Any]) -> list[GrantInput]:
    """The data licensed here that the model's runs took, once per grant and version however
    often it was attached (runs reuse data; the same data is not more data): the union of the
    files attached, and the provider's token count where every attachment of it gives one."""
    session = get_session()
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[str, dict[str, Any]]]] = {}
    for run in detail["runs"]:
        for i in run["inputs"]:
            if i["kind"] == InputKind.grant.value:
                groups.setdefault((i["grant_id"], i["version_id"]), []).append((run["name"], i))
    out = []
    for (grant_id, version_id), members in groups.items():
        grant = session.get_one(Grant, grant_id)
        version = session.get_one(DatasetVersion, version_id)
        ds = session.get_one(Dataset, version.dataset_id)
        files = list(session.scalars(select(VersionFile).where(VersionFile.version_id == version.id).order_by(VersionFile.path)))
        if all(i["files"] for _, i in members):
            wanted = {f["path"] for _, i in members for f in i["files"]}
            files = [f for f in files if f.path in wanted]
        # Tokens per distinct set of files (a recount of the same files replaces, never adds).
        counts: dict[frozenset[str] | None, int | None] = {}
        for _, i in members:
            key = None if not i["files"] else frozenset(f["path"] for f in i["files"])
            have = counts.get(key)
            counts[key] = i["size"] if have is None else (max(have, i["size"]) if i["size"] is not None else have)
        tokens = None if any(c is None for c in counts.values()) else sum(c for c in counts.values() if c is not None)
        licence = session.get_one(License, grant.license_id)
        langs = sorted(session.scalars(select(DatasetFacet.value).where(DatasetFacet.dataset_id == ds.id, DatasetFacet.kind == "language")))
        # Downloads authorised for the version, and records streamed from its files, under this grant.
        acquired = [e for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_([DeliveryAction.DELIVERY_AUTHORIZE.value, DeliveryAction.DELIVERY_RECORDS.value]), AuditEvent.outcome == "success",
            AuditEvent.subject_id.in_([str(version.id), *(str(f.id) for f in files)]), AuditEvent.actor_org_id == model.organization_id)
            .order_by(AuditEvent.occurred_at)) if (e.details or {}).get("grant_id") == str(grant.id)]
        out.append(GrantInput(members[0][1]["id"], sorted({r for r, _ in members}), grant, version, ds, session.get_one(Organization, grant.vendor_org_id),
                              licence, files, current_declaration(version.id), _lineage(version.id, [ds.title], set()), langs,
                              offer_verdict(version.id, licence).effective_terms, acquired, tokens))
    return out


def _declared(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(i, run=r["name"]) for r in detail["runs"] for i in r["inputs"] if i["kind"] != InputKind.grant.value]


def _declared_ev(i: dict[str, Any]) -> dict[str, Any]:
    return _ev("declaration", f"declared by the provider: {i['name']} (run {i['run']})", f"/api/v1/training-runs/{i['run_id']}" if i.get("run_id") else "",
               input_id=i["id"])


def _evidence(principal: Principal, model_id: uuid.UUID) -> tuple[AIModel, list[GrantInput], list[dict[str, Any]]]:
    """A model the caller may read, what its runs took under grants (with their evidence), and
    what its provider declared."""
    model = model_for(principal, model_id, Perm.MODEL_READ)
    detail = detail_of(model)
    for r in detail["runs"]:
        for i in r["inputs"]:
            i["run_id"] = r["id"]
    return model, _grant_inputs(model, detail), _declared(detail)


# --------------------------------------------------------------------------- EU summary


@transactional
def eu_summary(principal: Principal, model_id: uuid.UUID) -> dict[str, Any]:
    """The public summary of training content of one model, pre-filled from evidence."""
    model, licensed, declared = _evidence(principal, model_id)
    audit.record(principal, ComplianceAction.SUMMARY_GENERATE, subject_type="model", subject_id=model.id, subject_org_id=model.organization_id,
                 details={"document": "eu-ai-act-53-1-d"})
    return {
        "document": "EU AI Act Article 53(1)(d): public summary of training content",
        "template": TEMPLATE,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "legend": {"to be provided": "The platform holds no evidence for this field; the provider completes it.",
                   "declaration": "Stated by the provider in its model record, not verified by the platform."},
        "1_general_information": _general(model, licensed, declared),
        "2_data_sources": _sources(licensed, declared),
        "3_processing": _processing(licensed, declared),
    }


def _general(model: AIModel, licensed: list[GrantInput], declared: list[dict[str, Any]]) -> dict[str, Any]:
    model_ev = [_ev("model", f"model record {model.name} {model.version}", f"/api/v1/models/{model.id}", id=model.id)]
    modalities = []
    for m in [m.value for m in Modality]:
        lic = [g for g in licensed if m in g.modalities()]
        dec = [i for i in declared if i["modality"] == m]
        if not lic and not dec:
            modalities.append({"modality": m, "present": _tri(TBP, []), "size": _tri(TBP, []), "size_band": TBP})
            continue
        evidence = [e for g in lic for e in g.evidence()[:2]] + [_declared_ev(i) for i in dec]
        amounts = [g.measured(m) for g in lic] + [i["size"] for i in dec]
        known = None if any(a is None for a in amounts) or m not in SIZE_UNITS else sum(float(a) for a in amounts if a is not None)
        if m == "text" or not lic:  # tokens are always the provider's count
            basis = "declared by the provider"
        else:
            basis = "measured at ingest and declared" if dec else "measured at ingest"
        if m == "text":
            evidence = evidence + [_ev("declaration", f"{g.dataset.title}: {g.tokens:,} tokens, declared by the provider", "", input_id=g.input_id)
                                   for g in lic if g.tokens is not None]
        size = _tri(TBP if known is None else _amount(known), evidence if known is not None else [], unit=SIZE_UNITS.get(m), basis=basis if known is not None else None)
        modalities.append({"modality": m, "present": _tri("yes", evidence), "size": size, "size_band": size_band(m, known)})
    langs = sorted({lang for g in licensed for lang in g.languages} | {lang for i in declared for lang in i["languages"]})
    lang_ev = [_ev("dataset", f"{g.dataset.title}: languages {', '.join(g.languages)}", f"/api/v1/datasets/{g.dataset.id}", id=g.dataset.id) for g in licensed if g.languages]
    lang_ev += [_declared_ev(i) for i in declared if i["languages"]]
    acquired = [e for g in licensed for e in g.acquired]
    last = max(acquired, key=lambda e: e.occurred_at) if acquired else None
    # Declared inputs have no acquisition date the platform saw: with any, the date is the provider's to give.
    acquisition = _tri(TBP, []) if last is None or declared else _tri(
        last.occurred_at.date().isoformat(), [_ev("audit", f"{'delivery authorised' if last.action == DeliveryAction.DELIVERY_AUTHORIZE.value else 'records streamed'} "
                                                          f"{last.occurred_at.isoformat(timespec='seconds')}",
                                                 f"/api/v1/audit/events?org_id={last.actor_org_id}&action={last.action}&subject_id={last.subject_id}",
                                                 event_id=last.id)])
    if last is not None and declared:
        acquisition["latest_seen_by_platform"] = {"date": last.occurred_at.date().isoformat(),
                                                  "evidence": [e for g in licensed for e in g.delivery_evidence()]}
    return {
        "1.1_provider": {"name": _tri(model.provider, model_ev), "contact": _tri(TBP, [])},
        "1.2_model": {"name": _tri(model.name, model_ev), "version": _tri(model.version, model_ev),
                      "release_date": _tri(model.release_date.isoformat(), model_ev) if model.release_date else _tri(TBP, []),
                      "training_runs": sorted({r for g in licensed for r in g.runs} | {i["run"] for i in declared})},
        "1.3_modalities": modalities,
        "1.4_languages": _tri(", ".join(langs), lang_ev) if langs else _tri(TBP, []),
        "1.5_latest_acquisition_date": acquisition,
    }


def _amount(x: float) -> float | int:
    """Whole counts as integers; hours to four significant digits (2 s of speech is 0.0005556 h)."""
    return int(x) if float(x).is_integer() else float(f"{x:.4g}")


def _sources(licensed: list[GrantInput], declared: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in declared:
        by_kind[i["kind"]].append(i)
    # 2.1 public datasets: declared public inputs, and public datasets inside licensed ones.
    totals: dict[str, float | None] = {}
    for m in SIZE_UNITS:
        amounts = [g.measured(m) for g in licensed if m in g.modalities()] + [i["size"] for i in declared if i["modality"] == m]
        totals[m] = None if not amounts or any(a is None for a in amounts) else sum(float(a) for a in amounts if a is not None)
    public = []
    for i in by_kind[InputKind.public.value]:
        total = totals.get(i["modality"] or "")
        share = (i["size"] / total) if total and i["size"] is not None else None
        public.append({"name": i["name"], "url": i["url"], "modality": i["modality"], "share": round(share, 4) if share is not None else TBP,
                       "named_because": "at least 3% of its modality" if share is not None and share >= LARGE_SHARE else
                       ("its share is not known" if share is None else "below 3%: named at the provider's choice"), "evidence": [_declared_ev(i)]})
    inside = []
    for g in licensed:
        for s, path, vid in g.lineage:
            if s["kind"] == "external":
                inside.append({"name": s["name"], "url": s.get("url"), "licence": s.get("license") or TBP, "within": g.dataset.title, "path": path, "share": TBP,
                               "named_because": "its share is not known",
                               "evidence": [_ev("provenance", f"declared by the vendor of {path[-2]}", f"/api/v1/versions/{vid}/provenance", version_id=vid)]})
    crawls = []
    for g in licensed:
        for s, path, vid in g.lineage:
            if s["kind"] == "web_crawl":
                crawls.append({"name": s["name"], "within": g.dataset.title, "period": [s.get("crawl_start") or TBP, s.get("crawl_end") or TBP],
                               "domains": s.get("domains") or [], "opt_outs_observed": s.get("opt_outs_observed") or [],
                               "opt_outs_respected": _yes_no(s.get("opt_outs_respected")),
                               "evidence": [_ev("provenance", f"crawl declared by the vendor of {path[-2]}", f"/api/v1/versions/{vid}/provenance", version_id=vid)]})
    for i in by_kind[InputKind.crawled.value]:
        d = i["details"]
        crawls.append({"name": i["name"], "crawler": d.get("crawler") or TBP, "period": [d.get("period_start") or TBP, d.get("period_end") or TBP],
                       "opt_outs_respected": _yes_no(d.get("opt_outs_respected")), "evidence": [_declared_ev(i)]})
    synthetic = []
    for g in licensed:
        for s, path, vid in g.lineage:
            if s["kind"] == "model":
                synthetic.append({"name": s["name"], "generating_model": s.get("model_name") or TBP, "model_provider": s.get("model_provider") or TBP,
                                  "terms": s.get("license") or TBP, "within": g.dataset.title,
                                  "evidence": [_ev("provenance", f"model source declared by the vendor of {path[-2]}", f"/api/v1/versions/{vid}/provenance", version_id=vid)]})
    for i in by_kind[InputKind.synthetic.value]:
        synthetic.append({"name": i["name"], "generating_model": ", ".join(i["details"].get("generating_models") or []) or TBP, "evidence": [_declared_ev(i)]})
    private_here = [{"dataset": g.dataset.title, "version": g.version.version, "vendor": g.vendor.name, "licence": f"{g.licence.identifier} v{g.licence.version}",
                     "runs": g.runs, "files": len(g.files), "bytes": g.bytes, "modalities": sorted(g.modalities()),
                     "downloads_authorised": sum(1 for e in g.acquired if e.action == DeliveryAction.DELIVERY_AUTHORIZE.value),
                     "records_streamed": sum((e.quantities or {}).get("records", 0) for e in g.acquired if e.action == DeliveryAction.DELIVERY_RECORDS.value),
                     "evidence": g.evidence() + g.delivery_evidence()} for g in licensed]
    private_other = [{"name": i["name"], "modality": i["modality"], "description": i["description"], "evidence": [_declared_ev(i)]} for i in by_kind[InputKind.private.value]]

    def used(items: list[Any]) -> dict[str, Any]:
        return _tri("yes", [e for it in items for e in it["evidence"]][:20]) if items else _tri(TBP, [])

    return {
        "2.1_public_datasets": {"used": used(public + inside), "datasets": public, "within_licensed_datasets": inside},
        "2.2_private_datasets": {"used": used(private_here + private_other), "licensed_through_this_marketplace": private_here,
                                 "other_third_party": private_other},
        "2.3_crawled_data": {"used": used(crawls), "crawls": crawls},
        "2.4_user_data": {"used": used([{"evidence": [_declared_ev(i)]} for i in by_kind[InputKind.user.value]]),
                          "sources": [{"name": i["name"], "description": i["description"], "evidence": [_declared_ev(i)]} for i in by_kind[InputKind.user.value]]},
        "2.5_synthetic_data": {"used": used(synthetic), "sources": synthetic},
        "2.6_other": {"used": used([{"evidence": [_declared_ev(i)]} for i in by_kind[InputKind.other.value]]),
                      "sources": [{"name": i["name"], "description": i["description"], "evidence": [_declared_ev(i)]} for i in by_kind[InputKind.other.value]]},
    }


def _processing(licensed: list[GrantInput], declared: list[dict[str, Any]]) -> dict[str, Any]:
    crawl_rows = [(s, path, vid) for g in licensed for s, path, vid in g.lineage if s["kind"] == "web_crawl"]
    crawl_rows_declared = [i for i in declared if i["kind"] == InputKind.crawled.value]
    answers = [s.get("opt_outs_respected") for s, _, _ in crawl_rows] + [i["details"].get("opt_outs_respected") for i in crawl_rows_declared]
    evidence = [_ev("provenance", f"crawl {s['name']}: opt-outs {'honoured' if s.get('opt_outs_respected') else 'not honoured' if s.get('opt_outs_respected') is False else 'not stated'}",
                    f"/api/v1/versions/{vid}/provenance", version_id=vid) for s, _, vid in crawl_rows] + [_declared_ev(i) for i in crawl_rows_declared]
    if not answers:
        tdm = _tri(TBP, [], note="No crawled data is in the evidence; the provider states its own policy.")
    elif any(a is False for a in answers):
        tdm = _tri("no", evidence)
    elif all(a is True for a in answers):
        tdm = _tri("yes", evidence, note="For the crawls in the evidence; the provider states its policy for any other data.")
    else:
        tdm = _tri(TBP, evidence, note="Some crawls do not state whether opt-outs were honoured.")
    measures = []
    for g in licensed:
        body = g.declaration.body if g.declaration else {}
        pd = body.get("personal_data") or {}
        if pd.get("anonymisation_method"):
            measures.append({"measure": f"personal data {pd['status']}: {pd['anonymisation_method']}", "within": g.dataset.title, "evidence": g.evidence()[2:]})
    return {
        "3.1_text_and_data_mining_opt_outs": tdm,
        "3.2_removal_of_illegal_content": _tri(TBP, [], note="The platform holds no evidence of this; the provider describes its measures."),
        "3.3_other": {"measures": measures, "value": "yes" if measures else TBP},
    }


# --------------------------------------------------------------------------- Chinese filing evidence

CN_LABELS = {
    "document": ("生成式人工智能服务备案：训练数据来源证明材料", "Generative AI service filing: evidence on training-data sources"),
    "basis": ("依据《生成式人工智能服务管理暂行办法》（2023）第七条，及 TC260-003-2024《生成式人工智能服务安全基本要求》训练数据部分",
              "Under the Interim Measures for the Management of Generative AI Services (2023), Art. 7, and TC260-003-2024 "
              "\"Basic security requirements for generative AI services\", training-data section"),
    "source": ("数据来源", "Source"),
    "legality": ("来源合法性", "Legality of the source"),
    "share": ("占训练语料比例（按字节）", "Share of the corpus (by bytes)"),
    "personal_information": ("是否包含个人信息", "Contains personal information"),
    "consent_basis": ("个人信息处理依据", "Basis for processing personal information"),
    "annotation": ("标注规则", "Annotation rules"),
    "annotator_training_qa": ("标注人员培训与质量核验记录", "Annotator training and QA records"),
    "evidence": ("证据", "Evidence"),
    "licence": ("许可", "Licence"),
    "contract": ("上游合同（第三方许可来源）", "Upstream contracts (licensed third-party sources)"),
    "grant": ("本平台授权编号", "Grant on this marketplace"),
    "to_be_provided": ("待提供", "to be provided"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "model": ("模型", "Model"),
    "provider": ("提供者", "Provider"),
}
PD_STATUS = {"none": ("不包含", "no"), "anonymised": ("已匿名化", "anonymised"), "pseudonymised": ("已去标识化（假名化）", "pseudonymised"),
             "contains": ("包含", "yes")}
BASES = {"consent": ("个人同意", "consent"), "contract": ("合同履行所必需", "performance of a contract"), "legal_obligation": ("法定义务", "legal obligation"),
         "vital_interests": ("重大利益", "vital interests"), "public_task": ("公共任务", "public task"),
         "legitimate_interest": ("正当利益", "legitimate interest")}


def _t(key: str, lang: str) -> str:
    zh, en = CN_LABELS[key]
    return zh if lang == "zh" else en


@transactional
def cn_filing(principal: Principal, model_id: uuid.UUID, lang: str = "zh") -> dict[str, Any]:
    """The per-source evidence pack for a Chinese generative-AI filing, in Chinese or English."""
    model, licensed, declared = _evidence(principal, model_id)
    total = sum(g.bytes for g in licensed)
    tbp = _t("to_be_provided", lang)
    rows = []
    for g in licensed:
        body = g.declaration.body if g.declaration else {}
        pd = body.get("personal_data") or {}
        ann = body.get("annotation") or {}
        basis = (body.get("collection") or {}).get("lawful_basis")
        contracts = [f"{s['name']}: {s['contract_reference']}" for s, _, _ in g.lineage if s.get("contract_reference")]
        share = g.bytes / total if total and not declared else None
        rows.append({
            _t("source", lang): f"{g.dataset.title} {g.version.version}（{g.vendor.name}）" if lang == "zh" else f"{g.dataset.title} {g.version.version} ({g.vendor.name})",
            _t("legality", lang): {_t("licence", lang): f"{g.licence.identifier} v{g.licence.version}, SHA-256 {g.licence.text_sha256}",
                                   _t("grant", lang): str(g.grant.id), **({_t("contract", lang): contracts} if contracts else {})},
            _t("share", lang): f"{share:.2%}" if share is not None else tbp,
            _t("personal_information", lang): (PD_STATUS[pd["status"]][0 if lang == "zh" else 1]) if pd.get("status") else tbp,
            _t("consent_basis", lang): BASES[basis][0 if lang == "zh" else 1] if basis in BASES else tbp,
            _t("annotation", lang): ann.get("guidelines_url") or tbp,
            _t("annotator_training_qa", lang): "; ".join(x for x in (ann.get("workforce"), ann.get("qa_method"),
                                                                   f"QA {ann['qa_pass_rate']:.0%}" if ann.get("qa_pass_rate") is not None else None,
                                                                   f"IAA {ann['inter_annotator_agreement']}" if ann.get("inter_annotator_agreement") is not None else None) if x) or tbp,
            _t("evidence", lang): g.evidence(),
        })
    for i in declared:
        rows.append({_t("source", lang): i["name"], _t("legality", lang): tbp, _t("share", lang): tbp, _t("personal_information", lang): tbp,
                     _t("consent_basis", lang): tbp, _t("annotation", lang): tbp, _t("annotator_training_qa", lang): tbp, _t("evidence", lang): [_declared_ev(i)]})
    audit.record(principal, ComplianceAction.SUMMARY_GENERATE, subject_type="model", subject_id=model.id, subject_org_id=model.organization_id,
                 details={"document": f"cn-generative-ai-filing-{lang}"})
    return {"document": _t("document", lang), "basis": _t("basis", lang), "language": lang,
            "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            _t("model", lang): f"{model.name} {model.version}", _t("provider", lang): model.provider,
            "sources": rows}
