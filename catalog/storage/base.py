"""The object-storage port.

Every adapter (S3 via boto3, local filesystem) implements :class:`ObjectStore` and passes the
same contract test suite. Adapters translate vendor errors into the domain errors below, so
services never see botocore or OSError.
"""

from __future__ import annotations

import builtins
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import IO, BinaryIO, Iterator

from marketplace.formats.checksums import CRC32_HEADER, crc32_b64  # noqa: F401  (the port's names for them)
from marketplace.kernel.errors import DependencyUnavailable, NotFound, ValidationFailed

KEY_RE = re.compile(r"^[A-Za-z0-9!_.*'()=+,@-]+(?:/[A-Za-z0-9!_.*'()=+,@-]+)*$")
MAX_KEY_LENGTH = 1024
MIB = 1024 * 1024
GIB = 1024 * MIB
# S3's name for a part's CRC-32 (base64 of the big-endian 4 bytes). A part URL signed with a
# checksum only accepts a PUT carrying this header with that value and a body that matches it.
CRC32_RE = re.compile(r"^[A-Za-z0-9+/]{6}==$")


class BadDigest(ValidationFailed):
    slug = "bad-digest"
    title = "The part does not match its checksum"


class ObjectNotFound(NotFound):
    slug = "object-not-found"
    title = "Object not found"


class UploadNotFound(NotFound):
    slug = "upload-not-found"
    title = "Multipart upload not found"


class InvalidUpload(ValidationFailed):
    slug = "invalid-upload"
    title = "Invalid upload"


class StorageUnavailable(DependencyUnavailable):
    slug = "storage-unavailable"
    title = "The object store is unavailable"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    etag: str
    size: int


@dataclass(frozen=True)
class MultipartUploadInfo:
    key: str
    upload_id: str
    initiated: datetime | None = None


def check_key(key: str) -> str:
    """Refuse keys that could escape a prefix or confuse a backend."""
    if not key or len(key) > MAX_KEY_LENGTH or not KEY_RE.match(key) or any(p in (".", "..") for p in key.split("/")):
        raise ValueError(f"invalid object key: {key[:80]!r}")
    return key


class ObjectStore(ABC):
    """What the product needs from an object store. Keys are '/'-separated and validated.

    Limits follow S3 so that a client written against one adapter works with the other.
    """

    MIN_PART_SIZE = 5 * MIB  # every part but the last
    MAX_PART_SIZE = 5 * GIB
    MAX_PARTS = 10_000

    name: str = "abstract"
    # Whether data engines read this store's presigned URLs as the cloud's own (delta-kernel-rs,
    # which Delta Sharing clients use for the delta response format, recognises S3-style signed
    # URLs and treats any other path as a local file).
    engine_readable_urls: bool = False

    @abstractmethod
    def check(self) -> None:
        """Raise StorageUnavailable unless the store answers (readiness probe)."""

    @abstractmethod
    def put(self, key: str, data: BinaryIO | bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Store a small object in one request, streaming from `data`."""

    @abstractmethod
    def iter_range(self, key: str, *, start: int = 0, length: int | None = None, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream the bytes [start, start+length) of an object (to its end when length is None)."""

    def read(self, key: str, *, start: int = 0, length: int | None = None) -> bytes:
        return b"".join(self.iter_range(key, start=start, length=length))

    @abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size and etag of an object; ObjectNotFound if absent."""

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
            return True
        except ObjectNotFound:
            return False

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete an object; deleting an absent object is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order."""

    @abstractmethod
    def copy(self, src: str, dst: str) -> ObjectInfo:
        """Server-side copy (any size)."""

    @abstractmethod
    def presign_get(self, key: str, *, ttl: int, filename: str | None = None) -> str:
        """A URL that GETs the object (Range supported) until `ttl` seconds from now."""

    @abstractmethod
    def create_multipart_upload(self, key: str, *, content_type: str | None = None, part_crc32: bool = False) -> str:
        """Start a multipart upload; returns its upload id. With `part_crc32`, every part must
        carry its CRC-32 (S3's ChecksumAlgorithm=CRC32): the store checks each part as it
        arrives, so a part damaged in transit is refused at once instead of failing the
        whole file's SHA-256 at ingest."""

    @abstractmethod
    def presign_upload_part(self, key: str, upload_id: str, part_number: int, *, ttl: int, crc32: str | None = None) -> str:
        """A URL to PUT one part (1..10000) straight to the store. Re-sending a part replaces it.
        With `crc32`, the URL is signed for that checksum: the PUT must send CRC32_HEADER with
        the same value, and a body that does not match it is refused (400) and not stored."""

    @abstractmethod
    def upload_part(self, key: str, upload_id: str, part_number: int, data: IO[bytes] | bytes, *, crc32: str | None = None) -> str:
        """Upload one part through this process (tests, server-side copies); returns its ETag.
        With `crc32`, a body that does not match it raises BadDigest and is not stored."""

    @abstractmethod
    def list_parts(self, key: str, upload_id: str) -> builtins.list[PartInfo]:
        """Parts received so far, by part number (lets a client resume). A part sent again may be
        listed once (S3: the last copy) or once per copy (some S3 servers): match a client's
        ETag against every copy of its part number."""

    @abstractmethod
    def complete_multipart_upload(self, key: str, upload_id: str, parts: builtins.list[tuple[int, str]], *, crc32: dict[int, str] | None = None) -> ObjectInfo:
        """Assemble the listed (part number, ETag) pairs into the object. An upload opened with
        `part_crc32` also needs each part's CRC-32 (`crc32`, by part number)."""

    @abstractmethod
    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Discard an upload and every part it received. Idempotent."""

    @abstractmethod
    def list_multipart_uploads(self, prefix: str = "") -> builtins.list[MultipartUploadInfo]:
        """Incomplete multipart uploads (to prove nothing is left behind, and to clean up)."""
