"""Marshmallow schemas of the catalogue API."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from catalog.analysis import FORMATS, HOURS_FACETS, RESOLUTION_FACETS, SAMPLE_RATE_FACETS, SPEAKER_FACETS
from catalog.models import FileStatus, VersionStatus, Visibility
from catalog.services.search import MAX_LIMIT, SORTS
from catalog.storage.base import CRC32_RE
from marketplace.kernel.schemas import Flag, Int, Name, StrictSchema, Text


class DomainSchema(ma.Schema):
    slug = ma.fields.String()
    label = ma.fields.String()
    description = ma.fields.String(allow_none=True)


class DomainCreateSchema(StrictSchema):
    slug = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    label = Text(100, required=True)
    description = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


_tags: dict[str, Any] = dict(validate=validate.Length(max=50))


class DatasetCreateSchema(StrictSchema):
    organization_id = ma.fields.UUID(load_default=None, allow_none=True, metadata={"description": "The vendor organisation (default: the API key's)"})
    slug = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = Name(200, required=True)
    summary = ma.fields.String(load_default="", validate=validate.Length(max=1000))
    card_markdown = ma.fields.String(load_default="", validate=validate.Length(max=200_000))
    domain = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    modalities = ma.fields.List(ma.fields.String(validate=validate.Length(max=16)), load_default=list, validate=validate.Length(max=6))
    languages = ma.fields.List(ma.fields.String(validate=validate.Length(max=35)), load_default=list, **_tags)
    tags = ma.fields.List(ma.fields.String(validate=validate.Length(max=64)), load_default=list, **_tags)
    visibility = ma.fields.String(load_default="draft", validate=validate.OneOf([v.value for v in Visibility]))


class DatasetUpdateSchema(StrictSchema):
    title = Name(200)
    summary = ma.fields.String(validate=validate.Length(max=1000))
    card_markdown = ma.fields.String(validate=validate.Length(max=200_000))
    domain = ma.fields.String(validate=validate.Length(min=1, max=32))
    modalities = ma.fields.List(ma.fields.String(validate=validate.Length(max=16)), validate=validate.Length(max=6))
    languages = ma.fields.List(ma.fields.String(validate=validate.Length(max=35)), **_tags)
    tags = ma.fields.List(ma.fields.String(validate=validate.Length(max=64)), **_tags)
    visibility = ma.fields.String(validate=validate.OneOf([v.value for v in Visibility]))


class VendorRefSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()


class DatasetSchema(ma.Schema):
    id = ma.fields.UUID()
    organization_id = ma.fields.UUID()
    slug = ma.fields.String()
    title = ma.fields.String()
    summary = ma.fields.String()
    card_markdown = ma.fields.String()
    card_html = ma.fields.String(metadata={"description": "The card rendered from Markdown and sanitised"})
    domain = ma.fields.String()
    modalities = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    tags = ma.fields.List(ma.fields.String())
    visibility = ma.fields.String()
    total_bytes = Int(allow_none=True)
    total_records = Int(allow_none=True)
    latest_version_id = ma.fields.UUID(allow_none=True)
    published_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    min_price_minor = Int(allow_none=True)
    price_currency = ma.fields.String(allow_none=True)
    price_unit = ma.fields.String(allow_none=True, metadata={"description": "What min_price_minor buys one of: records, gib, downloads, term or hours"})
    license_use_class = ma.fields.String(allow_none=True)
    media = ma.fields.Dict(allow_none=True, metadata={"description": "The latest version's media figures (see the version's `media`)"})


class SearchItemSchema(ma.Schema):
    id = ma.fields.UUID()
    slug = ma.fields.String()
    title = ma.fields.String()
    summary = ma.fields.String()
    domain = ma.fields.String()
    modalities = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    tags = ma.fields.List(ma.fields.String())
    vendor = ma.fields.Nested(VendorRefSchema)
    total_bytes = Int(allow_none=True)
    total_records = Int(allow_none=True)
    min_price_minor = Int(allow_none=True)
    price_currency = ma.fields.String(allow_none=True)
    price_unit = ma.fields.String(allow_none=True, metadata={"description": "What min_price_minor buys one of: records, gib, downloads, term or hours"})
    license_use_class = ma.fields.String(allow_none=True)
    published_at = ma.fields.DateTime(allow_none=True)
    latest_version_id = ma.fields.UUID(allow_none=True)
    media_ms = Int(allow_none=True, metadata={"description": "Milliseconds of audio and video in the latest version, measured at ingest"})


class FacetValueSchema(ma.Schema):
    value = ma.fields.String()
    label = ma.fields.String()
    count = Int()


class PrecomputedFacets(ma.fields.Dict):
    """Facet counts as the search service builds them (plain strings and integers, cached per
    catalogue generation): passed through as they are rather than re-serialised value by value,
    which cost more than the search itself. The declared shape still documents the API."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value


class SearchResultSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SearchItemSchema))
    total = Int()
    facets = PrecomputedFacets(keys=ma.fields.String(), values=ma.fields.List(ma.fields.Nested(FacetValueSchema)))
    next_cursor = ma.fields.String(allow_none=True)
    match = ma.fields.String(metadata={"description": '"all": every word matched; "any": no dataset matched them all, so any of them'})
    suggestion = ma.fields.String(allow_none=True, metadata={"description": "When nothing matched, not even corrected: the closest query the catalogue knows"})
    corrected_to = ma.fields.String(allow_none=True, metadata={"description": "The typed query found nothing; these results are for this spelling"})


class SearchQuerySchema(StrictSchema):
    q = ma.fields.String(validate=validate.Length(max=500))
    domain = ma.fields.List(ma.fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=20))
    modality = ma.fields.List(ma.fields.String(validate=validate.Length(max=16)), validate=validate.Length(max=6))
    language = ma.fields.List(ma.fields.String(validate=validate.Length(max=35)), validate=validate.Length(max=20))
    tag = ma.fields.List(ma.fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=20))
    vendor = ma.fields.List(ma.fields.UUID(), validate=validate.Length(max=20))
    license_class = ma.fields.List(ma.fields.String(validate=validate.OneOf(["academic-only", "non-commercial", "unspecified", "commercial"])), validate=validate.Length(max=4))
    size_min = Int(validate=validate.Range(min=0))
    size_max = Int(validate=validate.Range(min=0))
    price_min = Int(validate=validate.Range(min=0))
    price_max = Int(validate=validate.Range(min=0))
    currency = ma.fields.String(validate=validate.Regexp(r"^[A-Za-z]{3}$"))
    sample_rate = ma.fields.List(ma.fields.String(validate=validate.OneOf([v for v, _ in SAMPLE_RATE_FACETS])), validate=validate.Length(max=3),
                                 metadata={"description": "Every recording at least this sample rate"})
    resolution = ma.fields.List(ma.fields.String(validate=validate.OneOf([v for v, _ in RESOLUTION_FACETS])), validate=validate.Length(max=3),
                                metadata={"description": "Every image or video at least this many lines"})
    hours = ma.fields.List(ma.fields.String(validate=validate.OneOf([v for v, _ in HOURS_FACETS])), validate=validate.Length(max=5),
                           metadata={"description": "Hours of audio and video, measured at ingest"})
    speakers = ma.fields.List(ma.fields.String(validate=validate.OneOf([v for v, _ in SPEAKER_FACETS])), validate=validate.Length(max=4),
                              metadata={"description": "Speakers named in the version's segment manifest"})
    sort = ma.fields.String(load_default="relevance", validate=validate.OneOf(SORTS))
    cursor = ma.fields.String(validate=validate.Length(max=2000))
    limit = Int(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))


class VersionCreateSchema(StrictSchema):
    version = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    changelog = ma.fields.String(load_default="", validate=validate.Length(max=100_000))


class VersionUpdateSchema(StrictSchema):
    changelog = ma.fields.String(required=True, validate=validate.Length(max=100_000))


class ReasonSchema(StrictSchema):
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class WithdrawSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class VersionSchema(ma.Schema):
    id = ma.fields.UUID()
    dataset_id = ma.fields.UUID()
    version = ma.fields.String()
    changelog = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in VersionStatus]})
    status_reason = ma.fields.String(allow_none=True)
    ingest_report = ma.fields.Dict(allow_none=True)
    manifest_digest = ma.fields.String(allow_none=True)
    total_bytes = Int(allow_none=True)
    total_records = Int(allow_none=True)
    media = ma.fields.Dict(allow_none=True, metadata={"description": "Media figures (catalog.analysis.media_figures): audio_ms/audio_hours, video_ms/video_hours, media_ms, images, "
                                                                "sample_rates and resolutions (files per value), codecs, and from a segment manifest segments, segment_ms, speakers; "
                                                                "null when there is no media"})
    created_at = ma.fields.DateTime()
    published_at = ma.fields.DateTime(allow_none=True)
    withdrawn_at = ma.fields.DateTime(allow_none=True)


class FileCreateSchema(StrictSchema):
    path = ma.fields.String(required=True, validate=validate.Length(min=1, max=4096))
    size = Int(required=True, strict=True, validate=validate.Range(min=0, max=5 * 1024**4))
    sha256 = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="64 hex digits."))
    media_type = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    format = ma.fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FORMATS))


class FileSchema(ma.Schema):
    id = ma.fields.UUID()
    version_id = ma.fields.UUID()
    path = ma.fields.String()
    size = Int()
    sha256 = ma.fields.String()
    media_type = ma.fields.String()
    format = ma.fields.String()
    records = Int(allow_none=True)
    status = ma.fields.String(metadata={"enum": [s.value for s in FileStatus]})
    failure_reason = ma.fields.String(allow_none=True)
    schema = ma.fields.Dict(allow_none=True)
    stats = ma.fields.Dict(allow_none=True, metadata={"description": "Statistics; for media, the measured figures (kind, codec, duration_ms, sample_rate, "
                                                                        "channels, bit_depth, width, height, fps...); for a tar shard its members"})
    media_ms = Int(allow_none=True, metadata={"description": "Milliseconds of audio or video in the file (what an offer per hour debits)"})
    created_at = ma.fields.DateTime()


class FileCreatedSchema(FileSchema):
    already_stored = ma.fields.Boolean(metadata={"description": "Identical bytes are stored already: nothing to upload"})


class MultipartStartSchema(StrictSchema):
    part_size = Int(load_default=None, allow_none=True, strict=True)
    part_checksums = ma.fields.List(
        ma.fields.String(validate=validate.Regexp(CRC32_RE, error="A CRC-32 as S3 spells it: base64 of 4 bytes, e.g. \"3q2+7w==\".")),
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=10_000),
        metadata={"description": "CRC-32 of every part, in order (base64 of the big-endian 4 bytes, as S3's x-amz-checksum-crc32). "
                                 "Each part URL is then signed for its checksum: send the `headers` given with it, and a part "
                                 "damaged on the way is refused (400) instead of failing the file's SHA-256 at ingest."})


class PartUrlQuerySchema(StrictSchema):
    first = Int(load_default=1, validate=validate.Range(min=1))
    count = Int(load_default=100, validate=validate.Range(min=1, max=1000))


class PartUrlSchema(ma.Schema):
    part_number = Int()
    url = ma.fields.String()
    headers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                             metadata={"description": "Headers the PUT must carry (the part's checksum, when declared)."})
    offset = Int()
    size = Int()


class ReceivedPartSchema(ma.Schema):
    part_number = Int()
    etag = ma.fields.String()
    size = Int()


class MultipartSchema(ma.Schema):
    upload_id = ma.fields.String()
    part_size = Int()
    part_count = Int()
    expires_in = Int()
    parts = ma.fields.List(ma.fields.Nested(PartUrlSchema))
    received = ma.fields.List(ma.fields.Nested(ReceivedPartSchema))


class CompletedPartSchema(StrictSchema):
    part_number = Int(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    etag = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))


class MultipartCompleteSchema(StrictSchema):
    parts = ma.fields.List(ma.fields.Nested(CompletedPartSchema), required=True, validate=validate.Length(min=1, max=10_000))


class ManifestTableSchema(ma.Schema):
    sha256 = ma.fields.String()
    size = Int()
    format = ma.fields.String(metadata={"description": "parquet"})


class ManifestEntrySchema(ma.Schema):
    path = ma.fields.String()
    size = Int()
    sha256 = ma.fields.String()
    records = Int(allow_none=True)
    format = ma.fields.String()
    table = ma.fields.Nested(ManifestTableSchema, metadata={"description": "A CSV or JSONL file's Parquet table, made at ingest (what Delta Sharing serves); "
                                                                          "absent for other files"})
    media = ma.fields.Dict(metadata={"description": "A media file's measured figures; absent for other files"})
    members = ma.fields.List(ma.fields.Dict(), metadata={"description": "A tar or WebDataset shard's members (name, size, and figures for media); "
                                                                       "absent for other files"})


class ManifestSchema(ma.Schema):
    dataset_id = ma.fields.UUID()
    version_id = ma.fields.UUID()
    version = ma.fields.String()
    root_digest = ma.fields.String(metadata={"description": "SHA-256 over the canonical JSON of {\"files\": [...]} (sorted keys, no spaces)"})
    files = ma.fields.List(ma.fields.Nested(ManifestEntrySchema))


class MediaPreviewSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "clip (audio, the first seconds as Ogg Opus), thumbnail (an image) or poster (a video's first frame)"})
    content_type = ma.fields.String()
    size = Int()
    seconds = ma.fields.Float(allow_none=True, metadata={"description": "A clip's length"})
    url = ma.fields.String(metadata={"description": "Short-lived URL of the object store"})
    expires_in = Int(metadata={"description": "Seconds the URL stays valid"})


class PreviewSchema(ma.Schema):
    file_id = ma.fields.UUID()
    path = ma.fields.String()
    format = ma.fields.String()
    schema = ma.fields.Dict(allow_none=True)
    records = ma.fields.List(ma.fields.Raw())
    redacted = ma.fields.Boolean()
    hidden = ma.fields.Boolean()
    media = ma.fields.Nested(MediaPreviewSchema, allow_none=True, metadata={"description": "A media file's preview, made at ingest; null when there is none or it is hidden"})


class PreviewRedactSchema(StrictSchema):
    drop_fields = ma.fields.List(ma.fields.String(validate=validate.Length(max=200)), load_default=list, validate=validate.Length(max=500))
    drop_records = ma.fields.List(Int(strict=True), load_default=list, validate=validate.Length(max=10_000))
    hide = Flag(load_default=False)


# --------------------------------------------------------------------------- gated access


class AccessFieldSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Lower-case letters, digits and _, starting with a letter."))
    label = Text(200, load_default=None)
    type = ma.fields.String(required=True, validate=validate.OneOf(["text", "select", "country", "date", "checkbox"]))
    required = Flag(load_default=True)
    options = ma.fields.List(Text(200), load_default=list, validate=validate.Length(max=50))
    max_length = Int(load_default=500, strict=True, validate=validate.Range(min=1, max=2000))
    terms = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                             metadata={"description": "For a checkbox: the terms the requester agrees to (their SHA-256 is kept with the request)."})


class AccessGateSetSchema(StrictSchema):
    samples = Flag(required=True, metadata={"description": "Samples only for organisations whose request was approved."})
    private_offers = Flag(required=True, metadata={"description": "Buyers ask for a private offer; approving can make one."})
    questions = ma.fields.List(ma.fields.Nested(AccessFieldSchema), load_default=list, validate=validate.Length(max=20))
    response_days = Int(load_default=5, strict=True, validate=validate.Range(min=1, max=60))
    instructions = ma.fields.String(load_default="", validate=validate.Length(max=2000))


class AccessGateSchema(ma.Schema):
    dataset_id = ma.fields.UUID()
    samples = ma.fields.Boolean()
    private_offers = ma.fields.Boolean()
    questions = ma.fields.List(ma.fields.Dict(), attribute="fields")
    response_days = ma.fields.Integer()
    instructions = ma.fields.String()
    updated_at = ma.fields.DateTime(allow_none=True)


class AccessRequestCreateSchema(StrictSchema):
    org_id = ma.fields.UUID(required=True, metadata={"description": "The buyer organisation asking."})
    answers = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(max=40)), load_default=dict, validate=validate.Length(max=20))


class AccessDecisionSchema(StrictSchema):
    reason = Name(200, load_default=None, allow_none=True, metadata={"description": "A note to the buyer (one line)."})
    offer = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(max=40)), load_default=None, allow_none=True,
                           metadata={"description": "On approval: a private offer for the buyer, made in the same transaction, with the fields of "
                                                    "POST /datasets/{id}/offers (title, license, pricing_unit: records, gib, downloads or term, "
                                                    "unit_price_minor, currency, included_quota, term_days, version_id), checked by the same rules."})


class AccessRejectSchema(StrictSchema):
    reason = Name(200, required=True, metadata={"description": "Why, in one line: the buyer reads it."})


class AccessRequestSchema(ma.Schema):
    id = ma.fields.UUID()
    dataset_id = ma.fields.UUID()
    dataset_title = ma.fields.String(allow_none=True)
    vendor_org_id = ma.fields.UUID()
    vendor_name = ma.fields.String(allow_none=True)
    buyer_org_id = ma.fields.UUID()
    buyer_name = ma.fields.String(allow_none=True)
    requested_by_email = ma.fields.String(allow_none=True)
    answers = ma.fields.Dict()
    answer_labels = ma.fields.Dict(metadata={"description": "The question each answer replies to, as the vendor worded it."})
    accepted_terms = ma.fields.Dict()
    status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    due_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Boolean(metadata={"description": "Pending past the vendor's stated response time."})
    offer_id = ma.fields.UUID(allow_none=True)


class AccessListQuerySchema(StrictSchema):
    role = ma.fields.String(load_default="vendor", validate=validate.OneOf(["vendor", "buyer"]),
                            metadata={"description": "vendor: requests to your datasets (the inbox); buyer: your organisation's requests."})
    status = ma.fields.String(load_default=None, validate=validate.OneOf(["pending", "approved", "rejected", "withdrawn"]))
    dataset_id = ma.fields.UUID(load_default=None)
