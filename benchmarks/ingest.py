"""Ingest verification throughput next to hashlib's streaming SHA-256 over the same object.

Both read the same stored object through the same adapter with the same chunk size; the
baseline only hashes, the ingest path also sizes, counts records and keeps the preview sample.
Usage: python benchmarks/ingest.py [MiB] (default 512). Prints JSON.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

from common import emit, make_app

MIB = 1024 * 1024


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    app = make_app(tmp)
    store = app.extensions["object_store"]
    line = b'{"speaker": "agent", "text": "' + b"t" * 200 + b'", "turn": 12}\n'
    block = line * (MIB // len(line) + 1)
    key = "bench/ingest.jsonl"
    uid = store.create_multipart_upload(key)
    parts = []
    for n in range(1, size_mib // 16 + 1):
        parts.append((n, store.upload_part(key, uid, n, block[: 16 * MIB] if len(block) >= 16 * MIB else (block * 17)[: 16 * MIB])))
    store.complete_multipart_upload(key, uid, parts)
    size = store.head(key).size

    from catalog.services.ingest import analyse_object

    results = {"hashlib": [], "ingest": []}
    with app.app_context():
        for _ in range(3):
            t = time.perf_counter()
            h = hashlib.sha256()
            for chunk in store.iter_range(key, chunk_size=8 * MIB):
                h.update(chunk)
            results["hashlib"].append(time.perf_counter() - t)
            t = time.perf_counter()
            a = analyse_object(key, "jsonl", size)
            results["ingest"].append(time.perf_counter() - t)
            assert a.sha256 == h.hexdigest() and a.size == size
    med = {k: sorted(v)[len(v) // 2] for k, v in results.items()}
    emit("ingest", {
        "store": store.name,
        "object_mib": round(size / MIB),
        "records": a.records,
        "hashlib_mib_s": round(size / MIB / med["hashlib"], 1),
        "ingest_mib_s": round(size / MIB / med["ingest"], 1),
        "ratio": round(med["hashlib"] / med["ingest"], 3),
        "target_ratio": 0.7,
        "runs": 3,
    })


if __name__ == "__main__":
    main()
