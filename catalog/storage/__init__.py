"""Object storage: the `ObjectStore` port and its adapters, chosen by URL.

- ``file:///abs/path`` → :class:`FilesystemObjectStore` (embedded default)
- ``s3://bucket?endpoint_url=...&region=...&presign_endpoint_url=...`` → :class:`S3ObjectStore`
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from flask import current_app

from catalog.storage.base import (
    CRC32_HEADER,
    BadDigest,
    InvalidUpload,
    MultipartUploadInfo,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    PartInfo,
    StorageUnavailable,
    UploadNotFound,
)
from catalog.storage.filesystem import FilesystemObjectStore

__all__ = [
    "BadDigest",
    "CRC32_HEADER",
    "InvalidUpload",
    "MultipartUploadInfo",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "object_store",
    "PartInfo",
    "StorageUnavailable",
    "UploadNotFound",
    "presign_origin",
    "store_from_url",
]


def object_store() -> ObjectStore:
    """The object store the running app was wired with (create_app puts it in one place)."""
    return current_app.extensions["object_store"]


def presign_origin(url: str) -> str | None:
    """The origin browsers reach presigned URLs at (for the pages' Content-Security-Policy), or
    None when they are this service's own (the filesystem store) or AWS's regional endpoints."""
    parsed = urlparse(url)
    if parsed.scheme != "s3":
        return None
    q = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    endpoint = q.get("presign_endpoint_url") or q.get("endpoint_url")
    if not endpoint:
        return "https://*.amazonaws.com"
    e = urlparse(endpoint)
    return f"{e.scheme}://{e.netloc}"


def store_from_url(url: str, *, secret_key: str, public_url: str) -> ObjectStore:
    """Build the adapter a storage URL names."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FilesystemObjectStore(parsed.path, secret_key=secret_key, public_url=public_url)
    if parsed.scheme == "s3":
        from catalog.storage.s3 import S3ObjectStore  # deferred: boto3 is heavy and only the S3 store needs it

        q = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return S3ObjectStore(
            bucket=parsed.netloc,
            prefix=parsed.path.strip("/"),
            endpoint_url=q.get("endpoint_url"),
            presign_endpoint_url=q.get("presign_endpoint_url"),
            region=q.get("region", "us-east-1"),
            create_bucket=q.get("create_bucket", "0") in ("1", "true"),
        )
    raise ValueError(f"unsupported storage URL scheme: {parsed.scheme!r} (use file:// or s3://)")
