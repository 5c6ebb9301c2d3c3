"""Run every benchmark in turn (`make bench` starts PostgreSQL and the S3 server first)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script, args in (("ingest.py", ["1024"]), ("search.py", []), ("metering.py", []), ("delivery.py", []), ("transfer.py", ["1024"]), ("large_upload.py", ["2048"])):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)
