"""Overlap findings and what people do with them: the findings recorded at ingest, the
publishing threshold, notifications to earlier publishers, the version's report, appeals and
compliance decisions, "which datasets overlap with X", the duplicate rate, and overlap as
lineage. The index itself is `catalog.overlap.index`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import aliased

from catalog.actions import CatalogAction
from catalog.models import Dataset, DatasetVersion, VersionStatus, Visibility
from catalog.overlap import signing
from catalog.overlap.index import LIVE, Outcome
from catalog.overlap.models import OverlapFinding, OverlapRecord, OverlapReport, OverlapState
from catalog.policy import POLICY, CatalogPermission, can_read_private, require_dataset_writer
from marketplace.identity.models import Organization
from marketplace.kernel import audit
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import get_session, transactional, utcnow
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.notify import Topic, publish
from marketplace.kernel.principal import Principal
from marketplace.kernel.schemas import UNSAFE_TEXT

MAX_FIELDS = 64
LINEAGE_SHARE = 0.05  # undeclared overlap from which another dataset's licence binds as upstream
LINEAGE_RECORDS = 10
SYSTEM = Principal(request_id="ingest", ip=None)


def conclude(version: DatasetVersion, dataset: Dataset, out: Outcome, *, backfill: bool = False) -> str | None:
    """Record what indexing found on the version, inside the ingest job's final transaction.
    Returns the reason publishing is held, or None. On publication the earlier publishers of
    relisted records are told (an audit event and a notification, statistics only). With
    `backfill` (a version published before overlap detection) nothing is held or announced."""
    session = get_session()
    report = session.get(OverlapReport, version.id, with_for_update=True)
    if report is None:
        report = OverlapReport(version_id=version.id, state=OverlapState.clear.value)
        session.add(report)
    same_files = report.content_key == out.content_key  # an allowance or an appeal is for the files it was made for
    allowed = report.state == OverlapState.overridden.value and same_files
    report.records, report.duplicate_exact, report.duplicate_near = out.records, out.duplicate_exact, out.duplicate_near
    report.files, report.algorithm, report.computed_at, report.content_key = out.files, signing.ALGORITHM, utcnow(), out.content_key
    session.execute(delete(OverlapFinding).where(OverlapFinding.version_id == version.id))
    others = _others(session, list(out.others))
    totals = _record_counts(session, list(out.others))
    findings: list[OverlapFinding] = []
    for vid, t in out.others.items():
        o = others.get(vid)
        if o is None or not (t.exact + t.near):
            continue
        ov, ods = o
        f = OverlapFinding(version_id=version.id, dataset_id=dataset.id, other_version_id=vid, other_dataset_id=ods.id, other_org_id=ods.organization_id,
                           same_vendor=ods.organization_id == dataset.organization_id, other_earlier=True, records=out.records, exact=t.exact, near=t.near,
                           other_records=totals.get(vid, 0), other_matched=t.matched, share=(t.exact + t.near) / max(out.records, 1),
                           files={p: round(n / max(out.files.get(p, {}).get("signed", 0), 1), 4) for p, n in t.files.items()})
        session.add(f)
        findings.append(f)
    # The hold counts every record found in any other vendor's data (49 % from one and 49 %
    # from another is 98 % someone else's), and names the largest source.
    foreign = out.foreign / max(out.records, 1)
    worst = max((f for f in findings if not f.same_vendor), key=lambda f: f.share, default=None)
    if worst is not None and foreign >= current_settings().overlap_block_share and not allowed and not backfill:
        ov, ods = others[worst.other_version_id]
        report.state = OverlapState.appealed.value if report.state == OverlapState.appealed.value and same_files else OverlapState.blocked.value
        report.reason = (f"{foreign:.0%} of this version's records are copies or near copies of other vendors' published data"
                         f" (the most from {_public_name(ods, ov)}: {worst.share:.0%}). Publishing is held: if you hold the rights to this data,"
                         " appeal with your evidence; platform compliance decides.")
        audit.record(SYSTEM, CatalogAction.VERSION_OVERLAP_BLOCK, outcome="failure", subject_type="version", subject_id=version.id, subject_org_id=dataset.organization_id,
                     details={"share": round(foreign, 4), "largest_share": round(worst.share, 4), "threshold": current_settings().overlap_block_share})
        return report.reason
    if not allowed:
        report.state, report.reason = OverlapState.clear.value, None
    for f in findings:
        if f.same_vendor or backfill:
            continue
        ov, ods = others[f.other_version_id]
        stats = {"matched": f.other_matched, "records": f.other_records, "matched_percent": _percent(f.other_matched, f.other_records),
                 "share_percent": _percent(f.exact + f.near, f.records), "exact": f.exact, "near": f.near}
        audit.record(SYSTEM, CatalogAction.VERSION_OVERLAP_FOUND, subject_type="version", subject_id=ov.id, subject_org_id=ods.organization_id,
                     details={**stats, "finding_id": str(f.id)})
        publish(Topic.OVERLAP_FOUND, ods.organization_id, {"dataset_id": str(ods.id), "dataset_title": ods.title, "version_id": str(ov.id), "version": ov.version, **stats},
                dedupe=f"overlap:{version.id}:{ov.id}")
    return None


def _percent(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}" if d else "0"


def _others(session: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[DatasetVersion, Dataset]]:
    if not ids:
        return {}
    return {v.id: (v, d) for v, d in session.execute(select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id).where(DatasetVersion.id.in_(ids)))}


def _record_counts(session: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    return dict(session.execute(select(OverlapRecord.version_id, func.count()).where(OverlapRecord.version_id.in_(ids)).group_by(OverlapRecord.version_id)).all())


def shown(ds: Dataset, v: DatasetVersion) -> bool:
    """Whether another vendor's dataset may be named to a vendor: listed in the public catalogue
    with the version live. Not an unlisted one (its id is its private link), not a draft."""
    return ds.visibility == Visibility.listed.value and v.status in LIVE


def _public_name(ds: Dataset, v: DatasetVersion) -> str:
    """How a vendor is shown another vendor's dataset: by name when it is listed, else unnamed."""
    if shown(ds, v):
        return f"“{ds.title}” {v.version}"
    return "a dataset that is not public"


# ---------------------------------------------------------------------------------------------
# What vendors and compliance see and do.


def _version(principal: Principal, version_id: uuid.UUID, *, lock: bool = False) -> tuple[DatasetVersion, Dataset]:
    session = get_session()
    row = session.execute(select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                          .where(DatasetVersion.id == version_id).with_for_update(of=DatasetVersion) if lock else
                          select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id).where(DatasetVersion.id == version_id)).first()
    if row is None or not can_read_private(principal, row[1]):
        raise NotFound("No such version.")
    return row[0], row[1]


def version_overlap(principal: Principal, version_id: uuid.UUID) -> dict[str, Any]:
    """The version's overlap report and findings (the vendor's members and platform staff).
    Another vendor's dataset is named only when it is public, or to platform staff."""
    v, ds = _version(principal, version_id)
    session = get_session()
    report = session.get(OverlapReport, v.id)
    staff = POLICY.allows(principal, CatalogPermission.OVERLAP_SEARCH)
    rows = session.execute(select(OverlapFinding, DatasetVersion, Dataset, Organization.name).join(DatasetVersion, DatasetVersion.id == OverlapFinding.other_version_id)
                           .join(Dataset, Dataset.id == OverlapFinding.other_dataset_id).join(Organization, Organization.id == Dataset.organization_id)
                           .where(OverlapFinding.version_id == v.id).order_by(OverlapFinding.share.desc())).all()
    return {"version_id": v.id, "dataset_id": ds.id, **_report_view(report),
            "findings": [_finding_view(f, ov, ods, vendor, show=staff or f.same_vendor or shown(ods, ov))
                         for f, ov, ods, vendor in rows]}


def _report_view(report: OverlapReport | None) -> dict[str, Any]:
    if report is None:
        return {"state": None, "indexed": False, "text_fields": None, "records": 0, "duplicate_exact": 0, "duplicate_near": 0, "duplicate_rate": None,
                "files": {}, "reason": None, "appeal": None, "appealed_at": None, "decision_note": None, "decided_at": None, "computed_at": None}
    return {"state": report.state, "indexed": report.computed_at is not None, "text_fields": report.text_fields, "records": report.records,
            "duplicate_exact": report.duplicate_exact, "duplicate_near": report.duplicate_near,
            "duplicate_rate": round((report.duplicate_exact + report.duplicate_near) / report.records, 4) if report.records else None,
            "files": report.files or {}, "reason": report.reason, "appeal": report.appeal, "appealed_at": report.appealed_at,
            "decision_note": report.decision_note, "decided_at": report.decided_at, "computed_at": report.computed_at}


def _finding_view(f: OverlapFinding, ov: DatasetVersion, ods: Dataset, vendor: str, *, show: bool) -> dict[str, Any]:
    return {"other_vendor": vendor if show else None, "other_version_id": ov.id if show else None, "other_dataset_id": ods.id if show else None,
            "other_dataset_title": ods.title if show else None, "other_version": ov.version if show else None,
            "other_org_id": f.other_org_id if show else None, "same_vendor": f.same_vendor,
            "other_published_at": ov.published_at if show else None, "records": f.records, "exact": f.exact, "near": f.near,
            "exact_share": round(f.exact / f.records, 4) if f.records else 0.0, "near_share": round(f.near / f.records, 4) if f.records else 0.0,
            "share": round(f.share, 4), "other_records": f.other_records if show else None, "other_matched": f.other_matched if show else None,
            "other_share": (round(f.other_matched / f.other_records, 4) if f.other_records else 0.0) if show else None, "files": f.files or {}, "found_at": f.created_at}


@transactional
def set_text_fields(principal: Principal, version_id: uuid.UUID, *, text_fields: list[str] | None) -> dict[str, Any]:
    """Say which fields carry the text to compare (a draft version; None: every text-bearing field)."""
    v, ds = _version(principal, version_id, lock=True)
    require_dataset_writer(principal, ds, get_session().get_one(Organization, ds.organization_id))
    if v.status != VersionStatus.draft.value:
        raise Conflict(f"Text fields are chosen before publishing (this version is {v.status}).")
    fields = text_fields
    if fields is not None:
        fields = list(dict.fromkeys(f.strip() for f in fields if f.strip()))
        if not fields or len(fields) > MAX_FIELDS:
            raise ValidationFailed("Name between 1 and 64 fields, or none to take every text-bearing field.", errors={"fields": [f"Between 1 and {MAX_FIELDS} field names."]})
    session = get_session()
    report = session.get(OverlapReport, v.id)
    if report is None:
        report = OverlapReport(version_id=v.id, state=OverlapState.clear.value)
        session.add(report)
    report.text_fields = fields
    audit.record(principal, CatalogAction.VERSION_OVERLAP_FIELDS, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"fields": fields})
    session.flush()
    return version_overlap(principal, v.id)


@transactional
def appeal(principal: Principal, version_id: uuid.UUID, *, reason: str) -> dict[str, Any]:
    """The vendor asks platform compliance to let a held version publish, saying why."""
    v, ds = _version(principal, version_id, lock=True)
    require_dataset_writer(principal, ds, get_session().get_one(Organization, ds.organization_id))
    reason = (reason or "").strip()
    if not UNSAFE_TEXT.sub("", reason).strip():
        raise ValidationFailed("An appeal needs a reason.", errors={"reason": ["Say why you hold the rights to this data."]})
    report = get_session().get(OverlapReport, v.id)
    if report is None or report.state not in (OverlapState.blocked.value, OverlapState.appealed.value):
        raise Conflict("Only a version held for overlap can be appealed.")
    report.state, report.appeal, report.appealed_at = OverlapState.appealed.value, reason, utcnow()
    audit.record(principal, CatalogAction.VERSION_OVERLAP_APPEAL, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"reason": reason[:2000]})
    return version_overlap(principal, v.id)


@transactional
def decide(principal: Principal, version_id: uuid.UUID, *, allow: bool, note: str) -> dict[str, Any]:
    """Platform compliance lets a held version publish (its current files only) or keeps it held."""
    POLICY.require(principal, CatalogPermission.OVERLAP_DECIDE)
    v, ds = _version(principal, version_id, lock=True)
    note = (note or "").strip()
    if not UNSAFE_TEXT.sub("", note).strip():
        raise ValidationFailed("A decision needs a note.", errors={"note": ["Say why, for the vendor and the record."]})
    report = get_session().get(OverlapReport, v.id)
    if report is None or report.state not in (OverlapState.blocked.value, OverlapState.appealed.value):
        raise Conflict("Only a version held for overlap can be decided on (and only once until it is held again).")
    report.state = OverlapState.overridden.value if allow else OverlapState.blocked.value
    report.decision_note, report.decided_by, report.decided_at = note, principal.user_id, utcnow()
    audit.record(principal, CatalogAction.VERSION_OVERLAP_DECIDE, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 details={"allow": allow, "note": note[:2000], "content_key": report.content_key})
    return version_overlap(principal, v.id)


def dataset_overlaps(principal: Principal, dataset_id: uuid.UUID) -> dict[str, Any]:
    """Which datasets overlap with this one, both ways: its versions' records found elsewhere,
    and other versions found to hold its records. Platform staff see every party; the dataset's
    own vendor sees the statistics, and the other party only when it is public or its own."""
    session = get_session()
    ds = session.get(Dataset, dataset_id)
    staff = POLICY.allows(principal, CatalogPermission.OVERLAP_SEARCH)
    if ds is None or not (staff or can_read_private(principal, ds)):
        raise NotFound("No such dataset.")
    sub = aliased_versions()
    rows = session.execute(select(OverlapFinding, sub[0], sub[1], sub[2], sub[3])
                           .join(sub[0], sub[0].id == OverlapFinding.version_id).join(sub[1], sub[1].id == OverlapFinding.dataset_id)
                           .join(sub[2], sub[2].id == OverlapFinding.other_version_id).join(sub[3], sub[3].id == OverlapFinding.other_dataset_id)
                           .where(or_(OverlapFinding.dataset_id == ds.id, OverlapFinding.other_dataset_id == ds.id))
                           .order_by(OverlapFinding.share.desc()).limit(500)).all()
    out = []
    for f, v, d, ov, ods in rows:
        mine_is_subject = d.id == ds.id
        cv, cds = (ov, ods) if mine_is_subject else (v, d)
        if not (staff or mine_is_subject or cds.organization_id == ds.organization_id or v.status in LIVE):
            continue  # another vendor's version that was held, never published: none of this vendor's business
        show = staff or cds.organization_id == ds.organization_id or shown(cds, cv)
        out.append({"direction": "found_in_other" if mine_is_subject else "other_holds_this", "version_id": (v if mine_is_subject else ov).id,
                    "version": (v if mine_is_subject else ov).version, "counterpart_version_id": cv.id if show else None,
                    "counterpart_version": cv.version if show else None, "counterpart_dataset_id": cds.id if show else None,
                    "counterpart_dataset_title": cds.title if show else None, "counterpart_org_id": cds.organization_id if show else None,
                    "same_vendor": f.same_vendor, "records": f.records, "exact": f.exact, "near": f.near, "share": round(f.share, 4),
                    "other_records": f.other_records, "other_matched": f.other_matched, "found_at": f.created_at})
    return {"dataset_id": ds.id, "overlaps": out}


def held_versions(principal: Principal) -> list[dict[str, Any]]:
    """Versions held for overlap or appealed, oldest appeal first (platform staff)."""
    POLICY.require(principal, CatalogPermission.OVERLAP_SEARCH)
    rows = get_session().execute(select(OverlapReport, DatasetVersion, Dataset).join(DatasetVersion, DatasetVersion.id == OverlapReport.version_id)
                                 .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                                 .where(OverlapReport.state.in_([OverlapState.blocked.value, OverlapState.appealed.value]))
                                 .order_by(OverlapReport.state.desc(), OverlapReport.appealed_at, OverlapReport.updated_at).limit(200)).all()
    return [{"version_id": v.id, "version": v.version, "dataset_id": ds.id, "dataset_title": ds.title, "org_id": ds.organization_id, "state": r.state,
             "reason": r.reason, "appeal": r.appeal, "appealed_at": r.appealed_at, "records": r.records} for r, v, ds in rows]


def aliased_versions() -> tuple[Any, Any, Any, Any]:
    """A finding's two sides: (version, dataset) of the subject and of the other."""
    return aliased(DatasetVersion), aliased(Dataset), aliased(DatasetVersion), aliased(Dataset)


def duplicate_rate(version_id: uuid.UUID) -> dict[str, Any] | None:
    """The version's within-dataset duplicate figures (dataset page, Croissant, report), or None
    when it was not indexed."""
    report = get_session().get(OverlapReport, version_id)
    if report is None or report.computed_at is None or not report.records:
        return None  # not checked, or nothing with text to compare (media, numbers)
    return {"records": report.records, "exact": report.duplicate_exact, "near": report.duplicate_near,
            "rate": round((report.duplicate_exact + report.duplicate_near) / report.records, 4) if report.records else 0.0}


def undeclared_overlaps(version_id: uuid.UUID, declared: set[uuid.UUID]) -> list[dict[str, Any]]:
    """Other vendors' listed, published datasets this version holds records of that its lineage
    does not declare (for the licence-compatibility check). Only listed ones: the lineage is
    shown to anyone who may see this version, and a private dataset must not be named there
    (nor could its vendor poison others' licences unseen). Below LINEAGE_SHARE, or
    LINEAGE_RECORDS records, a few shared stock sentences would drag a stranger's licence in."""
    session = get_session()
    rows = session.execute(select(OverlapFinding.other_dataset_id, OverlapFinding.other_version_id, OverlapFinding.share)
                           .join(Dataset, Dataset.id == OverlapFinding.other_dataset_id).join(DatasetVersion, DatasetVersion.id == OverlapFinding.other_version_id)
                           .where(OverlapFinding.version_id == version_id, OverlapFinding.same_vendor.is_(False), OverlapFinding.share >= LINEAGE_SHARE,
                                  OverlapFinding.exact + OverlapFinding.near >= LINEAGE_RECORDS, Dataset.visibility == Visibility.listed.value,
                                  DatasetVersion.status.in_(LIVE))
                           .order_by(OverlapFinding.share.desc())).all()
    return [{"dataset_id": d, "version_id": v, "share": round(s, 4)} for d, v, s in rows if d not in declared]
