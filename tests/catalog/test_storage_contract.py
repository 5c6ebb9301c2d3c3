"""One contract suite for every ObjectStore adapter: S3 against two servers over HTTP (moto's,
and SeaweedFS's S3 gateway, which enforces SigV4, expiry and part checksums as S3 does) and the
filesystem store.

Presigned URLs are exercised over real HTTP: S3's against the servers; the filesystem store's
against this app's /storage/fs endpoint through the Flask test client.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from catalog.storage import CRC32_HEADER, BadDigest, InvalidUpload, ObjectNotFound, ObjectStore, UploadNotFound
from catalog.storage.base import crc32_b64
from catalog.storage.filesystem import FilesystemObjectStore
from catalog.storage.s3 import S3ObjectStore

MIB = 1024 * 1024


@pytest.fixture(params=["s3", "seaweedfs", "filesystem"])
def adapter(request, tmp_path, session_app_fs):
    if request.param == "s3":
        # a fresh prefix per test keeps listings independent
        yield S3ObjectStore(bucket=request.getfixturevalue("s3_bucket"), prefix=f"contract/{uuid.uuid4().hex}",
                            endpoint_url=request.getfixturevalue("s3_endpoint"))
    elif request.param == "seaweedfs":
        store = S3ObjectStore(bucket=request.getfixturevalue("seaweed_bucket"), prefix=f"contract/{uuid.uuid4().hex}",
                              endpoint_url=request.getfixturevalue("seaweed_endpoint"))
        store.enforces_signatures = True  # type: ignore[attr-defined]
        yield store
    else:
        yield session_app_fs.extensions["object_store"]


def enforcing(adapter: ObjectStore) -> bool:
    """Whether the server behind the adapter checks signatures, expiry and part checksums
    (SeaweedFS and the filesystem store do; moto's server does not)."""
    return isinstance(adapter, FilesystemObjectStore) or getattr(adapter, "enforces_signatures", False)


@pytest.fixture(scope="session")
def session_app_fs(make_settings, tmp_path_factory):
    """An app on the filesystem store, so its signed URLs can be fetched through the test client."""
    from marketplace.app import create_app

    root = tmp_path_factory.mktemp("fs-store")
    settings = make_settings(_first_backend(), storage_url=f"file://{root}")
    return create_app(settings)


def _first_backend() -> str:
    from tests.conftest import BACKENDS

    return BACKENDS[0]


def fetch(adapter: ObjectStore, url: str, app=None, method: str = "GET", data: bytes | None = None, headers=None):
    """GET/PUT a presigned URL as a client would: over HTTP for S3, via the app for the fs store."""
    if isinstance(adapter, FilesystemObjectStore):
        client = app.test_client()
        path = urlparse(url).path
        r = client.open(path, method=method, data=data, headers=headers or {})
        return r.status_code, r.get_data(), dict(r.headers)
    r = requests.request(method, url, data=data, headers=headers or {}, timeout=30)
    return r.status_code, r.content, dict(r.headers)


def test_put_head_read_delete(adapter):
    info = adapter.put("a/b/hello.txt", b"hello world")
    assert info.size == 11
    assert adapter.head("a/b/hello.txt").size == 11
    assert adapter.read("a/b/hello.txt") == b"hello world"
    assert adapter.exists("a/b/hello.txt")
    adapter.delete("a/b/hello.txt")
    assert not adapter.exists("a/b/hello.txt")
    adapter.delete("a/b/hello.txt")  # idempotent


def test_missing_object_is_object_not_found(adapter):
    with pytest.raises(ObjectNotFound):
        adapter.head("nope/missing")
    with pytest.raises(ObjectNotFound):
        adapter.read("nope/missing")


def test_ranged_reads(adapter):
    data = bytes(range(256)) * 100
    adapter.put("r/data.bin", io.BytesIO(data))
    assert adapter.read("r/data.bin", start=10, length=5) == data[10:15]
    assert adapter.read("r/data.bin", start=25_000) == data[25_000:]
    assert b"".join(adapter.iter_range("r/data.bin", chunk_size=1000)) == data


def test_list_by_prefix_in_key_order(adapter):
    for k in ("l/b", "l/a", "l/c/d", "other/x"):
        adapter.put(k, b"x")
    assert [o.key for o in adapter.list("l/")] == ["l/a", "l/b", "l/c/d"]


def test_copy(adapter):
    adapter.put("c/src", b"payload")
    adapter.copy("c/src", "c/dst")
    assert adapter.read("c/dst") == b"payload"
    with pytest.raises(ObjectNotFound):
        adapter.copy("c/missing", "c/dst2")


@pytest.mark.parametrize("key", ["", "../etc/passwd", "a/../../b", "/abs", "a//b", "a/./b", "sp ace", "new\nline"])
def test_hostile_keys_refused(adapter, key):
    with pytest.raises(ValueError):
        adapter.put(key, b"x")


def test_multipart_upload_with_presigned_parts_and_resend(adapter, session_app_fs):
    part1 = os.urandom(5 * MIB)
    part2 = os.urandom(1234)
    key = "mp/big.bin"
    uid = adapter.create_multipart_upload(key)
    assert any(u.upload_id == uid for u in adapter.list_multipart_uploads("mp/"))
    etags = {}
    for n, body in ((1, part1), (2, b"garbage first attempt"), (2, part2)):  # part 2 is re-sent
        url = adapter.presign_upload_part(key, uid, n, ttl=60)
        status, _, headers = fetch(adapter, url, session_app_fs, "PUT", body)
        assert status == 200, status
        etags[n] = {k.lower(): v for k, v in headers.items()}["etag"].strip('"')
    parts = adapter.list_parts(key, uid)
    # the re-sent copy is listed (S3 lists only it; some servers list the earlier copy too)
    assert (1, 5 * MIB, etags[1]) in [(p.part_number, p.size, p.etag) for p in parts]
    assert (2, 1234, etags[2]) in [(p.part_number, p.size, p.etag) for p in parts]
    assert {p.part_number for p in parts} == {1, 2}
    info = adapter.complete_multipart_upload(key, uid, sorted(etags.items()))
    assert info.size == len(part1) + len(part2)
    assert hashlib.sha256(adapter.read(key)).digest() == hashlib.sha256(part1 + part2).digest()
    assert not any(u.upload_id == uid for u in adapter.list_multipart_uploads("mp/"))


def test_multipart_with_part_checksums(adapter, session_app_fs):
    """An upload opened with part CRC-32s: each part URL is signed for its checksum, the PUT
    carries it, and completion names every part's checksum; the object is the bytes sent."""
    part1, part2 = os.urandom(5 * MIB), os.urandom(4321)
    key = "mp/crc.bin"
    uid = adapter.create_multipart_upload(key, part_crc32=True)
    etags = {}
    for n, body in ((1, part1), (2, part2)):
        crc = crc32_b64(body)
        url = adapter.presign_upload_part(key, uid, n, ttl=60, crc32=crc)
        status, _, headers = fetch(adapter, url, session_app_fs, "PUT", body, headers={CRC32_HEADER: crc})
        assert status == 200, status
        etags[n] = {k.lower(): v for k, v in headers.items()}["etag"].strip('"')
    info = adapter.complete_multipart_upload(key, uid, sorted(etags.items()), crc32={1: crc32_b64(part1), 2: crc32_b64(part2)})
    assert info.size == len(part1) + len(part2)
    assert adapter.read(key) == part1 + part2


def test_part_url_is_signed_for_its_checksum(adapter, session_app_fs):
    """The checksum is part of the signature, so a client cannot swap it for another; the S3
    adapter signs it as a header (SigV4 X-Amz-SignedHeaders), which is what makes S3 check the
    body against it. (moto's server checks neither signatures nor part checksums, so against it
    this is the property to assert; the filesystem store enforces both, tested below.)"""
    key = "mp/signed.bin"
    body = os.urandom(1000)
    uid = adapter.create_multipart_upload(key, part_crc32=True)
    url = adapter.presign_upload_part(key, uid, 1, ttl=60, crc32=crc32_b64(body))
    if isinstance(adapter, S3ObjectStore):
        q = parse_qs(urlparse(url).query)
        assert CRC32_HEADER in q["X-Amz-SignedHeaders"][0].split(";")
        assert CRC32_HEADER not in q  # a header S3 checks, not a query parameter it ignores
    if enforcing(adapter):
        # another checksum than the one signed, or none: the signature does not match
        status, _, _ = fetch(adapter, url, session_app_fs, "PUT", body, headers={CRC32_HEADER: crc32_b64(b"other")})
        assert status == 403
        status, _, _ = fetch(adapter, url, session_app_fs, "PUT", body)
        assert status == 403
        # the signed checksum with a body that does not match it: refused, nothing kept
        damaged = bytes([body[0] ^ 1]) + body[1:]
        status, _, _ = fetch(adapter, url, session_app_fs, "PUT", damaged, headers={CRC32_HEADER: crc32_b64(body)})
        assert status == 400
        assert adapter.list_parts(key, uid) == []
        status, _, _ = fetch(adapter, url, session_app_fs, "PUT", body, headers={CRC32_HEADER: crc32_b64(body)})
        assert status == 200 and len(adapter.list_parts(key, uid)) == 1
    adapter.abort_multipart_upload(key, uid)


def test_filesystem_store_refuses_a_part_that_does_not_match_its_checksum(session_app_fs):
    adapter = session_app_fs.extensions["object_store"]
    key = "mp/damaged.bin"
    good = os.urandom(6 * MIB)
    damaged = bytearray(good)
    damaged[3 * MIB] ^= 0x01  # one bit flipped on the way
    uid = adapter.create_multipart_upload(key, part_crc32=True)
    crc = crc32_b64(good)
    url = adapter.presign_upload_part(key, uid, 1, ttl=60, crc32=crc)
    status, body, _ = fetch(adapter, url, session_app_fs, "PUT", bytes(damaged), headers={CRC32_HEADER: crc})
    assert status == 400 and b"bad-digest" in body and b"damaged" in body
    assert adapter.list_parts(key, uid) == []  # nothing kept, not even a temp file
    assert [p.name for p in (adapter.uploads / uid).iterdir()] == ["meta.json"]
    with pytest.raises(BadDigest):
        adapter.upload_part(key, uid, 1, bytes(damaged), crc32=crc)
    with pytest.raises(InvalidUpload):  # this upload checks every part: no checksum, no part
        adapter.upload_part(key, uid, 1, good)
    status, _, _ = fetch(adapter, url, session_app_fs, "PUT", good, headers={CRC32_HEADER: crc})
    assert status == 200
    etag = adapter.list_parts(key, uid)[0].etag
    with pytest.raises(InvalidUpload):  # completion must name the checksum the part arrived with
        adapter.complete_multipart_upload(key, uid, [(1, etag)], crc32={1: crc32_b64(b"x")})
    adapter.complete_multipart_upload(key, uid, [(1, etag)], crc32={1: crc})
    assert adapter.read(key) == good


def test_multipart_wrong_etag_or_small_part_refused(adapter):
    key = "mp/bad.bin"
    uid = adapter.create_multipart_upload(key)
    e1 = adapter.upload_part(key, uid, 1, b"small")
    e2 = adapter.upload_part(key, uid, 2, b"tail")
    with pytest.raises(InvalidUpload):
        adapter.complete_multipart_upload(key, uid, [(1, e1), (2, e2)])  # part 1 under 5 MiB
    with pytest.raises(InvalidUpload):
        adapter.complete_multipart_upload(key, uid, [(1, "0" * 32)])
    adapter.abort_multipart_upload(key, uid)


def test_abort_removes_parts_and_is_idempotent(adapter):
    key = "mp/aborted.bin"
    uid = adapter.create_multipart_upload(key)
    adapter.upload_part(key, uid, 1, b"x" * 100)
    adapter.abort_multipart_upload(key, uid)
    adapter.abort_multipart_upload(key, uid)
    assert not any(u.upload_id == uid for u in adapter.list_multipart_uploads())
    with pytest.raises(UploadNotFound):
        adapter.list_parts(key, uid)
    assert not adapter.exists(key)


def test_part_number_bounds(adapter):
    uid = adapter.create_multipart_upload("mp/bounds")
    for n in (0, 10_001):
        with pytest.raises(InvalidUpload):
            adapter.presign_upload_part("mp/bounds", uid, n, ttl=60)
    adapter.abort_multipart_upload("mp/bounds", uid)


def test_presigned_get_supports_range_and_expires(adapter, session_app_fs):
    adapter.put("g/file.bin", b"0123456789")
    url = adapter.presign_get("g/file.bin", ttl=60, filename="file.bin")
    status, body, _ = fetch(adapter, url, session_app_fs)
    assert status == 200 and body == b"0123456789"
    status, body, _ = fetch(adapter, url, session_app_fs, headers={"Range": "bytes=3-5"})
    assert status == 206 and body == b"345"
    short = adapter.presign_get("g/file.bin", ttl=1)
    if isinstance(adapter, S3ObjectStore):
        q = parse_qs(urlparse(short).query)
        assert q["X-Amz-Expires"] == ["1"] and q["X-Amz-Signature"][0] and q["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    if not enforcing(adapter):
        return  # moto's server enforces neither expiry nor signatures: the URL's text is what there is to check
    time.sleep(2.1)
    status, body, _ = fetch(adapter, short, session_app_fs)
    assert status == 403 and b"0123456789" not in body


@pytest.fixture(params=["seaweedfs", "filesystem"])
def enforcing_adapter(request, session_app_fs):
    """The adapters whose server checks signatures (moto's does not)."""
    if request.param == "seaweedfs":
        return S3ObjectStore(bucket=request.getfixturevalue("seaweed_bucket"), prefix=f"contract/{uuid.uuid4().hex}",
                             endpoint_url=request.getfixturevalue("seaweed_endpoint"))
    return session_app_fs.extensions["object_store"]


def test_tampered_or_foreign_presigned_urls_refused(enforcing_adapter, session_app_fs):
    """A presigned URL is good for exactly its object, method and signature."""
    adapter = enforcing_adapter
    adapter.put("g/secret.bin", b"top secret")
    adapter.put("g/other.bin", b"other")
    url = adapter.presign_get("g/secret.bin", ttl=60)
    if isinstance(adapter, S3ObjectStore):
        sig = parse_qs(urlparse(url).query)["X-Amz-Signature"][0]
        tampered = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
        other_key = url.replace("g/secret.bin", "g/other.bin")
    else:
        token = urlparse(url).path.rsplit("/", 1)[1]
        tampered = url.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
        other_key = tampered
    for bad in (tampered, other_key):
        status, body, _ = fetch(adapter, bad, session_app_fs)
        assert status == 403 and b"top secret" not in body and b"other" != body
    status, _, _ = fetch(adapter, url, session_app_fs, "PUT", b"overwrite")
    assert status in (403, 405)
    assert adapter.read("g/secret.bin") == b"top secret"


def test_wrong_secret_is_refused_by_an_enforcing_s3(seaweed_endpoint, seaweed_bucket, monkeypatch):
    real = S3ObjectStore(bucket=seaweed_bucket, prefix=f"contract/{uuid.uuid4().hex}", endpoint_url=seaweed_endpoint)
    real.put("k", b"secret bytes")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    forger = S3ObjectStore(bucket=seaweed_bucket, prefix=real.prefix.rstrip("/"), endpoint_url=seaweed_endpoint)
    r = requests.get(forger.presign_get("k", ttl=60), timeout=30)
    assert r.status_code == 403 and b"secret bytes" not in r.content
    assert requests.get(real.presign_get("k", ttl=60), timeout=30).content == b"secret bytes"


def test_tampered_filesystem_url_refused(session_app_fs):
    """The filesystem store checks its own signatures (S3 checks SigV4 itself)."""
    adapter = session_app_fs.extensions["object_store"]
    adapter.put("g/secret.bin", b"top secret")
    adapter.put("g/other.bin", b"other")
    url = adapter.presign_get("g/secret.bin", ttl=60)
    token = urlparse(url).path.rsplit("/", 1)[1]
    tampered = url.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    status, body, _ = fetch(adapter, tampered, session_app_fs)
    assert status == 403
    assert b"top secret" not in body
    # a valid GET token cannot be used to PUT parts
    status, _, _ = fetch(adapter, url, session_app_fs, "PUT", b"overwrite")
    assert status == 403
    assert adapter.read("g/secret.bin") == b"top secret"


def test_check_reports_unreachable_store(tmp_path):
    from catalog.storage import StorageUnavailable

    dead = S3ObjectStore(bucket="nope", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(StorageUnavailable):
        dead.check()
    with pytest.raises(StorageUnavailable):
        dead.put("k", b"x")
