"""Overlap detection ([R2 6/11]): signing speed, accuracy on a planted-duplicate corpus, ingest
cost, and lookup latency as the index grows. Runs on the product's own code and database.

1. **Signing**, records/s on one core, alternating rounds, median: the product's signer (rensa),
   datasketch's MinHash (`update_batch` per record) and a numpy multiply-shift MinHash, on the
   same shingles of the same records (English ~60 words, Chinese ~60 characters).
2. **Accuracy.** Vendor A publishes N records; vendor B's version holds, shuffled: exact copies
   with cosmetic edits (case, full-width forms, punctuation), near copies edited to a Jaccard
   drawn uniformly from 0.6-0.95 (the true value computed on the shingle sets), a file that is
   a subset of A verbatim, and fresh records. Every match the product decides is heard through
   `index_version(observe=...)`; recall is over planted pairs with true Jaccard >= 0.8,
   precision over every reported pair, judged by its true Jaccard.
3. **Ingest cost.** Plain ingest (`analyse_object`) of B's file, then the same plus overlap
   indexing, alternating: throughput ratio.
4. **Lookup**: p50/p95 of `lookup()` for one record and for a 100-record sample, as the index
   grows (records loaded through the product's indexer).

Usage: python benchmarks/overlap.py [N=20000] [index sizes...=100000 300000]
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from common import emit, make_app, percentiles

WORDS = ("patient reports chest pain radiating left arm since morning doctor orders ecg troponin aspirin given history hypertension diabetes smoker denies "
         "fever cough nausea vomiting shortness breath clinic follow week review results medication dose contract clause party agrees terminate notice "
         "liability indemnify warranty governing law court arbitration invoice payment due interest penalty lidar camera pedestrian crossing vehicle "
         "lane signal night rain highway merge brake speed sensor fusion label bounding box").split()
HAN = "患者主诉胸痛向左臂放射自今晨起医生安排心电图检查肌钙蛋白阿司匹林高血压糖尿病吸烟史否认发热咳嗽恶心呕吐气短门诊随访合同条款双方同意终止通知责任赔偿保证适用法律法院仲裁发票付款利息违约金"


def record(rng: random.Random, i: int) -> dict:
    if rng.random() < 0.7:
        return {"id": f"a-{i}", "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 80)))}
    return {"id": f"a-{i}", "text": "".join(rng.choice(HAN) for _ in range(rng.randint(40, 80)))}


def cosmetic(r: dict, rng: random.Random) -> dict:
    t = r["text"]
    t = t.upper() if rng.random() < 0.5 else t.replace("a", "ａ")
    return {"id": f"b-{rng.random()}", "text": t + " !"}


def near_copy(r: dict, rng: random.Random, target: float) -> tuple[dict, float]:
    """Edit tokens of `r` until the true Jaccard falls to `target` or just below."""
    from catalog.overlap.signing import jaccard

    cjk = not r["text"].isascii()
    toks = list(r["text"]) if cjk else r["text"].split()
    joined = (lambda t: "".join(t)) if cjk else (lambda t: " ".join(t))
    j = 1.0
    while True:
        k = rng.randrange(len(toks))
        trial = toks[:]
        trial[k] = rng.choice(HAN) if cjk else rng.choice(WORDS) + "x"
        jt = jaccard([r["text"]], [joined(trial)])
        if jt < target - 0.03 and j < 1.0:
            break
        toks, j = trial, jt
        if j <= target:
            break
    return {"id": f"b-{rng.random()}", "text": joined(toks)}, j


def _read(store: Any, key: str, start: int, length: int) -> bytes:
    return store.read(key, start=start, length=length)


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def signing_speed(rng: random.Random, n: int = 10000) -> dict:
    import numpy as np
    from datasketch import MinHash

    from catalog.overlap import signing

    recs = [[record(rng, i)["text"]] for i in range(n)]
    a = np.random.default_rng(1).integers(1, 2**63, size=signing.NUM_PERM, dtype=np.uint64) | np.uint64(1)
    b = np.random.default_rng(2).integers(0, 2**63, size=signing.NUM_PERM, dtype=np.uint64)

    def product() -> None:
        for i in range(0, n, 2000):
            signing.sign(recs[i:i + 2000])

    def ds() -> None:
        for r in recs:
            m = MinHash(num_perm=signing.NUM_PERM)
            m.update_batch([s.encode() for s in signing.shingles(r)])

    def own_numpy() -> None:
        for i in range(0, n, 2000):
            sets = [signing.shingles(r) for r in recs[i:i + 2000]]
            flat = np.array([int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for ss in sets for s in ss], dtype=np.uint64)
            starts = np.cumsum([0] + [len(ss) for ss in sets[:-1]])
            with np.errstate(over="ignore"):
                hv = ((a[:, None] * flat[None, :] + b[:, None]) >> np.uint64(32)).astype(np.uint32)
            np.minimum.reduceat(hv, starts, axis=1)

    def tokenise_only() -> None:
        for r in recs:
            signing.shingles(r)

    times: dict[str, list[float]] = {k: [] for k in ("rensa (product)", "datasketch", "numpy multiply-shift", "tokenising and shingling alone")}
    for _ in range(3):
        for name, fn in (("rensa (product)", product), ("datasketch", ds), ("numpy multiply-shift", own_numpy), ("tokenising and shingling alone", tokenise_only)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: round(n / statistics.median(ts)) for name, ts in times.items()}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_while(fn: Any) -> dict:
    """Run fn, sampling the process's RSS every 50 ms: before, peak, and fn's own figures."""
    before, peak, done = rss_mib(), [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.05)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        result = fn()
    finally:
        done.set()
        t.join()
    return {**result, "rss_before_mib": round(before, 1), "rss_peak_mib": round(peak[0], 1), "growth_mib": round(peak[0] - before, 1)}


def large_file(version: Any, org: uuid.UUID, n_large: int) -> tuple[uuid.UUID, list[Any]]:
    """A version with one JSONL file of n_large fresh records in the store (made before the
    memory is sampled)."""
    rng = random.Random(777)
    data = b"".join(json.dumps(record(rng, 30_000_000 + k), ensure_ascii=False).encode() + b"\n" for k in range(n_large))
    _, v, src = version(org, {"large.jsonl": data}, published=False)
    return v, src


def index_large(overlap_index: Any, v: uuid.UUID, src: list[Any]) -> dict:
    t = time.perf_counter()
    out = overlap_index.index_version(v, uuid.uuid4(), src)
    took = time.perf_counter() - t
    overlap_index.remove_rows(v)
    return {"records": out.records, "file_mib": round(src[0].size / 2**20, 1), "seconds": round(took, 1), "records_per_s": round(out.records / took)}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    sizes = [int(x) for x in sys.argv[2:]] or [100000, 300000]
    rng = random.Random(7)
    speed = signing_speed(random.Random(3))
    print(json.dumps({"signing_records_per_s": speed}), flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench-overlap-"))
    app = make_app(tmp)
    from sqlalchemy import func, select

    from catalog.models import Dataset, DatasetVersion, VersionFile, VersionStatus, blob_key
    from catalog.overlap import index as overlap_index
    from catalog.overlap import services as overlap
    from catalog.overlap.models import OverlapFinding, OverlapRecord
    from catalog.overlap.signing import jaccard
    from catalog.services.ingest import analyse_object
    from marketplace.identity.models import Organization
    from marketplace.kernel.db import get_session, unit_of_work, utcnow

    store = app.extensions["object_store"]

    def version(org: uuid.UUID, files: dict[str, bytes], published: bool) -> tuple[uuid.UUID, uuid.UUID, list[overlap_index.Source]]:
        with unit_of_work() as s:
            ds = Dataset(organization_id=org, slug=f"ds-{uuid.uuid4().hex[:8]}", title="Bench", domain="healthcare", summary="", visibility="listed")
            s.add(ds)
            s.flush()
            v = DatasetVersion(dataset_id=ds.id, version="1.0.0", status=VersionStatus.published.value if published else VersionStatus.processing.value,
                               published_at=utcnow() if published else None)
            s.add(v)
            s.flush()
            sources = []
            for path, data in files.items():
                sha = hashlib.sha256(data).hexdigest()
                store.put(blob_key(sha), data)
                f = VersionFile(version_id=v.id, path=path, size=len(data), sha256=sha, media_type="application/jsonl", format="jsonl", status="verified")
                s.add(f)
                s.flush()
                key = blob_key(sha)
                sources.append(overlap_index.Source(f.id, path, "jsonl", len(data), sha, functools.partial(store.iter_range, key, chunk_size=8 << 20),
                                              functools.partial(_read, store, key)))
            return ds.id, v.id, sources

    with app.app_context():
        with unit_of_work() as s:
            orgs = [Organization(name=f"Vendor {k}", slug=f"vendor-{k}-{uuid.uuid4().hex[:6]}") for k in "AB"]
            s.add_all(orgs)
            s.flush()
            org_a, org_b = orgs[0].id, orgs[1].id

        # --- accuracy
        originals = [record(rng, i) for i in range(n)]
        _, va, sa = version(org_a, {"a.jsonl": jsonl(originals)}, published=True)
        overlap_index.index_version(va, uuid.uuid4(), sa)
        planted: list[tuple[dict, int | None, float]] = []  # (B record, A index, true Jaccard)
        picks = rng.sample(range(n), int(n * 0.6))
        for k, i in enumerate(picks):
            if k < n * 0.2:
                planted.append((cosmetic(originals[i], rng), i, 1.0))
            else:
                rec, j = near_copy(originals[i], rng, rng.uniform(0.6, 0.95))
                planted.append((rec, i, j))
        planted += [(record(random.Random(10_000 + k), 10_000_000 + k), None, 0.0) for k in range(int(n * 0.2))]
        rng.shuffle(planted)
        contained_idx = rng.sample(range(n), int(n * 0.3))
        b_files = {"b.jsonl": jsonl([p[0] for p in planted]), "contained.jsonl": jsonl([originals[i] for i in contained_idx])}
        ds_b, vb, sb = version(org_b, b_files, published=False)
        a_ids = {rid: o for rid, o in get_session().execute(select(OverlapRecord.id, OverlapRecord.ordinal).where(OverlapRecord.version_id == va))}
        get_session().commit()
        reported: dict[tuple[str, int], set[int]] = {}

        def observe(path: str, ordinal: int, rid: int, exact: bool) -> None:
            if rid in a_ids:
                reported.setdefault((path, ordinal), set()).add(a_ids[rid])

        t = time.perf_counter()
        out = overlap_index.index_version(vb, ds_b, sb, observe=observe)
        index_s = time.perf_counter() - t
        truth = {("b.jsonl", k): (i, j) for k, (_, i, j) in enumerate(planted)}
        should = [(key, i) for key, (i, j) in truth.items() if i is not None and j >= 0.8]
        recall = sum(1 for key, i in should if i in reported.get(key, set())) / max(len(should), 1)
        judged, correct = 0, 0
        for (path, ordinal), found in reported.items():
            mine = planted[ordinal][0] if path == "b.jsonl" else originals[contained_idx[ordinal]]
            for i in found:
                judged += 1
                correct += jaccard([mine["text"]], [originals[i]["text"]]) >= 0.8
        precision = correct / max(judged, 1)
        with unit_of_work() as s:
            overlap.conclude(s.get_one(DatasetVersion, vb), s.get_one(Dataset, ds_b), out)
        view = [f for f in get_session().scalars(select(OverlapFinding).where(OverlapFinding.version_id == vb))]
        accuracy = {"original_records": n, "planted_records": len(planted), "pairs_with_true_jaccard_ge_0.8": len(should), "recall": round(recall, 4),
                    "reported_pairs": judged, "precision": round(precision, 4), "near_band": "0.6-0.95", "index_seconds": round(index_s, 2),
                    "records_per_s_indexed": round((len(planted) + len(contained_idx)) / index_s),
                    "contained_file_share": (view[0].files or {}).get("contained.jsonl") if view else None, "target": "recall >= 0.97, precision >= 0.99"}
        print(json.dumps({"accuracy": accuracy}), flush=True)

        # --- ingest cost: B's file (60 % of it found in A, 40 % of that checked exactly), and a
        # file of the same size that overlaps nothing (the common case)
        fresh_rng = random.Random(555)
        fresh = jsonl([record(fresh_rng, 20_000_000 + k) for k in range(len(planted))])
        same = jsonl([dict(record(random.Random(556), 0), id=f"s-{k}") for k in range(len(planted))])  # one text, 16,000 times
        ingest = {}
        for label, data in (("overlapping", b_files["b.jsonl"]), ("fresh", fresh), ("identical", same)):
            sha = hashlib.sha256(data).hexdigest()
            store.put(blob_key(sha), data)
            plain, withidx = [], []
            for _ in range(3):
                t = time.perf_counter()
                analyse_object(blob_key(sha), "jsonl", len(data))
                plain.append(time.perf_counter() - t)
                _, vx, sx = version(org_b, {"b.jsonl": data}, published=False)
                t = time.perf_counter()
                analyse_object(blob_key(sha), "jsonl", len(data))
                overlap_index.index_version(vx, uuid.uuid4(), sx)
                withidx.append(time.perf_counter() - t)
                overlap_index.remove_rows(vx)
            ingest[label] = {"file_mib": round(len(data) / 2**20, 1), "records": len(planted), "plain_s": round(statistics.median(plain), 2),
                             "with_overlap_s": round(statistics.median(withidx), 2), "records_per_s": round(len(planted) / statistics.median(withidx)),
                             "ratio": round(statistics.median(plain) / statistics.median(withidx), 3), "target_ratio": 0.5}
        print(json.dumps({"ingest": ingest}), flush=True)

        # --- lookup latency as the index grows
        curve = []
        indexed = get_session().scalar(select(func.count()).select_from(OverlapRecord)) or 0
        get_session().commit()
        grow = random.Random(99)
        for size in sizes:
            while indexed < size:
                chunk = min(100_000, size - indexed)
                _, vg, sg = version(org_a, {"g.jsonl": jsonl([record(grow, indexed + k) for k in range(chunk)])}, published=True)
                overlap_index.index_version(vg, uuid.uuid4(), sg)
                indexed += chunk
            probes = [originals[i]["text"] for i in random.Random(size).sample(range(n), 200)]
            one = []
            for p in probes:
                t = time.perf_counter()
                overlap_index.lookup([[p]])
                one.append(time.perf_counter() - t)
            hundred = []
            for k in range(10):
                batch = [[originals[i]["text"]] for i in random.Random(k).sample(range(n), 100)]
                t = time.perf_counter()
                overlap_index.lookup(batch)
                hundred.append(time.perf_counter() - t)
            curve.append({"indexed_records": indexed, "one_record": percentiles(one), "hundred_records": percentiles(hundred)})
            print(json.dumps(curve[-1]), flush=True)

        # --- memory while a large file is indexed: its text grows, the process must not
        v_large, src_large = large_file(version, org_b, int(os.environ.get("BENCH_OVERLAP_LARGE", "200000")))
        gc.collect()
        memory = peak_rss_while(lambda: index_large(overlap_index, v_large, src_large))
        print(json.dumps({"memory": memory}), flush=True)

    emit("overlap", {"signing_records_per_s": speed, "accuracy": accuracy, "ingest": ingest, "lookup": curve, "memory": memory,
                     "signing_target": ">= 20k records/s per core", "lookup_target": "p95 <= 50 ms at 10M indexed records"})


if __name__ == "__main__":
    main()
