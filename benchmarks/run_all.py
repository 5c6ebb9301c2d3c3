"""Run every benchmark in turn (`make bench` starts PostgreSQL and the S3 server first)."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = (("ingest.py", ["1024"], {}), ("search.py", [], {}), ("metering.py", [], {}), ("sealing.py", [], {}), ("delivery.py", [], {}), ("transfer.py", ["1024"], {}),
        ("transfer.py", ["1024"], {"BENCH_S3": "seaweedfs"}), ("large_upload.py", ["2048"], {}), ("large_media.py", ["2048"], {}),
        ("sharing.py", ["1160", "5", "16"], {"BENCH_S3": "seaweedfs"}), ("overlap.py", ["20000", "100000", "300000", "1000000"], {}))
for script, args, env in RUNS:
    print(f"== {script} {' '.join(f'{k}={v}' for k, v in env.items())}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True, env=dict(os.environ, **env))
