"""Catalogue rows: domains, datasets, versions, files and blobs; and `published_version`, a
published version whose files' bytes are in the object store, as publishing over the API leaves it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import factory
from sqlalchemy import select

from catalog.analysis import MEDIA_TYPES, format_for_path, media_ms
from catalog.models import Blob, BlobHolder, Dataset, DatasetVersion, Domain, FileStatus, VersionFile, VersionStatus, Visibility, blob_key
from catalog.paths import normalise_path
from catalog.services import datasets as catalog_services
from catalog.services.ingest import analyse_object, as_table, check_segments, table_report, version_totals
from catalog.storage import object_store
from catalog.tables import TableFile
from licensing.models import License, ProvenanceDeclaration
from marketplace.identity.models import Organization, User
from marketplace.kernel.db import get_session, utcnow
from tests.factories.base import RowFactory, batch, commit
from tests.factories.identity import OrganizationFactory, unique
from tests.factories.licensing import ProvenanceDeclarationFactory, VersionLicenseFactory, standard_license

# The files of the catalogue helpers' default dataset (tests/commerce/helpers.py offer_for).
DEFAULT_FILES = {"part-0.jsonl": b'{"x": 1}\n' * 10}


class DomainFactory(RowFactory):
    """A domain of the taxonomy (the migrations seed the default ones, `healthcare` among them)."""

    class Meta:
        model = Domain
        sqlalchemy_get_or_create = ("slug",)

    slug = factory.LazyFunction(lambda: unique("domain"))
    label = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    description = None


class DatasetFactory(RowFactory):
    """A dataset of an approved vendor, as create_dataset makes it: facets checked and
    normalised, search text and full-text index written. Listed, but (like any dataset) seen by
    the public only once a version is published: see `published_version`."""

    class Meta:
        model = Dataset
        exclude = ("organization",)

    _extras = ("modalities", "languages", "tags")

    organization = factory.SubFactory(OrganizationFactory, vendor=True)
    organization_id = factory.SelfAttribute("organization.id")
    slug = factory.LazyFunction(lambda: unique("ds"))
    title = "Clinical dialogue corpus"
    summary = "Doctor-patient conversations"
    card_markdown = ""
    domain = "healthcare"
    visibility = Visibility.listed.value
    modalities = factory.LazyFunction(lambda: ["text"])
    languages = factory.LazyFunction(lambda: ["en"])
    tags = factory.LazyFunction(lambda: ["medical"])

    @classmethod
    def _complete(cls, ds: Dataset, modalities: list[str] | None = None, languages: list[str] | None = None, tags: list[str] | None = None, **_: Any) -> None:
        facets = catalog_services.check_facets(modalities or [], languages or [], tags or [])
        catalog_services.set_facets(ds, facets)
        get_session().flush()
        catalog_services.refresh_search_text(ds, facets["tag"])
        commit()


class DatasetVersionFactory(RowFactory):
    """A draft version (publish it with `publish_version`, or build it with `published_version`)."""

    class Meta:
        model = DatasetVersion
        exclude = ("dataset",)

    dataset = factory.SubFactory(DatasetFactory)
    dataset_id = factory.SelfAttribute("dataset.id")
    version = "1.0.0"
    changelog = "First release"
    status = VersionStatus.draft.value


class VersionFileFactory(RowFactory):
    """A declared file of a version: size and digest are those of `content`, which is not
    stored (the file awaits its bytes). For verified files with their bytes in the store:
    StoredFileFactory."""

    class Meta:
        model = VersionFile
        exclude = ("version",)

    _extras = ("content",)

    version = factory.SubFactory(DatasetVersionFactory)
    version_id = factory.SelfAttribute("version.id")
    path = factory.Sequence(lambda n: f"part-{n}.jsonl")
    content = b'{"x": 1}\n'
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    format = factory.LazyAttribute(lambda o: format_for_path(o.path))
    media_type = factory.LazyAttribute(lambda o: MEDIA_TYPES[o.format])
    status = FileStatus.pending.value

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> VersionFile:
        kwargs["path"] = normalise_path(kwargs["path"])
        return super()._create(model_class, *args, **kwargs)


class BlobFactory(RowFactory):
    """A verified object's row (the bytes themselves: StoredFileFactory puts them in the store)."""

    class Meta:
        model = Blob
        sqlalchemy_get_or_create = ("sha256",)
        exclude = ("content",)

    content = b'{"x": 1}\n'
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    size = factory.LazyAttribute(lambda o: len(o.content))


class BlobHolderFactory(RowFactory):
    """An organisation that holds a blob (uploaded its bytes itself)."""

    class Meta:
        model = BlobHolder
        sqlalchemy_get_or_create = ("sha256", "organization_id")
        exclude = ("blob", "organization")

    blob = factory.SubFactory(BlobFactory)
    organization = factory.SubFactory(OrganizationFactory, vendor=True)
    sha256 = factory.SelfAttribute("blob.sha256")
    organization_id = factory.SelfAttribute("organization.id")


class StoredFileFactory(VersionFileFactory):
    """A verified file, as ingest leaves it: its bytes in the object store at their content
    address, records, schema, statistics and preview from the ingest's own analysis, and the blob
    held by the version's organisation."""

    status = FileStatus.verified.value

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> VersionFile:
        content: bytes = kwargs["content"]
        if (hashlib.sha256(content).hexdigest(), len(content)) != (kwargs["sha256"], kwargs["size"]):
            raise ValueError(f"{kwargs['path']}: a verified file's size and digest are its content's")  # never store bytes under another address
        key = blob_key(kwargs["sha256"])
        object_store().put(key, content)
        a = analyse_object(key, kwargs["format"], kwargs["size"])
        if a.problems:
            raise ValueError(f"{kwargs['path']}: ingest would refuse it: {a.problems}")
        kwargs.update(records=a.records, schema=a.schema, stats=a.stats, media_ms=media_ms(a.stats),
                      preview={"records": a.preview or [], "redacted": False, "hidden": False} if a.preview is not None else None)
        table = as_table(kwargs["format"], a)
        if isinstance(table, TableFile):
            kwargs.update(table_sha256=table.sha256, table_size=table.size, table_records=table.records, table_schema=table.schema)
            if table.sha256 != a.sha256:  # ingest records the Parquet rendering as a blob too
                BlobFactory(sha256=table.sha256, size=table.size)
        session = get_session()
        org = session.get(Organization, session.scalar(
            select(Dataset.organization_id).join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
            .where(DatasetVersion.id == kwargs["version_id"])))
        BlobHolderFactory(blob=BlobFactory(sha256=a.sha256, size=a.size), organization=org)
        row = super()._create(model_class, *args, **kwargs)
        row.ingest_table = table  # what ingest's report says of it (see publish_version)
        return row


@dataclass
class Published:
    """What `published_version` made."""

    dataset: Dataset
    version: DatasetVersion
    files: list[VersionFile]
    license: License
    declaration: ProvenanceDeclaration
    by_path: dict[str, VersionFile] = field(init=False)

    def __post_init__(self) -> None:
        self.by_path = {f.path: f for f in self.files}


def publish_version(version: DatasetVersion, files: list[VersionFile]) -> None:
    """Ingest's last step, on rows: every file verified (StoredFileFactory), the manifest digest
    and totals, the version published, and the dataset pointed at its latest version (sizes,
    licence use class, search index), by the catalogue's own function."""
    session = get_session()
    segments = check_segments(files, {f.path: f.stats for f in files}, {f.path: blob_key(f.sha256) for f in files})
    if segments.problems:
        raise ValueError(f"ingest would refuse the segment manifests: {segments.problems}")
    for f in files:
        if f.path in segments.counts:
            f.records = segments.counts[f.path]
    version_totals(version, files, segments.figures)
    version.status = VersionStatus.published.value
    version.status_reason = None
    version.published_at = utcnow()
    version.ingest_report = {"checked_at": version.published_at.isoformat(), "files": {f.path: {"status": "ok", "records": f.records, **table_report(getattr(f, "ingest_table", None))}
                                                                                          for f in files}}
    session.flush()
    catalog_services.refresh_latest(session.get(Dataset, version.dataset_id))
    commit()


def published_version(files: dict[str, bytes] | None = None, *, dataset: Dataset | None = None, organization: Organization | None = None,
                      version: str = "1.0.0", license: str | License = "CC-BY-4.0", provenance: dict[str, Any] | None = None,
                      attested_by: User | None = None, **dataset_fields: Any) -> Published:
    """A published version of a (new, unless `dataset` is given) dataset of `organization` (a
    new approved vendor unless given), with `files` ({path: bytes}) verified and stored, under
    `license` (a standard identifier or a License row), with an attested first-hand provenance
    declaration unless `provenance` (a request body) says otherwise: what the catalogue helpers'
    `published_dataset` makes over HTTP, without HTTP."""
    with batch():
        if dataset is None:
            dataset = DatasetFactory(**dataset_fields, **({"organization": organization} if organization is not None else {}))
        v = DatasetVersionFactory(dataset=dataset, version=version)
        rows = [StoredFileFactory(version=v, path=path, content=data) for path, data in (files if files is not None else DEFAULT_FILES).items()]
        lic = license if isinstance(license, License) else standard_license(license)
        VersionLicenseFactory(version=v, license=lic)
        decl = ProvenanceDeclarationFactory(version=v, **({"declared": provenance} if provenance is not None else {}),
                                            **({"user": attested_by} if attested_by is not None else {}))
        publish_version(v, rows)
        return Published(dataset=dataset, version=v, files=sorted(rows, key=lambda f: f.path), license=lic, declaration=decl)
