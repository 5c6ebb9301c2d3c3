"""A multi-GiB WebDataset shard of FLAC recordings (default 2 GiB) through presigned multipart
upload and ingest, which reads it member by member, measures every recording and makes the
manifest of its members, with the service's resident memory sampled throughout. Memory must
stay flat whatever the shard weighs: members are spooled (to disk past 16 MiB), never the shard.
Prints JSON.
Usage: python benchmarks/large_media.py [MiB]   (needs TEST_S3_ENDPOINT: run via `make bench`)
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterator

import requests
from common import PeakRss, emit, make_app

MIB = 1024 * 1024
PART = 64 * MIB


def recording(seconds: float) -> bytes:
    """Stereo 48 kHz noise as FLAC: noise does not compress, so a few seconds weigh megabytes."""
    import av
    import numpy as np

    rng = np.random.default_rng(7)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="flac") as out:
        stream = out.add_stream("flac", rate=48000, layout="stereo")
        samples = rng.integers(-20000, 20000, size=(int(seconds * 48000), 2), dtype=np.int16)
        for i in range(0, len(samples), 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[i:i + 4096].reshape(1, -1)), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48000, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def shard(size: int, small: bytes, big: bytes) -> Iterator[bytes]:
    """The shard's bytes, in order, without holding it: one 64 MiB-class recording (spilled to
    disk when measured) and then small recordings with their transcripts up to `size`."""
    def member(name: str, data: bytes) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 1_700_000_000
        return info.tobuf(format=tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512)

    written = 0
    i = 0
    while written < size - len(small) - 2048:
        chunk = member(f"utt{i:06d}.flac", big if i == 0 else small) + member(f"utt{i:06d}.txt", f"utterance {i}".encode())
        written += len(chunk)
        i += 1
        yield chunk
    yield b"\0" * 1024  # end of archive


def parts(size: int, small: bytes, big: bytes) -> Iterator[bytes]:
    buf = bytearray()
    for chunk in shard(size, small, big):
        buf += chunk
        while len(buf) >= PART:
            yield bytes(buf[:PART])
            del buf[:PART]
    if buf:
        yield bytes(buf)


def main() -> None:
    target = (int(sys.argv[1]) if len(sys.argv) > 1 else 2048) * MIB
    small, big = recording(20.0), recording(180.0)
    h = hashlib.sha256()
    size = 0
    for p in parts(target, small, big):
        h.update(p)
        size += len(p)
    digest = h.hexdigest()
    app = make_app(Path(tempfile.mkdtemp(prefix="bench-media-")))
    from tests.catalog.helpers import ensure_licensed
    from tests.factories import bearer, make_tenant

    with app.app_context():
        t = make_tenant(vendor=True)
    key = t.keys["owner"]
    client = app.test_client()
    ds = client.post("/api/v1/datasets", json={"slug": "big-speech", "title": "Big speech shard", "domain": "speech-audio", "visibility": "listed"},
                     headers=bearer(key)).json
    v = client.post(f"/api/v1/datasets/{ds['id']}/versions", json={"version": "1"}, headers=bearer(key)).json
    f = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "shards/000000.tar", "size": size, "sha256": digest}, headers=bearer(key)).json
    plan = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": PART}, headers=bearer(key)).json
    session = requests.Session()
    etags = []
    for n, data in enumerate(parts(target, small, big), start=1):
        url = next(p["url"] for p in plan["parts"] if p["part_number"] == n)
        r = session.put(url, data=data, timeout=300)
        r.raise_for_status()
        etags.append({"part_number": n, "etag": r.headers["ETag"].strip('"')})
    assert client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key)).status_code == 200
    ensure_licensed(client, key, v["id"])
    with PeakRss() as memory:
        t0 = time.perf_counter()
        res = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key)).json
        t1 = time.perf_counter()
    media = res.get("media") or {}
    emit("large_media", {
        "size_mib": size // MIB,
        "status": res["status"],
        "reason": res.get("status_reason"),
        "recordings": media.get("audio_files"),
        "audio_hours": media.get("audio_hours"),
        "ingest_mib_s": round(size / MIB / (t1 - t0), 1),
        "service_rss_baseline_mib": round(memory.baseline / MIB),
        "service_rss_peak_growth_mib": round((memory.peak - memory.baseline) / MIB),
        "note": "ingest alone is sampled (upload before it); one recording of ~33 MiB is spooled to disk, the 3.7 MiB ones in memory",
    })


if __name__ == "__main__":
    main()
