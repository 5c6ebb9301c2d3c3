"""Delta Sharing read throughput: the unmodified `delta-sharing` client's `load_as_pandas` of a
table, next to pyarrow reading the same Parquet files from the same presigned URLs (the same
fsspec HTTP filesystem the client uses), in alternating rounds of one run. The data path is the
object store's in both: the service only answers the metadata and the query.

Usage: python benchmarks/sharing.py [MiB] [rounds] [files]
(default 256 MiB, 3 rounds, 8 files; the issue's figure is `sharing.py 1024 3 16`). PostgreSQL
and the S3 server when TEST_DATABASE_URL / TEST_S3_ENDPOINT are set (BENCH_S3=seaweedfs for
SeaweedFS's gateway), else SQLite and the filesystem store (then the files come through the app)."""

from __future__ import annotations

import io
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import emit, make_app

LABELS = pa.array([f"label-{i:03d}" for i in range(200)])


def parquet_file(rows: int, seed: int) -> bytes:
    """A plausible training table: ids, two measurements and a categorical label."""
    rng = np.random.default_rng(seed)
    table = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64) + seed * rows),
        "x": pa.array(rng.standard_normal(rows)),
        "y": pa.array(rng.random(rows)),
        "label": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, len(LABELS), rows, dtype=np.int32)), LABELS),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy", row_group_size=1 << 20)
    return buf.getvalue()


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    nfiles = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    tmp = Path(tempfile.mkdtemp(prefix="bench-sharing-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = make_app(tmp, public_url=base)  # the profile (and the filesystem store's URLs) name this server
    import delta_sharing
    import fsspec
    from delta_sharing.protocol import DeltaSharingProfile, Table
    from delta_sharing.rest_client import DataSharingRestClient
    from werkzeug.serving import make_server

    from tests.delivery.helpers import buy
    from tests.factories import bearer, make_tenant

    rows_per_file = max(1, (mib << 20) // nfiles // 25)  # ~25 bytes a row once written
    t0 = time.perf_counter()
    files = {f"part-{i:03d}.parquet": parquet_file(rows_per_file, i) for i in range(nfiles)}
    total = sum(len(b) for b in files.values())
    with app.app_context():
        vendor, buyer = make_tenant(vendor=True), make_tenant()
        pub, gid = buy(vendor, buyer, files=files, unit="downloads", quantity=10**9)
        share, schema = buyer.org.slug, pub.dataset.slug
        key = buyer.keys["member"]
        app.extensions["db"].remove()
    del files
    load_seconds = time.perf_counter() - t0
    srv = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    import requests

    made = requests.post(f"{base}/api/v1/grants/{gid}/share-tokens", json={"name": "bench"}, headers=bearer(key), timeout=60).json()
    profile = tmp / "bench.share"
    profile.write_text(json.dumps(made["profile"]))
    url = f"{profile}#{share}.{schema}.records"
    rest = DataSharingRestClient(DeltaSharingProfile.read_from_file(str(profile)))

    def client_read(delta: bool | None = None) -> int:
        return len(delta_sharing.load_as_pandas(url, use_delta_format=delta))

    def pyarrow_read(to_pandas: bool) -> int:
        """The baseline: the same files from the same presigned URLs, read by pyarrow through
        fsspec's HTTP filesystem (what the client uses) file after file, into one Arrow table
        (and, with `to_pandas`, into one DataFrame, as load_as_pandas returns)."""
        listing = rest.list_files_in_table(Table(name="records", share=share, schema=schema))
        fs = fsspec.filesystem("http")
        table = pa.concat_tables([pq.ParquetFile(f.url, filesystem=fs).read() for f in listing.add_files])
        return len(table.to_pandas() if to_pandas else table)

    cases = {"load_as_pandas": client_read, "pyarrow: Arrow table": lambda: pyarrow_read(False),
             "pyarrow: one DataFrame": lambda: pyarrow_read(True),
             # The client's other code path, forced: delta-kernel-rs reading the files.
             "load_as_pandas, delta format": lambda: client_read(True)}
    times: dict[str, list[float]] = {k: [] for k in cases}
    expected = rows_per_file * nfiles
    for r in range(rounds):
        order = list(cases) if r % 2 == 0 else list(reversed(cases))
        for name in order:
            t = time.perf_counter()
            n = cases[name]()
            times[name].append(time.perf_counter() - t)
            assert n == expected, (name, n, expected)
    med = {k: statistics.median(v) for k, v in times.items()}
    mibs = {k: round(total / (1 << 20) / v, 1) for k, v in med.items()}
    srv.shutdown()
    emit("sharing", {
        "store": "s3" if os.environ.get("TEST_S3_ENDPOINT") else "filesystem",
        "table_mib": round(total / (1 << 20), 1), "files": nfiles, "rows": expected, "rounds": rounds, "load_seconds": round(load_seconds, 1),
        "median_seconds": {k: round(v, 3) for k, v in med.items()}, "mib_per_s": mibs,
        "rounds_seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "ratio_to_pyarrow_arrow": round(med["pyarrow: Arrow table"] / med["load_as_pandas"], 3),
        "ratio_to_pyarrow_dataframe": round(med["pyarrow: one DataFrame"] / med["load_as_pandas"], 3),
        "ratio_delta_format_to_pyarrow_arrow": round(med["pyarrow: Arrow table"] / med["load_as_pandas, delta format"], 3),
        "target": ">= 0.8x pyarrow reading the same files from the presigned URLs ([R2 7/11])",
    })


if __name__ == "__main__":
    main()
