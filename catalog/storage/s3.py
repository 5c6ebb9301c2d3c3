"""S3 adapter (boto3): AWS S3, MinIO, Ceph RGW, R2, or moto's server — anything S3-compatible.

This is the only module that imports boto3. botocore errors are translated to domain errors.
"""

from __future__ import annotations

import builtins
import io
from contextlib import contextmanager
from typing import IO, BinaryIO, Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from catalog.storage.base import (
    BadDigest,
    InvalidUpload,
    MultipartUploadInfo,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    PartInfo,
    StorageUnavailable,
    UploadNotFound,
    check_key,
)

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_BAD_UPLOAD = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge", "InvalidArgument", "MalformedXML"}


@contextmanager
def _translate(what: str) -> Iterator[None]:
    try:
        yield
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            raise ObjectNotFound(f"No object for {what}.") from None
        if code == "NoSuchUpload":
            raise UploadNotFound("No such multipart upload (completed, aborted or unknown).") from None
        if code in ("BadDigest", "XAmzContentChecksumMismatch", "InvalidDigest"):
            raise BadDigest(f"The object store refused a part of {what}: its bytes do not match its checksum.") from None
        if code in _BAD_UPLOAD:
            raise InvalidUpload(f"The object store refused the upload: {code}.") from None
        if code == "NoSuchBucket":
            raise StorageUnavailable("The storage bucket does not exist.") from None
        raise StorageUnavailable(f"The object store answered {code or 'an error'} for {what}.") from None
    except (BotoCoreError, BotoConnectionError, OSError):
        raise StorageUnavailable(f"The object store did not answer ({what}).") from None


class S3ObjectStore(ObjectStore):
    name = "s3"
    engine_readable_urls = True

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        presign_endpoint_url: str | None = None,
        region: str = "us-east-1",
        create_bucket: bool = False,
    ):
        if not bucket:
            raise ValueError("s3:// storage URL needs a bucket name")
        self.bucket = bucket
        self.prefix = (prefix.strip("/") + "/") if prefix.strip("/") else ""
        cfg = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
        )
        self._client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=cfg)
        # Presigned URLs must name a host the *client* can reach, which may differ from the
        # service's own endpoint (a cluster-internal MinIO behind a public ingress).
        self._presigner = (
            boto3.session.Session().client("s3", endpoint_url=presign_endpoint_url, region_name=region, config=cfg)
            if presign_endpoint_url
            else self._client
        )
        self._transfer = TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024, max_concurrency=8)
        if create_bucket:
            self.ensure_bucket()

    # -- helpers
    def _k(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _unk(self, full: str) -> str:
        return full[len(self.prefix):]

    def ensure_bucket(self) -> None:
        with _translate("bucket"):
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
                    self._client.create_bucket(Bucket=self.bucket)
                else:
                    raise

    # -- port
    def check(self) -> None:
        with _translate("readiness check"):
            self._client.head_bucket(Bucket=self.bucket)

    def put(self, key: str, data: BinaryIO | bytes, *, content_type: str | None = None) -> ObjectInfo:
        body = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        extra = {"ContentType": content_type} if content_type else {}
        with _translate(key):
            self._client.upload_fileobj(body, self.bucket, self._k(key), ExtraArgs=extra or None, Config=self._transfer)
        return self.head(key)

    def iter_range(self, key: str, *, start: int = 0, length: int | None = None, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        if length == 0:
            return
        rng = f"bytes={start}-" if length is None else f"bytes={start}-{start + length - 1}"
        with _translate(key):
            try:
                resp = self._client.get_object(Bucket=self.bucket, Key=self._k(key), Range=rng)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") == "InvalidRange":
                    return
                raise
            body = resp["Body"]
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

    def head(self, key: str) -> ObjectInfo:
        with _translate(key):
            r = self._client.head_object(Bucket=self.bucket, Key=self._k(key))
        return ObjectInfo(key=key, size=r["ContentLength"], etag=r.get("ETag", "").strip('"') or None, last_modified=r.get("LastModified"))

    def delete(self, key: str) -> None:
        with _translate(key):
            self._client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with _translate(f"listing {prefix!r}"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
            for page in pages:
                for o in page.get("Contents", []):
                    yield ObjectInfo(key=self._unk(o["Key"]), size=o["Size"], etag=o.get("ETag", "").strip('"') or None, last_modified=o.get("LastModified"))

    def copy(self, src: str, dst: str) -> ObjectInfo:
        with _translate(src):
            # The managed copy switches to multipart copy above the threshold (S3's CopyObject
            # stops at 5 GiB).
            self._client.copy({"Bucket": self.bucket, "Key": self._k(src)}, self.bucket, self._k(dst), Config=self._transfer)
        return self.head(dst)

    def presign_get(self, key: str, *, ttl: int, filename: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": self._k(key)}
        if filename:
            safe = filename.replace('"', "").replace("\\", "")
            params["ResponseContentDisposition"] = f'attachment; filename="{safe}"'
        with _translate(key):
            return self._presigner.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)

    def create_multipart_upload(self, key: str, *, content_type: str | None = None, part_crc32: bool = False) -> str:
        extra: dict[str, str] = {"ContentType": content_type} if content_type else {}
        if part_crc32:
            extra["ChecksumAlgorithm"] = "CRC32"
        with _translate(key):
            return self._client.create_multipart_upload(Bucket=self.bucket, Key=self._k(key), **extra)["UploadId"]

    def presign_upload_part(self, key: str, upload_id: str, part_number: int, *, ttl: int, crc32: str | None = None) -> str:
        if not 1 <= part_number <= self.MAX_PARTS:
            raise InvalidUpload(f"Part numbers run from 1 to {self.MAX_PARTS}.")
        params: dict[str, object] = {"Bucket": self.bucket, "Key": self._k(key), "UploadId": upload_id, "PartNumber": part_number}
        if crc32:
            # SigV4 signs x-amz-checksum-crc32 as a header (X-Amz-SignedHeaders), not a query
            # parameter: the client must send exactly this value, and S3 checks the body against it.
            params["ChecksumCRC32"] = crc32
        with _translate(key):
            return self._presigner.generate_presigned_url("upload_part", Params=params, ExpiresIn=ttl)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: IO[bytes] | bytes, *, crc32: str | None = None) -> str:
        if not 1 <= part_number <= self.MAX_PARTS:
            raise InvalidUpload(f"Part numbers run from 1 to {self.MAX_PARTS}.")
        extra = {"ChecksumCRC32": crc32} if crc32 else {}
        with _translate(key):
            r = self._client.upload_part(Bucket=self.bucket, Key=self._k(key), UploadId=upload_id, PartNumber=part_number, Body=data, **extra)
        return r["ETag"].strip('"')

    def list_parts(self, key: str, upload_id: str) -> builtins.list[PartInfo]:
        # S3 keeps only the last copy of a part sent again; some S3 servers (SeaweedFS) list every
        # copy, in no telling order, and complete with whichever ETag they are given. So this
        # lists what the server lists, by part number; callers match the client's ETag against it.
        out: list[PartInfo] = []
        with _translate(key):
            pages = self._client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=self._k(key), UploadId=upload_id)
            for page in pages:
                for p in page.get("Parts", []):
                    out.append(PartInfo(part_number=p["PartNumber"], etag=p["ETag"].strip('"'), size=p["Size"]))
        return sorted(out, key=lambda p: p.part_number)

    def complete_multipart_upload(self, key: str, upload_id: str, parts: builtins.list[tuple[int, str]], *, crc32: dict[int, str] | None = None) -> ObjectInfo:
        if not parts:
            raise InvalidUpload("A multipart upload needs at least one part.")
        listed = []
        for n, e in parts:
            item = {"PartNumber": n, "ETag": f'"{e.strip(chr(34))}"'}
            if crc32:
                item["ChecksumCRC32"] = crc32[n]
            listed.append(item)
        with _translate(key):
            self._client.complete_multipart_upload(Bucket=self.bucket, Key=self._k(key), UploadId=upload_id, MultipartUpload={"Parts": listed})
        return self.head(key)

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        with _translate(key):
            try:
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=self._k(key), UploadId=upload_id)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise

    def list_multipart_uploads(self, prefix: str = "") -> builtins.list[MultipartUploadInfo]:
        out: list[MultipartUploadInfo] = []
        with _translate("multipart listing"):
            pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
            for page in pages:
                for u in page.get("Uploads", []):
                    out.append(MultipartUploadInfo(key=self._unk(u["Key"]), upload_id=u["UploadId"], initiated=u.get("Initiated")))
        return out
