"""Filesystem adapter: the embedded default, with the same operations as S3.

Objects live under ``<root>/objects/<key>``; multipart uploads under ``<root>/.uploads/<id>/``.
Writes go to a temporary file and are renamed into place, so a reader never sees half an
object. Presigned URLs point at this service (``/storage/fs/<token>``) and carry an
HMAC-signed token with an expiry, checked when the URL is used.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import uuid
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterator
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

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
    check_key,
    crc32_b64,
)
from marketplace.kernel.errors import Forbidden

COPY_CHUNK = 1024 * 1024


class SignedUrlRefused(Forbidden):
    slug = "signed-url-refused"
    title = "Signed URL refused"


def _md5_stream(src: IO[bytes], dst: BinaryIO, limit: int | None = None, *, crc: bool = False) -> tuple[str, int, str | None]:
    """Copy src to dst; returns (MD5 hex, size, CRC-32 as S3 spells it when asked)."""
    md5 = hashlib.md5(usedforsecurity=False)
    total = 0
    running = 0
    while True:
        chunk = src.read(COPY_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if limit is not None and total > limit:
            raise InvalidUpload(f"The part is larger than {limit} bytes.")
        md5.update(chunk)
        if crc:
            running = zlib.crc32(chunk, running)
        dst.write(chunk)
    return md5.hexdigest(), total, (crc32_b64(b"", running) if crc else None)


class FilesystemObjectStore(ObjectStore):
    name = "filesystem"

    def __init__(self, root: str | os.PathLike[str], *, secret_key: str, public_url: str):
        self.root = Path(root).resolve()
        self.objects = self.root / "objects"
        self.uploads = self.root / ".uploads"
        self.public_url = public_url.rstrip("/")
        self._signer = URLSafeSerializer(secret_key, salt="marketplace.fs-object-store")
        try:
            self.objects.mkdir(parents=True, exist_ok=True)
            self.uploads.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageUnavailable(f"Cannot create the object store folder: {e.strerror}.") from None

    # -- paths
    def _path(self, key: str) -> Path:
        p = (self.objects / check_key(key)).resolve()
        if self.objects not in p.parents:
            raise ValueError("object key escapes the store")
        return p

    def _upload_dir(self, upload_id: str) -> Path:
        try:
            uuid.UUID(upload_id)
        except (ValueError, TypeError):
            raise UploadNotFound("No such multipart upload.") from None
        return self.uploads / upload_id

    def _meta(self, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        d = self._upload_dir(upload_id)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (OSError, ValueError):
            raise UploadNotFound("No such multipart upload (completed, aborted or unknown).") from None
        if meta["key"] != key:
            raise UploadNotFound("No such multipart upload for this key.")
        return d, meta

    def _write_atomic(self, target: Path, src: IO[bytes], *, limit: int | None = None, crc32: str | None = None) -> tuple[str, int]:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                etag, size, got = _md5_stream(src, out, limit, crc=crc32 is not None)
            if crc32 is not None and got != crc32:
                raise BadDigest(f"The part's CRC-32 is {got}, not the {crc32} it was sent with: it was damaged on the way. Send it again.")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return etag, size

    def _info(self, key: str, p: Path) -> ObjectInfo:
        st = p.stat()
        return ObjectInfo(key=key, size=st.st_size, etag=None, last_modified=datetime.fromtimestamp(st.st_mtime, timezone.utc))

    # -- port
    def check(self) -> None:
        if not (self.objects.is_dir() and os.access(self.objects, os.W_OK)):
            raise StorageUnavailable("The object store folder is missing or not writable.")

    def put(self, key: str, data: BinaryIO | bytes, *, content_type: str | None = None) -> ObjectInfo:
        src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        p = self._path(key)
        etag, size = self._write_atomic(p, src)
        return ObjectInfo(key=key, size=size, etag=etag)

    def iter_range(self, key: str, *, start: int = 0, length: int | None = None, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        p = self._path(key)
        try:
            f = open(p, "rb")
        except FileNotFoundError:
            raise ObjectNotFound(f"No object for {key}.") from None
        with f:
            f.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = f.read(chunk_size if remaining is None else min(chunk_size, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def head(self, key: str) -> ObjectInfo:
        p = self._path(key)
        if not p.is_file():
            raise ObjectNotFound(f"No object for {key}.")
        return self._info(key, p)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        found = []
        for dirpath, _dirs, files in os.walk(self.objects):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.objects).as_posix()
                if key.startswith(prefix):
                    found.append((key, full))
        for key, full in sorted(found):
            try:
                yield self._info(key, full)
            except FileNotFoundError:
                continue

    def copy(self, src: str, dst: str) -> ObjectInfo:
        sp = self._path(src)
        if not sp.is_file():
            raise ObjectNotFound(f"No object for {src}.")
        with open(sp, "rb") as f:
            _etag, size = self._write_atomic(self._path(dst), f)
        return ObjectInfo(key=dst, size=size)

    # -- signed URLs
    def _sign(self, payload: dict[str, Any], ttl: int) -> str:
        payload = dict(payload, exp=int(time.time()) + ttl)
        return f"{self.public_url}/storage/fs/{quote(self._signer.dumps(payload))}"

    def verify_token(self, token: str, op: str) -> dict[str, Any]:
        """Check a token from a URL this store signed. Tampered, expired or misused → 403."""
        try:
            payload = self._signer.loads(token)
        except BadSignature:
            raise SignedUrlRefused("The URL signature is not valid.") from None
        if not isinstance(payload, dict) or payload.get("op") != op:
            raise SignedUrlRefused("This URL does not allow this operation.")
        if int(payload.get("exp", 0)) < time.time():
            raise SignedUrlRefused("The URL has expired; ask for a new one.")
        return payload

    def presign_get(self, key: str, *, ttl: int, filename: str | None = None) -> str:
        check_key(key)
        return self._sign({"op": "get", "key": key, "fn": filename}, ttl)

    def object_path(self, key: str) -> Path:
        p = self._path(key)
        if not p.is_file():
            raise ObjectNotFound(f"No object for {key}.")
        return p

    # -- multipart
    def create_multipart_upload(self, key: str, *, content_type: str | None = None, part_crc32: bool = False) -> str:
        check_key(key)
        upload_id = str(uuid.uuid4())
        d = self._upload_dir(upload_id)
        d.mkdir(parents=True)
        meta = {"key": key, "content_type": content_type, "initiated": datetime.now(timezone.utc).isoformat(), "crc32": part_crc32}
        (d / "meta.json").write_text(json.dumps(meta))
        return upload_id

    def presign_upload_part(self, key: str, upload_id: str, part_number: int, *, ttl: int, crc32: str | None = None) -> str:
        if not 1 <= part_number <= self.MAX_PARTS:
            raise InvalidUpload(f"Part numbers run from 1 to {self.MAX_PARTS}.")
        self._meta(key, upload_id)
        payload: dict[str, Any] = {"op": "part", "key": key, "uid": upload_id, "n": part_number}
        if crc32:
            payload["crc"] = crc32
        return self._sign(payload, ttl)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: IO[bytes] | bytes, *, crc32: str | None = None) -> str:
        if not 1 <= part_number <= self.MAX_PARTS:
            raise InvalidUpload(f"Part numbers run from 1 to {self.MAX_PARTS}.")
        d, meta = self._meta(key, upload_id)
        if meta.get("crc32") and not crc32:
            raise InvalidUpload(f"This upload checks every part: send the part's CRC-32 in {CRC32_HEADER}.")
        src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        etag, _size = self._write_atomic(d / f"part-{part_number:05d}", src, limit=self.MAX_PART_SIZE, crc32=crc32)
        if crc32:
            (d / f"part-{part_number:05d}.crc").write_text(crc32)
        (d / f"part-{part_number:05d}.etag").write_text(etag)
        return etag

    def list_parts(self, key: str, upload_id: str) -> builtins.list[PartInfo]:
        d, _ = self._meta(key, upload_id)
        out = []
        for p in sorted(d.glob("part-[0-9][0-9][0-9][0-9][0-9]")):
            etag_file = p.with_name(p.name + ".etag")
            if not etag_file.exists():
                continue
            out.append(PartInfo(part_number=int(p.name[5:]), etag=etag_file.read_text().strip(), size=p.stat().st_size))
        return out

    def complete_multipart_upload(self, key: str, upload_id: str, parts: builtins.list[tuple[int, str]], *, crc32: dict[int, str] | None = None) -> ObjectInfo:
        d, meta = self._meta(key, upload_id)
        if not parts:
            raise InvalidUpload("A multipart upload needs at least one part.")
        if meta.get("crc32"):
            for n, _ in parts:
                held = d / f"part-{n:05d}.crc"
                if not crc32 or n not in crc32 or not held.exists() or held.read_text() != crc32[n]:
                    raise InvalidUpload(f"Part {n}'s CRC-32 is missing or does not match the part received.")
        numbers = [n for n, _ in parts]
        if numbers != sorted(set(numbers)):
            raise InvalidUpload("Parts must be listed in ascending order, each once.")
        have = {p.part_number: p for p in self.list_parts(key, upload_id)}
        for i, (n, etag) in enumerate(parts):
            got = have.get(n)
            if got is None or got.etag != etag.strip('"'):
                raise InvalidUpload(f"Part {n} was not uploaded or its ETag does not match.")
            if i < len(parts) - 1 and got.size < self.MIN_PART_SIZE:
                raise InvalidUpload(f"Part {n} is smaller than {self.MIN_PART_SIZE} bytes and is not the last part.")
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                for n, _ in parts:
                    with open(d / f"part-{n:05d}", "rb") as f:
                        shutil.copyfileobj(f, out, COPY_CHUNK)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        shutil.rmtree(d, ignore_errors=True)
        return self.head(key)

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        try:
            d, _ = self._meta(key, upload_id)
        except UploadNotFound:
            return
        shutil.rmtree(d, ignore_errors=True)

    def list_multipart_uploads(self, prefix: str = "") -> builtins.list[MultipartUploadInfo]:
        out = []
        for d in sorted(self.uploads.iterdir()) if self.uploads.is_dir() else []:
            try:
                meta = json.loads((d / "meta.json").read_text())
            except (OSError, ValueError):
                continue
            if meta["key"].startswith(prefix):
                out.append(MultipartUploadInfo(key=meta["key"], upload_id=d.name, initiated=datetime.fromisoformat(meta["initiated"])))
        return out
