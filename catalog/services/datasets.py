"""Datasets, versions and files: create, change, publish, withdraw; manifests and previews.

A published version is immutable: its files, manifest and (later) licence never change, and any
attempt to edit them is refused with 409. Publishing hands the version to the ingest job, which
verifies every file server-side before anything becomes visible.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from catalog.actions import CatalogAction
from catalog.analysis import FORMATS, MEDIA_TYPES, format_for_path, media_facets
from catalog.cards import render_card
from catalog.models import Blob, BlobHolder, Dataset, DatasetFacet, DatasetVersion, DatasetViewDay, Domain, FileStatus, VersionFile, VersionStatus, Visibility, staging_key
from catalog.overlap import index as overlap_index
from catalog.paths import normalise_path
from catalog.policy import POLICY, CatalogPermission, can_read_private, can_see_version, require_dataset_visible, require_dataset_writer, require_vendor_writer
from catalog.services import access, search
from catalog.services.search import facets_of  # re-exported: callers read facets as datasets.facets_of
from catalog.storage import object_store
from marketplace.identity.models import Organization
from marketplace.kernel import audit, events
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import after_commit, count_up, get_session, transactional, utcnow
from marketplace.kernel.errors import Conflict, Gone, NotFound, ValidationFailed
from marketplace.kernel.jobs import job_queue
from marketplace.kernel.principal import Principal

MODALITIES = ("text", "audio", "image", "video", "tabular", "multimodal")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
BCP47_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-[A-Za-z0-9]{5,8})*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


storage = object_store  # the accessor the catalogue's services use
jobs = job_queue


# --------------------------------------------------------------------------- taxonomy


def list_domains() -> list[Domain]:
    return list(get_session().scalars(select(Domain).order_by(Domain.label)))


@transactional
def add_domain(principal: Principal, *, slug: str, label: str, description: str | None = None) -> Domain:
    """Extend the domain taxonomy (platform admin)."""
    POLICY.require(principal, CatalogPermission.DOMAIN_ADD)
    if not SLUG_RE.match(slug) or len(slug) > 32:
        raise ValidationFailed("Invalid domain slug.", errors={"slug": ["Lower-case letters, digits and hyphens, at most 32."]})
    if get_session().get(Domain, slug):
        raise Conflict("This domain exists already.", errors={"slug": ["Already exists."]})
    d = Domain(slug=slug, label=label, description=description)
    get_session().add(d)
    audit.record(principal, CatalogAction.CATALOG_DOMAIN_ADD, subject_type="domain", subject_id=slug)
    return d


# --------------------------------------------------------------------------- datasets


def normalise_language(tag: str) -> str:
    """Canonical BCP 47 casing: language lower, script title, region upper (en-GB, zh-Hant-TW)."""
    if not BCP47_RE.match(tag):
        raise ValueError(tag)
    out = []
    for i, part in enumerate(tag.split("-")):
        if i == 0:
            out.append(part.lower())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def check_facets(modalities: list[str] | None, languages: list[str] | None, tags: list[str] | None) -> dict[str, list[str]]:
    """Validate and normalise a dataset's modalities, BCP 47 languages and tags."""
    errors: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    if modalities is not None:
        bad = [m for m in modalities if m not in MODALITIES]
        if bad:
            errors["modalities"] = [f"Unknown modality: {m}. Use one of {', '.join(MODALITIES)}." for m in bad]
        out["modality"] = list(dict.fromkeys(modalities))
    if languages is not None:
        langs = []
        for tag in languages:
            try:
                langs.append(normalise_language(tag))
            except ValueError:
                errors.setdefault("languages", []).append(f"Not a BCP 47 language tag: {tag[:40]}")
        out["language"] = list(dict.fromkeys(langs))
    if tags is not None:
        clean = [t.strip().lower() for t in tags]
        if any(not t or len(t) > 64 for t in clean):
            errors["tags"] = ["Tags are 1 to 64 characters."]
        out["tag"] = list(dict.fromkeys(clean))
    if errors:
        raise ValidationFailed("Invalid dataset facets.", errors=errors)
    return out


def set_facets(dataset: Dataset, facets: dict[str, list[str]]) -> None:
    """Replace a dataset's facet rows (what filters and facet counts read)."""
    session = get_session()
    for kind, values in facets.items():
        session.execute(delete(DatasetFacet).where(DatasetFacet.dataset_id == dataset.id, DatasetFacet.kind == kind))
        for i, v in enumerate(values):
            session.add(DatasetFacet(dataset_id=dataset.id, kind=kind, value=v, position=i))


@transactional
def record_view(principal: Principal, dataset: Dataset) -> None:
    """Count a view of a dataset's page, unless the viewer belongs to its vendor (their own
    visits are not interest). Once per call; a day's count is one row, counted up in place."""
    if principal.role_in(dataset.organization_id) is not None:
        return
    count_up(DatasetViewDay, "views", dataset_id=dataset.id, day=utcnow().date())


def titles_of(dataset_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Titles for datasets the caller already holds a reference to (its grants, orders, offers)."""
    if not dataset_ids:
        return {}
    return dict(get_session().execute(select(Dataset.id, Dataset.title).where(Dataset.id.in_(dataset_ids))).all())


def refresh_search_text(dataset: Dataset, tags: list[str] | None = None) -> None:
    """Rebuild the denormalised text search matches (title weighted twice, summary, tags, card)."""
    if tags is None:
        tags = facets_of([dataset.id])[dataset.id]["tag"]
    dataset.search_text = "\n".join([dataset.title, dataset.title, dataset.summary, " ".join(tags), dataset.card_markdown])
    search.index_dataset(dataset)


def _check_domain(domain: str) -> None:
    if get_session().get(Domain, domain) is None:
        raise ValidationFailed("Unknown domain.", errors={"domain": [f"Unknown domain: {domain}. See GET /api/v1/domains."]})


@transactional
def create_dataset(principal: Principal, *, organization_id: uuid.UUID | None, slug: str, title: str, domain: str, summary: str = "",
                   card_markdown: str = "", modalities: list[str] | None = None, languages: list[str] | None = None,
                   tags: list[str] | None = None, visibility: str = "draft") -> Dataset:
    """A vendor lists a new dataset (no data yet: that comes with its first version)."""
    principal.require_authenticated()
    org_id = organization_id or principal.key_org_id
    if org_id is None:
        raise ValidationFailed("Say which organisation lists the dataset.", errors={"organization_id": ["Required when not using an API key."]})
    org = get_session().get(Organization, org_id)
    if org is None or principal.role_in(org_id) is None:
        raise NotFound("No such organisation.")
    require_vendor_writer(principal, org)
    if not SLUG_RE.match(slug):
        raise ValidationFailed("Invalid slug.", errors={"slug": ["Lower-case letters, digits and hyphens, at most 100."]})
    _check_domain(domain)
    facets = check_facets(modalities or [], languages or [], tags or [])
    session = get_session()
    if session.scalar(select(Dataset.id).where(Dataset.organization_id == org_id, Dataset.slug == slug)):
        raise Conflict("Your organisation already has a dataset with this slug.", errors={"slug": ["Already used."]})
    ds = Dataset(organization_id=org_id, slug=slug, title=title.strip(), summary=summary.strip(), card_markdown=card_markdown,
                 domain=domain, visibility=Visibility(visibility).value)
    session.add(ds)
    session.flush()
    set_facets(ds, facets)
    refresh_search_text(ds, facets["tag"])
    audit.record(principal, CatalogAction.DATASET_CREATE, subject_type="dataset", subject_id=ds.id, subject_org_id=org_id, actor_org_id=org_id)
    return ds


def _get_dataset(dataset_id: uuid.UUID) -> Dataset:
    ds = get_session().get(Dataset, dataset_id)
    if ds is None:
        raise NotFound("No such dataset.")
    return ds


def _org(org_id: uuid.UUID) -> Organization:
    return get_session().get_one(Organization, org_id)


@transactional
def update_dataset(principal: Principal, dataset_id: uuid.UUID, **changes: Any) -> Dataset:
    """Change a dataset's metadata. Its versions are not touched (published ones never are)."""
    ds = require_dataset_visible(principal, get_session().get(Dataset, dataset_id))
    require_dataset_writer(principal, ds, _org(ds.organization_id))
    if "domain" in changes:
        _check_domain(changes["domain"])
    facets = check_facets(changes.pop("modalities", None), changes.pop("languages", None), changes.pop("tags", None))
    before = {k: getattr(ds, k) for k in changes}
    for k, v in changes.items():
        setattr(ds, k, Visibility(v).value if k == "visibility" else v)
    set_facets(ds, facets)
    get_session().flush()
    refresh_search_text(ds, facets.get("tag"))
    audit.record(principal, CatalogAction.DATASET_UPDATE, subject_type="dataset", subject_id=ds.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"fields": sorted(set(changes) | set(facets)), "visibility": [before.get("visibility"), ds.visibility] if "visibility" in changes else None})
    return ds


def get_dataset(principal: Principal, dataset_id: uuid.UUID) -> Dataset:
    return require_dataset_visible(principal, get_session().get(Dataset, dataset_id))


def list_org_datasets(principal: Principal, org_id: uuid.UUID) -> list[Dataset]:
    """Everything a vendor lists, drafts included (members only)."""
    POLICY.require(principal, CatalogPermission.READ_PRIVATE, org=org_id)
    return list(get_session().scalars(select(Dataset).where(Dataset.organization_id == org_id).order_by(Dataset.created_at.desc())))


# --------------------------------------------------------------------------- versions


@transactional
def create_version(principal: Principal, dataset_id: uuid.UUID, *, version: str, changelog: str = "") -> DatasetVersion:
    ds = require_dataset_visible(principal, get_session().get(Dataset, dataset_id))
    require_dataset_writer(principal, ds, _org(ds.organization_id))
    if not VERSION_RE.match(version):
        raise ValidationFailed("Invalid version string.", errors={"version": ["Letters, digits and . _ + - (at most 64), e.g. 1.0.0 or 2026-11."]})
    session = get_session()
    if session.scalar(select(DatasetVersion.id).where(DatasetVersion.dataset_id == ds.id, DatasetVersion.version == version)):
        raise Conflict("This version exists already.", errors={"version": ["Already exists."]})
    v = DatasetVersion(dataset_id=ds.id, version=version, changelog=changelog)
    session.add(v)
    session.flush()
    audit.record(principal, CatalogAction.VERSION_CREATE, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 details={"dataset_id": str(ds.id), "version": version})
    return v


def _version_with_dataset(principal: Principal, version_id: uuid.UUID) -> tuple[DatasetVersion, Dataset]:
    v = get_session().get(DatasetVersion, version_id)
    if v is None:
        raise NotFound("No such version.")
    ds = _get_dataset(v.dataset_id)
    if not can_see_version(principal, ds, v):
        raise NotFound("No such version.")
    return v, ds


def _require_draft(v: DatasetVersion) -> None:
    if v.status != VersionStatus.draft.value:
        raise Conflict(f"Version {v.version} is {v.status}; a published version never changes — create a new version instead."
                       if v.status != VersionStatus.processing.value else f"Version {v.version} is being verified; wait for the ingest result.")


def writable_version(principal: Principal, version_id: uuid.UUID) -> tuple[DatasetVersion, Dataset]:
    """The version and its dataset, when the caller may change it and it is still a draft."""
    v, ds = _version_with_dataset(principal, version_id)
    require_dataset_writer(principal, ds, _org(ds.organization_id))
    _require_draft(v)
    return v, ds


def get_version(principal: Principal, version_id: uuid.UUID) -> tuple[DatasetVersion, Dataset]:
    return _version_with_dataset(principal, version_id)


def list_versions(principal: Principal, dataset_id: uuid.UUID) -> list[DatasetVersion]:
    ds = require_dataset_visible(principal, get_session().get(Dataset, dataset_id))
    q = select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id).order_by(DatasetVersion.created_at.desc())
    versions = list(get_session().scalars(q))
    return [v for v in versions if can_see_version(principal, ds, v)]


@transactional
def update_version(principal: Principal, version_id: uuid.UUID, *, changelog: str) -> DatasetVersion:
    v, ds = writable_version(principal, version_id)
    v.changelog = changelog
    audit.record(principal, CatalogAction.VERSION_UPDATE, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id)
    return v


# --------------------------------------------------------------------------- files


@transactional
def add_file(principal: Principal, version_id: uuid.UUID, *, path: str, size: int, sha256: str,
             media_type: str | None = None, format: str | None = None) -> tuple[VersionFile, bool]:
    """Declare a file of a draft version. Returns it and whether its bytes are already stored
    (this organisation has uploaded identical verified bytes before: nothing needs uploading)."""
    v, ds = writable_version(principal, version_id)
    errors: dict[str, list[str]] = {}
    try:
        path = normalise_path(path)
    except ValueError as e:
        errors["path"] = [str(e)]
    sha256 = (sha256 or "").lower()
    if not SHA256_RE.match(sha256):
        errors["sha256"] = ["64 lower-case hex digits."]
    if size < 0:
        errors["size"] = ["Must be zero or more."]
    fmt = format or format_for_path(path if "path" not in errors else "")
    if fmt not in FORMATS:
        errors["format"] = [f"One of {', '.join(FORMATS)}."]
    if errors:
        raise ValidationFailed("Invalid file declaration.", errors=errors)
    session = get_session()
    if session.scalar(select(VersionFile.id).where(VersionFile.version_id == v.id, VersionFile.path == path)):
        raise Conflict(f"The version already has a file at {path}.", errors={"path": ["Duplicate path."]})
    # Only bytes this organisation has itself uploaded count as stored: what other tenants hold
    # must change neither the answer nor its size check (see BlobHolder).
    held_size = session.scalar(select(Blob.size).join(BlobHolder, BlobHolder.sha256 == Blob.sha256)
                               .where(Blob.sha256 == sha256, BlobHolder.organization_id == ds.organization_id))
    if held_size is not None and held_size != size:
        raise ValidationFailed("Your organisation stores an object with this SHA-256 and a different size.",
                               errors={"size": [f"Your objects with this digest are {held_size} bytes."]})
    stored = held_size is not None
    f = VersionFile(version_id=v.id, path=path, size=size, sha256=sha256, media_type=media_type or MEDIA_TYPES[fmt], format=fmt,
                    status=FileStatus.uploaded.value if stored else FileStatus.pending.value)
    session.add(f)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"The version already has a file at {path}.", errors={"path": ["Duplicate path."]}) from None
    audit.record(principal, CatalogAction.VERSION_FILE_ADD, subject_type="file", subject_id=f.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 quantities={"bytes": size}, details={"version_id": str(v.id), "path": path, "sha256": sha256, "deduplicated": stored})
    return f, stored


class SamplesWithheld:
    """A file as read by a caller who may not see the dataset's samples (the vendor gated them):
    no sample records, and no column statistics either, since they are computed from the sample."""

    preview = None
    stats = None

    def __init__(self, file: VersionFile):
        self._file = file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def list_files(principal: Principal, version_id: uuid.UUID) -> list[Any]:
    """The version's files; samples and their statistics only for those who may see samples."""
    v, ds = _version_with_dataset(principal, version_id)
    files = list(get_session().scalars(select(VersionFile).where(VersionFile.version_id == v.id).order_by(VersionFile.path)))
    return files if access.may_see_samples(principal, ds) else [SamplesWithheld(f) for f in files]


def file_for(principal: Principal, file_id: uuid.UUID, *, write: bool) -> tuple[VersionFile, DatasetVersion, Dataset]:
    f = get_session().get(VersionFile, file_id)
    if f is None:
        raise NotFound("No such file.")
    if write:
        v, ds = writable_version(principal, f.version_id)
    else:
        v, ds = _version_with_dataset(principal, f.version_id)
    return f, v, ds


@transactional
def delete_file(principal: Principal, version_id: uuid.UUID, file_id: uuid.UUID) -> None:
    """Remove a file from a draft; its open upload and staged bytes go too (after commit)."""
    f, v, ds = file_for(principal, file_id, write=True)
    if v.id != version_id:
        raise NotFound("No such file.")
    upload_id, key = f.upload_id, staging_key(f.id)
    get_session().delete(f)
    audit.record(principal, CatalogAction.VERSION_FILE_DELETE, subject_type="file", subject_id=file_id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 details={"path": f.path})
    store = storage()
    if upload_id:
        after_commit(lambda: store.abort_multipart_upload(key, upload_id))
    after_commit(lambda: store.delete(key))


# --------------------------------------------------------------------------- lifecycle


@transactional
def request_publish(principal: Principal, version_id: uuid.UUID) -> DatasetVersion:
    """Hand a draft to ingest. Every file must have its bytes; verification happens in the job.

    Asking again while the version is processing re-sends the (idempotent) job: the remedy when
    a queue was down at the first request."""
    v, ds = _version_with_dataset(principal, version_id)
    require_dataset_writer(principal, ds, _org(ds.organization_id))
    if v.status == VersionStatus.processing.value:
        queue = jobs()
        after_commit(lambda: queue.enqueue("catalog.ingest_version", version_id=str(v.id)))
        return v
    _require_draft(v)
    files = list(get_session().scalars(select(VersionFile).where(VersionFile.version_id == v.id).order_by(VersionFile.path)))
    if not files:
        raise ValidationFailed("A version needs at least one file.", errors={"files": ["Add and upload files first."]})
    missing = [f.path for f in files if f.status in (FileStatus.pending.value, FileStatus.uploading.value, FileStatus.failed.value)]
    if missing:
        raise Conflict("Some files have no uploaded bytes yet.", errors={"files": [f"Not uploaded: {p}" for p in missing[:50]]})
    # Other domains may refuse (licensing: a licence and a provenance declaration are required,
    # and the licence must be one the lineage allows).
    events.emit(events.VERSION_PUBLISHING, principal=principal, version_id=v.id)
    v.status = VersionStatus.processing.value
    v.status_reason = None
    audit.record(principal, CatalogAction.VERSION_PUBLISH_REQUEST, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id)
    queue = jobs()
    after_commit(lambda: queue.enqueue("catalog.ingest_version", version_id=str(v.id)))
    return v


def publish(principal: Principal, version_id: uuid.UUID) -> DatasetVersion:
    """Request publication and answer with the version as the ingest left it: with inline jobs
    the ingest runs once the request commits, so the answer is read after it (a second, read-only
    transaction); with a worker the version is still `processing` and the client polls."""
    v = request_publish(principal, version_id)
    return get_version(principal, v.id)[0]


def dataset_views(datasets: list[Dataset]) -> list[dict[str, Any]]:
    """Datasets as the API shows them: their columns, their facets (one query for all of them,
    not one per dataset) and the card rendered from Markdown."""
    facets = facets_of([d.id for d in datasets])
    out = []
    for ds in datasets:
        f = facets[ds.id]
        row = {c: getattr(ds, c) for c in ("id", "organization_id", "slug", "title", "summary", "card_markdown", "domain", "visibility", "total_bytes",
                                            "total_records", "latest_version_id", "published_at", "created_at", "updated_at", "min_price_minor",
                                            "price_currency", "price_unit", "license_use_class", "media")}
        row.update(modalities=f["modality"], languages=f["language"], tags=f["tag"], card_html=render_card(ds.card_markdown))
        out.append(row)
    return out


def org_dataset_views(principal: Principal, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """Everything a vendor lists, drafts included, as the API shows it."""
    return dataset_views(list_org_datasets(principal, org_id))


def dataset_view(principal: Principal, dataset_id: uuid.UUID) -> dict[str, Any]:
    return dataset_views([get_dataset(principal, dataset_id)])[0]


def create_dataset_view(principal: Principal, **fields: Any) -> dict[str, Any]:
    return dataset_views([create_dataset(principal, **fields)])[0]


def update_dataset_view(principal: Principal, dataset_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return dataset_views([update_dataset(principal, dataset_id, **fields)])[0]


@transactional
def deprecate_version(principal: Principal, version_id: uuid.UUID, *, reason: str | None = None) -> DatasetVersion:
    v, ds = _version_with_dataset(principal, version_id)
    require_dataset_writer(principal, ds, _org(ds.organization_id))
    if v.status != VersionStatus.published.value:
        raise Conflict(f"Only a published version can be deprecated (this one is {v.status}).")
    v.status = VersionStatus.deprecated.value
    v.status_reason = reason
    audit.record(principal, CatalogAction.VERSION_DEPRECATE, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id, details={"reason": reason})
    return v


@transactional
def withdraw_version(principal: Principal, version_id: uuid.UUID, *, reason: str) -> DatasetVersion:
    """Withdraw a published (or deprecated) version: no new downloads; holders are told."""
    v, ds = _version_with_dataset(principal, version_id)
    require_dataset_writer(principal, ds, _org(ds.organization_id), CatalogPermission.WITHDRAW)
    if not reason or not reason.strip():
        raise ValidationFailed("Withdrawal needs a reason.", errors={"reason": ["Say why the version is withdrawn."]})
    if v.status not in (VersionStatus.published.value, VersionStatus.deprecated.value):
        raise Conflict(f"Only a published or deprecated version can be withdrawn (this one is {v.status}).")
    v.status = VersionStatus.withdrawn.value
    v.status_reason = reason.strip()
    v.withdrawn_at = utcnow()
    overlap_index.remove_rows(v.id)  # its records no longer count as published data
    audit.record(principal, CatalogAction.VERSION_WITHDRAW, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id, details={"reason": v.status_reason})
    events.emit(events.VERSION_WITHDRAWN, principal=principal, version=v, dataset=ds, reason=v.status_reason)
    refresh_latest(ds)
    return v


def refresh_latest(ds: Dataset) -> None:
    """Point the dataset at its newest published version (search shows its size and date)."""
    session = get_session()
    previous = ds.latest_version_id
    latest = session.scalar(
        select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id, DatasetVersion.status.in_([VersionStatus.published.value, VersionStatus.deprecated.value]))
        .order_by(DatasetVersion.published_at.desc()).limit(1)
    )
    ds.latest_version_id = latest.id if latest else None
    ds.total_bytes = latest.total_bytes if latest else None
    ds.total_records = latest.total_records if latest else None
    ds.media = latest.media if latest else None
    ds.media_ms = (latest.media or {}).get("media_ms") if latest else None
    set_facets(ds, media_facets(ds.media))
    if latest and ds.published_at is None:
        ds.published_at = latest.published_at
    if latest is None:
        ds.published_at = None
    events.emit(events.DATASET_LATEST_CHANGED, dataset=ds, version_id=ds.latest_version_id, previous_version_id=previous)
    search.index_dataset(ds)


# --------------------------------------------------------------------------- manifest and preview


def manifest_entries(files: list[VersionFile]) -> list[dict[str, Any]]:
    """The manifest's entries: each file, and for a CSV or JSONL file its Parquet table (what
    Delta Sharing serves), so the root digest covers those bytes too. A media file carries its
    measured figures, a tar shard the list of its members (each measured when it is media)."""
    return [{"path": f.path, "size": f.size, "sha256": f.sha256, "records": f.records, "format": f.format,
             **({"table": {"sha256": f.table_sha256, "size": f.table_size, "format": "parquet"}}
                if f.table_sha256 is not None and f.table_sha256 != f.sha256 and f.table_listed else {}),
             **_media_entry(f.stats)}
            for f in sorted(files, key=lambda f: f.path)]


def _media_entry(stats: dict[str, Any] | None) -> dict[str, Any]:
    # Only measurements that name their kind: files published before media were measured keep
    # their entries (and so their root digests) as they were.
    if not stats or "kind" not in stats:
        return {}
    if stats["kind"] == "shard":
        return {"members": stats.get("member_list") or []}
    return {"media": {k: v for k, v in stats.items() if k != "duration_seconds"}}


def canonical_manifest(entries: list[dict[str, Any]]) -> bytes:
    """The bytes the root digest is taken over: sorted keys, no whitespace, UTF-8."""
    return json.dumps({"files": entries}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def root_digest(entries: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical_manifest(entries)).hexdigest()


def get_manifest(principal: Principal, version_id: uuid.UUID) -> tuple[DatasetVersion, Dataset, list[dict[str, Any]]]:
    v, ds = _version_with_dataset(principal, version_id)
    if v.manifest_digest is None:
        raise Conflict("The version has no manifest until it is published.")
    files = list(get_session().scalars(select(VersionFile).where(VersionFile.version_id == v.id)))
    return v, ds, manifest_entries(files)


def get_preview(principal: Principal, file_id: uuid.UUID) -> VersionFile:
    f, v, ds = file_for(principal, file_id, write=False)
    if v.status == VersionStatus.withdrawn.value and not can_read_private(principal, ds):
        raise Gone("This version was withdrawn.")
    access.require_samples(principal, ds)
    return f


def preview_view(f: VersionFile) -> dict[str, Any]:
    """A file's preview as the API shows it: the sample records and, for media, the clip,
    thumbnail or poster frame at a short-lived URL of the object store (none once hidden)."""
    p = f.preview or {"records": [], "redacted": False, "hidden": False}
    out = {"file_id": f.id, "path": f.path, "format": f.format, "schema": f.schema, "records": p.get("records", []), "redacted": p.get("redacted", False),
           "hidden": p.get("hidden", False), "media": None}
    m = p.get("media")
    if m and not out["hidden"]:
        ttl = current_settings().presign_ttl_seconds
        out["media"] = {"kind": m["kind"], "content_type": m["content_type"], "size": m["size"], "seconds": m.get("seconds"),
                        "url": storage().presign_get(m["key"], ttl=ttl), "expires_in": ttl}
    return out


@transactional
def redact_preview(principal: Principal, file_id: uuid.UUID, *, drop_fields: list[str], drop_records: list[int], hide: bool) -> VersionFile:
    """Vendors may redact the sample shown to buyers (it is theirs to show, even once published:
    the preview is not part of the manifest)."""
    f = get_session().get(VersionFile, file_id)
    if f is None:
        raise NotFound("No such file.")
    v, ds = _version_with_dataset(principal, f.version_id)
    require_dataset_writer(principal, ds, _org(ds.organization_id))
    if f.preview is None:
        raise Conflict("This file has no preview (yet).")
    records = list(f.preview.get("records") or [])
    if any(i < 0 or i >= len(records) for i in drop_records):
        raise ValidationFailed("Record index out of range.", errors={"drop_records": [f"Indexes run from 0 to {len(records) - 1}."]})
    kept = [r for i, r in enumerate(records) if i not in set(drop_records)]
    if drop_fields:
        kept = [{k: ("[redacted]" if k in drop_fields else val) for k, val in r.items()} if isinstance(r, dict) else r for r in kept]
    f.preview = {"records": [] if hide else kept, "redacted": True, "hidden": hide}
    # Column statistics come from the same sample: a dropped field's (or a hidden sample's) go too.
    if f.stats:
        f.stats = None if hide else {k: v for k, v in f.stats.items() if k not in set(drop_fields)}
    audit.record(principal, CatalogAction.FILE_PREVIEW_REDACT, subject_type="file", subject_id=f.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 details={"drop_fields": drop_fields, "dropped": len(drop_records), "hidden": hide})
    return f
