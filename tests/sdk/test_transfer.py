"""The SDK's transfers (marketplace.sdk.transfer) against a live server on the filesystem store
(`fs_site`), which, like S3, checks each part against the CRC-32 its URL was signed for."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import pytest

from catalog.storage.base import crc32_b64
from marketplace.sdk import transfer
from marketplace.sdk.transfer import TransferError, digest_file, part_size_for, upload

MIB = 1024 * 1024


def test_digest_file_gives_the_sha256_and_each_parts_crc32(tmp_path):
    data = os.urandom(3 * 5 * MIB + 12345)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    seen = []
    part = 5 * MIB + 7  # parts need not align with the read chunks
    digest, size, crcs = digest_file(path, part, progress=seen.append)
    assert digest == hashlib.sha256(data).hexdigest() and size == len(data) and sum(seen) == len(data)
    assert crcs == [crc32_b64(data[i:i + part]) for i in range(0, len(data), part)]
    assert crcs[0] == __import__("base64").b64encode(zlib.crc32(data[:part]).to_bytes(4, "big")).decode()
    assert digest_file(path) == (digest, size, [])


def test_part_size_grows_past_10000_parts():
    assert part_size_for(1024 * MIB, 16 * MIB) == 16 * MIB
    big = 200 * 1024**3  # 200 GiB: 12,800 parts of 16 MiB
    grown = part_size_for(big, 16 * MIB)
    assert grown % MIB == 0 and grown > 16 * MIB and -(-big // grown) <= 10_000


def test_upload_sends_each_part_with_its_checksum(fs_site, tmp_path):
    client, version_id, org_id = fs_site
    data = os.urandom(13 * MIB)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    f = upload(client, version_id, path, "big.bin", workers=3, part_size=5 * MIB, small_limit=MIB)
    assert f["status"] == "uploaded" and f["sha256"] == hashlib.sha256(data).hexdigest()
    audit = client.request("GET", "/audit/events", params={"org_id": org_id, "action": "version.file.multipart.start"})
    assert [e["details"]["part_checksums"] for e in audit["items"]] == ["crc32"]


def test_a_part_that_changed_after_hashing_is_refused_by_the_store(fs_site, tmp_path, monkeypatch):
    """A file edited while it uploads: the store refuses the changed part against the CRC-32
    declared up front, so the upload stops with a clear error instead of completing bytes that
    would only fail their SHA-256 at ingest."""
    client, version_id, _org = fs_site
    data = bytearray(os.urandom(12 * MIB))
    path = tmp_path / "moving.bin"
    path.write_bytes(data)
    real = transfer.digest_file

    def digest_then_edit(p: Path, part_size=None, progress=None):
        out = real(p, part_size, progress)
        with open(p, "r+b") as fh:
            fh.seek(6 * MIB)  # inside part 2
            fh.write(b"edited")
        return out

    monkeypatch.setattr(transfer, "digest_file", digest_then_edit)
    notes: list[str] = []
    with pytest.raises(TransferError, match="part 2 .*checksum"):
        upload(client, version_id, path, "moving.bin", workers=1, part_size=5 * MIB, small_limit=MIB, note=notes.append)
    assert any("part 2 refused (HTTP 400)" in n for n in notes)
    files = client.files(version_id)
    assert files[0]["status"] == "uploading"
    plan = client.part_urls(files[0]["id"], first=1)
    assert [p["part_number"] for p in plan["received"]] == [1, 3]  # the unchanged parts; part 2 was never stored


def test_a_file_that_grew_since_it_was_hashed_is_not_sent(fs_site, tmp_path):
    client, version_id, _org = fs_site
    path = tmp_path / "growing.bin"
    path.write_bytes(os.urandom(6 * MIB))
    digest = transfer.digest_for_upload(path, 5 * MIB)
    with open(path, "ab") as fh:
        fh.write(b"appended later")
    with pytest.raises(TransferError, match="changed size since it was hashed"):
        upload(client, version_id, path, "growing.bin", digest=digest)
    assert client.files(version_id) == []  # nothing declared
