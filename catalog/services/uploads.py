"""Getting a file's bytes into the store.

Small files go through the API in one request. Large files use S3 multipart upload: the
service opens the upload and hands out presigned part URLs, the client PUTs each part straight
to the object store (the service never sees the bytes), an interrupted part is simply re-sent,
and completion checks the parts against the declared size. Bytes land under a staging key; only
the ingest job, after verifying the digest, gives them their content address.
"""

from __future__ import annotations

import math
import uuid
from typing import Any, BinaryIO

from sqlalchemy import select

from catalog.actions import CatalogAction
from catalog.models import FileStatus, VersionFile, staging_key
from catalog.services.datasets import file_for, storage
from catalog.storage import CRC32_HEADER, ObjectStore, PartInfo
from marketplace.kernel import audit
from marketplace.kernel.config import current_settings as _settings
from marketplace.kernel.db import after_commit, end_read, get_session, transactional
from marketplace.kernel.errors import Conflict, PayloadTooLarge, ValidationFailed
from marketplace.kernel.principal import Principal

DEFAULT_PART_SIZE = 64 * 1024 * 1024
URLS_PER_PAGE = 1000




def _require_needs_bytes(f: VersionFile) -> None:
    if f.status == FileStatus.uploaded.value:
        raise Conflict("This file's bytes are already stored; delete and re-declare the file to replace them.")
    if f.status == FileStatus.verified.value:
        raise Conflict("This file is verified and immutable.")


def upload_small(principal: Principal, file_id: uuid.UUID, body: BinaryIO, content_length: int | None) -> VersionFile:
    """Stream a small file's bytes to staging through the API (up to MARKETPLACE_MAX_UPLOAD_BYTES)."""
    f, v, ds = file_for(principal, file_id, write=True)
    _require_needs_bytes(f)
    limit = _settings().max_upload_bytes
    if f.size > limit:
        raise PayloadTooLarge(f"Files over {limit} bytes use multipart upload: POST /api/v1/files/{f.id}/multipart.")
    if content_length is None or content_length != f.size:
        raise ValidationFailed("The body length differs from the declared size.", errors={"size": [f"Declared {f.size} bytes, sent {content_length}."]})
    # The store write happens before the row changes: if it fails, nothing in the database moved.
    end_read()
    storage().put(staging_key(f.id), body, content_type=f.media_type)
    return _mark_uploaded(principal, f.id, via="api")


@transactional
def _mark_uploaded(principal: Principal, file_id: uuid.UUID, *, via: str) -> VersionFile:
    f, v, ds = file_for(principal, file_id, write=True)
    f.status = FileStatus.uploaded.value
    f.upload_id = None
    f.part_checksums = None
    f.failure_reason = None
    audit.record(principal, CatalogAction.VERSION_FILE_UPLOAD, subject_type="file", subject_id=f.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 quantities={"bytes": f.size}, details={"via": via, "path": f.path})
    return f


def plan_parts(size: int, part_size: int | None) -> tuple[int, int]:
    """(part size, part count) for a file, within S3's limits."""
    if part_size is None:
        part_size = max(DEFAULT_PART_SIZE, math.ceil(size / ObjectStore.MAX_PARTS))
    if part_size < ObjectStore.MIN_PART_SIZE or part_size > ObjectStore.MAX_PART_SIZE:
        raise ValidationFailed("Part size out of range.", errors={"part_size": [f"Between {ObjectStore.MIN_PART_SIZE} and {ObjectStore.MAX_PART_SIZE} bytes."]})
    count = max(1, math.ceil(size / part_size))
    if count > ObjectStore.MAX_PARTS:
        raise ValidationFailed("Too many parts.", errors={"part_size": [f"{count} parts; at most {ObjectStore.MAX_PARTS}. Use parts of at least {math.ceil(size / ObjectStore.MAX_PARTS)} bytes."]})
    return part_size, count


@transactional
def start_multipart(principal: Principal, file_id: uuid.UUID, *, part_size: int | None, part_checksums: list[str] | None = None) -> tuple[VersionFile, int]:
    """Open a multipart upload (or return the open one, so a restarted client resumes).
    With `part_checksums` (one CRC-32 per part), each part URL is signed for its checksum and
    the store refuses a part that arrives damaged."""
    f, v, ds = file_for(principal, file_id, write=True)
    _require_needs_bytes(f)
    size, count = plan_parts(f.size, part_size if part_size is not None else f.part_size)
    if part_checksums is not None and len(part_checksums) != count:
        raise ValidationFailed("One checksum per part is needed.", errors={"part_checksums": [f"{len(part_checksums)} given; this file has {count} parts of {size} bytes."]})
    if f.upload_id and f.part_size == size and f.part_checksums == part_checksums:
        return f, count
    store = storage()
    if f.upload_id:  # a new part size or new checksums: the old parts cannot be reused
        old = f.upload_id
        after_commit(lambda: store.abort_multipart_upload(staging_key(f.id), old))
    # Opening the upload is idempotent enough: if this transaction fails, the orphan has no
    # parts and the janitor (abort_stale_uploads) removes it.
    f.upload_id = store.create_multipart_upload(staging_key(f.id), content_type=f.media_type, part_crc32=part_checksums is not None)
    f.part_size = size
    f.part_checksums = part_checksums
    f.status = FileStatus.uploading.value
    audit.record(principal, CatalogAction.VERSION_FILE_MULTIPART_START, subject_type="file", subject_id=f.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 quantities={"bytes": f.size, "parts": count}, details={"part_checksums": "crc32" if part_checksums else None})
    return f, count


def open_multipart(principal: Principal, file_id: uuid.UUID, *, part_size: int | None, part_checksums: list[str] | None = None) -> dict[str, Any]:
    """Open (or resume) a multipart upload and answer with its first hundred part URLs: what a
    client needs to start sending, in one call."""
    start_multipart(principal, file_id, part_size=part_size, part_checksums=part_checksums)
    return part_urls(principal, file_id, first=1, count=100)


def part_urls(principal: Principal, file_id: uuid.UUID, *, first: int, count: int) -> dict[str, Any]:
    """Presigned URLs for parts [first, first+count) and the parts already received (to resume)."""
    f, v, ds = file_for(principal, file_id, write=True)
    if not f.upload_id or f.status != FileStatus.uploading.value:
        raise Conflict("No multipart upload is open for this file; start one first.")
    size, total = plan_parts(f.size, f.part_size)
    if first < 1 or first > total:
        raise ValidationFailed("No such part.", errors={"first": [f"Parts run from 1 to {total}."]})
    last = min(total, first + min(count, URLS_PER_PAGE) - 1)
    store, ttl = storage(), _settings().presign_ttl_seconds
    key = staging_key(f.id)
    crcs = f.part_checksums
    upload_id = f.upload_id  # checked above: the closure sees a str

    def entry(n: int) -> dict[str, Any]:
        crc = crcs[n - 1] if crcs else None
        return {"part_number": n, "url": store.presign_upload_part(key, upload_id, n, ttl=ttl, crc32=crc), "headers": {CRC32_HEADER: crc} if crc else {},
                "offset": (n - 1) * size, "size": min(size, f.size - (n - 1) * size) if f.size else 0}

    urls = [entry(n) for n in range(first, last + 1)]
    received = [{"part_number": p.part_number, "etag": p.etag, "size": p.size} for p in store.list_parts(key, f.upload_id)]
    return {"upload_id": f.upload_id, "part_size": size, "part_count": total, "expires_in": ttl, "parts": urls, "received": received}


def complete_multipart(principal: Principal, file_id: uuid.UUID, parts: list[dict[str, Any]]) -> VersionFile:
    """Check the parts the client sent against what the store holds and the declared size,
    then assemble them. Missing parts: 400 naming them (the upload stays open to resend them).
    Wrong total size: 400, and the upload is aborted (its bytes cannot be the declared file)."""
    f, v, ds = file_for(principal, file_id, write=True)
    if not f.upload_id or f.status != FileStatus.uploading.value:
        raise Conflict("No multipart upload is open for this file.")
    size, total = plan_parts(f.size, f.part_size)
    store, key, upload_id = storage(), staging_key(f.id), f.upload_id
    numbers = [p["part_number"] for p in parts]
    if numbers != sorted(set(numbers)):
        raise ValidationFailed("Parts must be listed once each, in ascending order.", errors={"parts": ["Ascending, no duplicates."]})
    if len(parts) > total or any(n < 1 or n > total for n in numbers):
        raise ValidationFailed("Too many parts for the declared size.", errors={"parts": [f"This file has {total} parts of {size} bytes."]})
    copies: dict[int, dict[str, PartInfo]] = {}
    for part in store.list_parts(key, upload_id):  # a re-sent part may be listed once per copy
        copies.setdefault(part.part_number, {})[part.etag] = part
    missing = [n for n in range(1, total + 1) if n not in copies or n not in numbers]
    if missing:
        raise ValidationFailed("Some parts are missing.", errors={"parts": [f"Missing part numbers: {', '.join(map(str, missing[:100]))}"]}, missing_parts=missing[:1000])
    wrong = [p["part_number"] for p in parts if p["etag"].strip('"') not in copies[p["part_number"]]]
    if wrong:
        raise ValidationFailed("Some parts' ETags do not match what the store received; re-send those parts.", errors={"parts": [f"ETag mismatch: {', '.join(map(str, wrong[:100]))}"]})
    held = {p["part_number"]: copies[p["part_number"]][p["etag"].strip('"')] for p in parts}
    received = sum(held[n].size for n in numbers)
    if received != f.size:
        store.abort_multipart_upload(key, upload_id)
        _reset_upload(principal, f.id, reason=f"received {received} bytes, declared {f.size}")
        raise ValidationFailed("The parts do not add up to the declared size; the upload was discarded.",
                               errors={"size": [f"Received {received} bytes, declared {f.size}."]})
    crcs = {n: f.part_checksums[n - 1] for n in numbers} if f.part_checksums else None
    store.complete_multipart_upload(key, upload_id, [(n, held[n].etag) for n in numbers], crc32=crcs)
    return _mark_uploaded(principal, f.id, via="multipart")


@transactional
def _reset_upload(principal: Principal, file_id: uuid.UUID, *, reason: str) -> None:
    f, v, ds = file_for(principal, file_id, write=True)
    f.upload_id = None
    f.part_checksums = None
    f.status = FileStatus.pending.value
    f.failure_reason = reason
    audit.record(principal, CatalogAction.VERSION_FILE_MULTIPART_DISCARD, outcome="failure", subject_type="file", subject_id=f.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"reason": reason})


@transactional
def abort_multipart(principal: Principal, file_id: uuid.UUID) -> VersionFile:
    """Discard an open upload and every part it received."""
    f, v, ds = file_for(principal, file_id, write=True)
    if not f.upload_id:
        raise Conflict("No multipart upload is open for this file.")
    store, key, upload_id = storage(), staging_key(f.id), f.upload_id
    f.upload_id = None
    f.part_checksums = None
    f.status = FileStatus.pending.value
    audit.record(principal, CatalogAction.VERSION_FILE_MULTIPART_ABORT, subject_type="file", subject_id=f.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id)
    after_commit(lambda: store.abort_multipart_upload(key, upload_id))
    return f


def abort_stale_uploads() -> int:
    """Janitor: abort multipart uploads under staging/ that no file row points at any more."""
    store = storage()
    open_ids = set(get_session().scalars(select(VersionFile.upload_id).where(VersionFile.upload_id.is_not(None))))
    n = 0
    for u in store.list_multipart_uploads("staging/"):
        if u.upload_id not in open_ids:
            store.abort_multipart_upload(u.key, u.upload_id)
            n += 1
    return n
